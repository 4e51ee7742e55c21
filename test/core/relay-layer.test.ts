import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {RelayLayer, type RelayOutput} from '../../source/core/relay/relay-layer.js';
import {parseForwardSpec} from '../../source/core/relay/forward-spec.js';

/** The relay's logic with no socket: facts in, commands out. */
describe('relay layer (sans-IO)', () => {
	it('passes every chunk on to the other side unchanged and in order, for any chunking', () => {
		fc.assert(
			fc.property(fc.array(fc.record({from: fc.constantFrom('client' as const, 'server' as const), data: fc.uint8Array({maxLength: 100})}), {maxLength: 50}), (chunks) => {
				const layer = new RelayLayer({highWater: 1000, lowWater: 100});
				const sent: Record<string, Buffer[]> = {client: [], server: []};
				for (const chunk of chunks) {
					for (const output of layer.handle({type: 'data', from: chunk.from, data: Buffer.from(chunk.data)})) {
						if (output.type === 'send') {
							sent[output.to]!.push(output.data);
							// The kernel takes it at once: nothing piles up.
							layer.handle({type: 'written', to: output.to, bytes: output.data.length});
						}
					}
				}

				const expected = (from: string) => Buffer.concat(chunks.filter((chunk) => chunk.from === from).map((chunk) => Buffer.from(chunk.data)));
				expect(Buffer.concat(sent['server']!)).toEqual(expected('client'));
				expect(Buffer.concat(sent['client']!)).toEqual(expected('server'));
			}),
		);
	});

	it('a FIN from one side becomes one shutdown of the other', () => {
		const layer = new RelayLayer();
		expect(layer.handle({type: 'fin', from: 'client'})).toEqual([{type: 'shutdown', side: 'server'}]);
		expect(layer.handle({type: 'fin', from: 'client'})).toEqual([]);
		expect(layer.handle({type: 'fin', from: 'server'})).toEqual([{type: 'shutdown', side: 'client'}]);
	});

	it('pauses the source at the high-water mark and resumes it at the low one', () => {
		const layer = new RelayLayer({highWater: 300, lowWater: 100});
		const types = (outputs: RelayOutput[]) => outputs.map((output) => output.type);
		expect(types(layer.handle({type: 'data', from: 'client', data: Buffer.alloc(200)}))).toEqual(['send']);
		expect(types(layer.handle({type: 'data', from: 'client', data: Buffer.alloc(200)}))).toEqual(['send', 'pause']);
		expect(layer.isPaused('client')).toBe(true);
		expect(layer.queued('server')).toBe(400);
		expect(layer.handle({type: 'written', to: 'server', bytes: 250})).toEqual([]);
		expect(layer.handle({type: 'written', to: 'server', bytes: 50})).toEqual([{type: 'resume', side: 'client'}]);
		expect(layer.isPaused('client')).toBe(false);
	});

	it('a reset on one side resets the other; an upstream that never connected resets the client with UPSTREAM_FAILED', () => {
		const reset = new RelayLayer();
		reset.handle({type: 'server-connected'});
		expect(reset.handle({type: 'closed', side: 'server', reason: 'reset', code: 'ECONNRESET'})).toEqual([{type: 'reset', side: 'client', code: 'RELAYED_RESET'}]);
		expect(reset.handle({type: 'closed', side: 'client', reason: 'reset'})).toEqual([{type: 'ended', reason: 'reset', code: 'ECONNRESET', message: 'the server reset the connection (ECONNRESET)'}]);

		const refused = new RelayLayer();
		const outputs = refused.handle({type: 'closed', side: 'server', reason: 'failed', code: 'ECONNREFUSED', message: 'connection refused by 127.0.0.1:9'});
		expect(outputs).toEqual([{type: 'reset', side: 'client', code: 'UPSTREAM_FAILED', message: 'upstream failed (ECONNREFUSED): connection refused by 127.0.0.1:9'}]);
		expect(refused.handle({type: 'closed', side: 'client', reason: 'reset'})[0]).toMatchObject({type: 'ended', reason: 'upstream-failed', code: 'ECONNREFUSED'});
	});

	it('a side that closes normally closes the other, and the relay ends once both are gone', () => {
		const layer = new RelayLayer();
		layer.handle({type: 'server-connected'});
		expect(layer.handle({type: 'closed', side: 'client', reason: 'closed'})).toEqual([{type: 'close', side: 'server'}]);
		expect(layer.handle({type: 'data', from: 'server', data: Buffer.from('late')})).toEqual([]);
		expect(layer.dropped).toBe(4);
		expect(layer.handle({type: 'closed', side: 'server', reason: 'closed'})).toEqual([{type: 'ended', reason: 'closed'}]);
		expect(layer.isEnded).toBe(true);
	});
});

describe('--forward [BIND:]PORT:HOST:HOSTPORT', () => {
	it('reads the ssh -L forms, with BIND 127.0.0.1 by default and IPv6 in brackets', () => {
		expect(parseForwardSpec('8080:127.0.0.1:3000')).toEqual({bind: {host: '127.0.0.1', port: 8080}, target: {host: '127.0.0.1', port: 3000}});
		expect(parseForwardSpec('0.0.0.0:0:localhost:80')).toEqual({bind: {host: '0.0.0.0', port: 0}, target: {host: 'localhost', port: 80}});
		expect(parseForwardSpec('[::1]:8080:[::1]:3000')).toEqual({bind: {host: '::1', port: 8080}, target: {host: '::1', port: 3000}});
	});

	it('refuses what is not a forward with one line naming the syntax', () => {
		expect(() => parseForwardSpec('8080')).toThrow(/\[BIND:\]PORT:HOST:HOSTPORT/);
		expect(() => parseForwardSpec('8080:127.0.0.1:0')).toThrow(/port 0 is not a destination/);
		expect(() => parseForwardSpec('70000:127.0.0.1:80')).toThrow(/out of range/);
		expect(() => parseForwardSpec('8080:999.1.1.1:80')).toThrow(/not an address/);
	});
});
