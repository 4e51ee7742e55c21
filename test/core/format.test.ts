import fc from 'fast-check';
import {describe, expect, test} from 'vitest';
import {formatBytes, formatRate, hexDump, parseEscapedText, parseHex} from '../../source/core/format/index.js';
import {thrown} from '../helpers/errors.js';


describe('hexDump', () => {
	test('lines match hexdump -C, with the short last line padded so the ASCII column lines up', () => {
		// Expected lines copied from `printf 'Hello, world! This is netdash\n\0\e[2J' | hexdump -C`.
		expect(hexDump(Buffer.from('Hello, world! This is netdash\n\0\u001B[2J'))).toEqual([
			'00000000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 20 54 68  |Hello, world! Th|',
			'00000010  69 73 20 69 73 20 6e 65  74 64 61 73 68 0a 00 1b  |is is netdash...|',
			'00000020  5b 32 4a                                          |[2J|',
		]);
	});

	test('no bytes give no lines', () => {
		expect(hexDump(new Uint8Array())).toEqual([]);
	});

	test('the ASCII column shows . for everything outside 0x20-0x7e', () => {
		expect(hexDump(Uint8Array.of(0x1F, 0x20, 0x7E, 0x7F, 0x80, 0x9B, 0xFF))).toEqual([
			'00000000  1f 20 7e 7f 80 9b ff                              |. ~....|',
		]);
	});

	test('offset starts the count and widens past 8 digits', () => {
		expect(hexDump(Buffer.from('Hello\n'), {offset: 0x10})).toEqual([
			'00000010  48 65 6c 6c 6f 0a                                 |Hello.|',
		]);
		expect(hexDump(Buffer.from('A'), {offset: 0x1_0000_0000})[0]).toMatch(/^100000000 {2}41 /);
	});

	test('width sets the bytes per line', () => {
		expect(hexDump(Buffer.from('abcdefghij'), {width: 4})).toEqual([
			'00000000  61 62 63 64  |abcd|',
			'00000004  65 66 67 68  |efgh|',
			'00000008  69 6a        |ij|',
		]);
		expect(hexDump(Buffer.from('abcdefghij'), {width: 9})).toEqual([
			'00000000  61 62 63 64 65 66 67 68  69  |abcdefghi|',
			'00000009  6a                           |j|',
		]);
	});

	test('a bad width or offset is a programming error', () => {
		expect(() => hexDump(Buffer.from('a'), {width: 0})).toThrow(RangeError);
		expect(() => hexDump(Buffer.from('a'), {width: 1.5})).toThrow(RangeError);
		expect(() => hexDump(Buffer.from('a'), {offset: -1})).toThrow(RangeError);
	});

	test('every line of random bytes has the same width and only printable ASCII', () => {
		fc.assert(
			fc.property(fc.uint8Array({minLength: 1, maxLength: 100}), bytes => {
				const lines = hexDump(bytes);
				expect(lines).toHaveLength(Math.ceil(bytes.length / 16));
				for (const line of lines) {
					expect(line).toMatch(/^[\x20-\x7E]*$/);
					expect(line.indexOf('|')).toBe(60);
				}
			}),
			{numRuns: 2000},
		);
	});
});

describe('formatBytes and formatRate', () => {
	test('binary units with up to 3 significant digits', () => {
		expect(formatBytes(0)).toBe('0 B');
		expect(formatBytes(1)).toBe('1 B');
		expect(formatBytes(1023)).toBe('1023 B');
		expect(formatBytes(1024)).toBe('1 KiB');
		expect(formatBytes(1536)).toBe('1.5 KiB');
		expect(formatBytes(3.2 * 1024 * 1024)).toBe('3.2 MiB');
		expect(formatBytes(5 * 1024 ** 3)).toBe('5 GiB');
	});

	test('a broken counter shows as ? instead of throwing mid-frame', () => {
		expect(formatBytes(Number.NaN)).toBe('? B');
		expect(formatBytes(Number.POSITIVE_INFINITY)).toBe('? B');
	});

	test('rates are per second', () => {
		expect(formatRate(12 * 1024)).toBe('12 KiB/s');
		expect(formatRate(0)).toBe('0 B/s');
		expect(formatRate(0.5)).toBe('0.5 B/s');
	});
});

