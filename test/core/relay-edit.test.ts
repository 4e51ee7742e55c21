import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {parseEscapedText, toEscapedText} from '../../source/core/format/index.js';
import {editableText, editedBytes, parseRate} from '../../source/ui/relay-input.js';

describe('editing a held chunk', () => {
	it('any bytes shown as text with escapes, or as hex, read back to exactly the same bytes', () => {
		fc.assert(
			fc.property(fc.uint8Array({maxLength: 256}), (bytes) => {
				const data = Buffer.from(bytes);
				expect(parseEscapedText(toEscapedText(data)).equals(data)).toBe(true);
				expect(editedBytes(editableText(data, 'hex'), 'hex').equals(data)).toBe(true);
				// What the prompt paints is printable ASCII only: no peer byte reaches the terminal raw.
				expect(toEscapedText(data)).toMatch(/^[\x20-\x7E]*$/);
			}),
			{numRuns: 2000, seed: 13},
		);
		expect(toEscapedText(Buffer.from('GET /\r\n\u00E9\\'))).toBe('GET /\\r\\n\\xc3\\xa9\\\\');
	});

	it('a throttle is read as bytes per second with k, M and /s, and anything else is refused with BAD_RATE', () => {
		expect(parseRate('2000')).toBe(2000);
		expect(parseRate('16k')).toBe(16_384);
		expect(parseRate('1.5M/s')).toBe(1_572_864);
		expect(parseRate('0')).toBe(0);
		expect(() => parseRate('fast')).toThrow(expect.objectContaining({code: 'BAD_RATE'}));
		expect(() => parseRate('-5')).toThrow(expect.objectContaining({code: 'BAD_RATE'}));
	});
});
