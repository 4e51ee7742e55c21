import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {eventToJson} from '../../source/core/index.js';
import type {BusEvent} from '../../source/core/index.js';

describe('events as JSON lines', () => {
	it('payloads become base64 and the line parses back to the same event', () => {
		const event = {type: 'data-received', connection: 'C1', bytes: 3, data: Buffer.from([0x1b, 0x9b, 0xff]), seq: 7, at: 1, ref: 'é'} as BusEvent;
		const line = eventToJson(event);
		expect(JSON.parse(line)).toEqual({type: 'data-received', connection: 'C1', bytes: 3, seq: 7, at: 1, ref: 'é', base64: 'G5v/'});
	});

	it('DEL and C1 controls from a peer are escaped, not written raw', () => {
		const line = eventToJson({type: 'socket-failed', target: 'C1', code: 'X', message: 'a\u007Fb\u009Bc\u202E', seq: 1, at: 2} as BusEvent);
		expect(line).toContain(String.raw`a\u007fb\u009bc\u202e`);
	});

	it('every line is pure printable ASCII whatever the strings in the event, and means the same JSON', () => {
		fc.assert(
			fc.property(fc.string({unit: 'binary'}), fc.uint8Array({maxLength: 64}), (name, bytes) => {
				const withData = eventToJson({type: 'data-received', connection: name, bytes: bytes.length, data: Buffer.from(bytes), seq: 1, at: 2} as BusEvent);
				const plain = eventToJson({type: 'socket-failed', target: 'C1', code: 'X', message: name, seq: 1, at: 2} as BusEvent);
				for (const line of [withData, plain]) {
					expect(line).toMatch(/^[\x20-\x7e]*$/);
				}

				expect(JSON.parse(plain).message).toBe(JSON.parse(JSON.stringify(name)));
				expect(Buffer.from(JSON.parse(withData).base64, 'base64')).toEqual(Buffer.from(bytes));
			}),
			{numRuns: 20_000},
		);
	});
});