describe('parseEscapedText', () => {
	test('text without escapes is its UTF-8', () => {
		expect(parseEscapedText('héllo 🙂')).toEqual(Buffer.from('héllo 🙂', 'utf8'));
		expect(parseEscapedText('')).toEqual(Buffer.alloc(0));
	});

	test('each escape becomes its byte', () => {
		expect(parseEscapedText('GET / HTTP/1.0\\r\\n\\r\\n')).toEqual(Buffer.from('GET / HTTP/1.0\r\n\r\n'));
		expect(parseEscapedText('a\\tb\\0c\\\\d\\ee')).toEqual(Buffer.from('a\tb\0c\\d\u001Be'));
		expect(parseEscapedText('\\e[2J')).toEqual(Buffer.from('\u001B[2J'));
	});

	test('\\xNN is one raw byte, in either case', () => {
		expect(parseEscapedText('\\x00\\x7f\\xFF\\xfe')).toEqual(Buffer.of(0x00, 0x7F, 0xFF, 0xFE));
		expect(parseEscapedText('é\\x41')).toEqual(Buffer.of(0xC3, 0xA9, 0x41));
		expect(parseEscapedText('\\x414')).toEqual(Buffer.from('A4'));
	});

	test('\\0 takes no digits after it', () => {
		expect(parseEscapedText('\\012')).toEqual(Buffer.from('\u000012'));
	});

	test('a bad escape names itself and its position', () => {
		const unknown = thrown(() => parseEscapedText('abcd\\qx'));
		expect(unknown.code).toBe('BAD_ESCAPE');
		expect(unknown.message).toBe('bad escape \'\\q\' at position 5 (use \\r \\n \\t \\0 \\\\ \\xNN or \\e)');

		const shortHex = thrown(() => parseEscapedText('ab\\x4g'));
		expect(shortHex.code).toBe('BAD_ESCAPE');
		expect(shortHex.message).toBe('bad escape \'\\x4g\' at position 3: \\x needs exactly two hex digits');

		expect(thrown(() => parseEscapedText('\\x')).message).toBe('bad escape \'\\x\' at position 1: \\x needs exactly two hex digits');
		expect(thrown(() => parseEscapedText('end\\')).message).toBe('bad escape \'\\\' at position 4: the text ends in a lone backslash (write \\\\ for one)');
	});

	test('positions count characters, not UTF-16 units', () => {
		expect(thrown(() => parseEscapedText('🙂\\q')).message).toContain('at position 2');
	});

	test('an error message stays on one printable line whatever was typed', () => {
		const error = thrown(() => parseEscapedText('\\\u001B'));
		expect(error.message).toBe('bad escape \'\\^[\' at position 1 (use \\r \\n \\t \\0 \\\\ \\xNN or \\e)');
		expect(thrown(() => parseEscapedText('\\x\n1')).message).toContain('\'\\x\\n1\'');
	});
});

describe('parseHex', () => {
	test('accepts spaced, packed, 0x-prefixed and separated bytes in any case', () => {
		const hello = Buffer.from('Hel');
		expect(parseHex('48 65 6c')).toEqual(hello);
		expect(parseHex('48656C')).toEqual(hello);
		expect(parseHex('0x48 0x65 0X6c')).toEqual(hello);
		expect(parseHex('48:65:6c')).toEqual(hello);
		expect(parseHex('48,65, 6c')).toEqual(hello);
		expect(parseHex('  4865\t6c\n')).toEqual(hello);
		expect(parseHex('0x48656c')).toEqual(hello);
		expect(parseHex('')).toEqual(Buffer.alloc(0));
		expect(parseHex('00 ff FF')).toEqual(Buffer.of(0, 255, 255));
	});

	test('an odd digit count names the group and its position', () => {
		const odd = thrown(() => parseHex('486'));
		expect(odd.code).toBe('BAD_HEX');
		expect(odd.message).toBe('\'486\' at position 1 has an odd number of hex digits');
		expect(thrown(() => parseHex('48 6 5c')).message).toBe('\'6\' at position 4 has an odd number of hex digits');
	});

	test('a non-hex character names itself and its position', () => {
		const bad = thrown(() => parseHex('48 6g'));
		expect(bad.code).toBe('BAD_HEX');
		expect(bad.message).toBe('\'g\' is not a hex digit (at position 5)');
		expect(thrown(() => parseHex('0x')).message).toBe('\'0x\' at position 1 has no hex digits after it');
		expect(thrown(() => parseHex('48-65')).message).toBe('\'-\' is not a hex digit (at position 3)');
		expect(thrown(() => parseHex('🙂')).message).toBe('\'🙂\' is not a hex digit (at position 1)');
		expect(thrown(() => parseHex('4\u001B')).message).toBe('\'^[\' is not a hex digit (at position 2)');
	});

	test('round-trips any bytes written as hex', () => {
		fc.assert(
			fc.property(fc.uint8Array({maxLength: 64}), fc.constantFrom(' ', ':', ',', '', ' 0x'), (bytes, separator) => {
				const pairs = [...bytes].map(byte => byte.toString(16).padStart(2, '0'));
				const text = separator === ' 0x' ? pairs.map(pair => '0x' + pair).join(' ') : pairs.join(separator);
				expect(parseHex(text)).toEqual(Buffer.from(bytes));
			}),
			{numRuns: 2000},
		);
	});
});
