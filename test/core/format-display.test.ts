import fc from 'fast-check';
import {describe, expect, test} from 'vitest';
import {toDisplay, toDisplayString} from '../../source/core/format/index.js';

/** Code points that must never reach the terminal from a peer. */
const forbidden = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\u001B\u009B]/u;

const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** Attacks a peer can send: screen clear, title, clipboard, link, C1 CSI, bidi override, CR, BS. */
const dangerousFragments = [
	'\u001B[2J',
	'\u001B]0;pwned\u0007',
	'\u001B]52;c;AAAA\u0007',
	'\u001B]8;;http://x\u001B\\',
	'\u009B',
	'\u009B31m',
	'\u202E',
	'\u2066',
	'\u200B',
	'\uFEFF',
	'\u2028',
	'\r',
	'\b',
	'\u0007',
	'\u007F',
	'\uDB40\uDC41',
	'\uE000',
];

/** Arbitrary text: any code point, lone surrogates, and the attacks above, mixed. */
const hostileText = fc.string({
	unit: fc.oneof(
		fc.string({unit: 'binary', minLength: 1, maxLength: 1}),
		fc.integer({min: 0xD8_00, max: 0xDF_FF}).map(code => String.fromCharCode(code)),
		fc.constantFrom(...dangerousFragments),
		fc.string({unit: 'grapheme-ascii', minLength: 1, maxLength: 4}),
	),
	maxLength: 40,
});

/** Arbitrary bytes: random bytes mixed with UTF-8 of hostile text, so both halves of the decoder get exercised. */
const hostileBytes = fc
	.array(fc.oneof(fc.uint8Array({maxLength: 12}), hostileText.map(text => utf8(text))), {maxLength: 6})
	.map(parts => new Uint8Array(Buffer.concat(parts)));

const printableAscii = fc.string({unit: 'grapheme-ascii', maxLength: 80});

/** How toDisplay shows one code point from a peer: as toDisplayString does, but a backslash doubles. */
const peerShown = (text: string): string => (text === '\\' ? '\\\\' : toDisplayString(text));

/** Optional maxChars, including the awkward small ones. */
const maxChars = fc.option(fc.integer({min: 0, max: 60}), {nil: undefined});

describe('toDisplay passes printable text through unchanged', () => {
	test('printable ASCII is unchanged but for the backslash, which doubles', () => {
		expect(toDisplay(utf8('GET / HTTP/1.1 ~{}|'))).toBe('GET / HTTP/1.1 ~{}|');
		expect(toDisplay(new Uint8Array())).toBe('');
	});

	test('a backslash from a peer shows as \\\\, so the text \\t, \\x41 reads apart from a TAB and from A', () => {
		expect(toDisplay(utf8('a\\tb\tc'))).toBe(String.raw`a\\tb\tc`);
		expect(toDisplay(utf8(String.raw`\x41`))).toBe(String.raw`\\x41`);
		expect(toDisplay(utf8('\\'), {maxChars: 3})).toBe(String.raw`\\`);
		// Names and what is typed are not bytes from a peer: a backslash stays one there.
		expect(toDisplayString(String.raw`C:\dir`)).toBe(String.raw`C:\dir`);
	});

	test('non-ASCII letters, emoji and CJK are unchanged', () => {
		expect(toDisplay(utf8('Grüße, Ελλάδα, Привет'))).toBe('Grüße, Ελλάδα, Привет');
		expect(toDisplay(utf8('日本語 한국어 中文'))).toBe('日本語 한국어 中文');
		expect(toDisplay(utf8('🙂🚀 e\u0301'))).toBe('🙂🚀 e\u0301');
		expect(toDisplay(utf8('\u00A0nbsp \uFFFD'))).toBe('\u00A0nbsp \uFFFD');
	});

	test('a Uint8Array view into a larger buffer reads only its own bytes', () => {
		const backing = utf8('xxHello\nxx');
		expect(toDisplay(backing.subarray(2, 8))).toBe('Hello\\n');
		expect(toDisplay(new Uint8Array(backing.buffer, backing.byteOffset + 2, 5))).toBe('Hello');
	});
});

describe('toDisplay escapes controls', () => {
	test('CR, LF and TAB become backslash escapes', () => {
		expect(toDisplay(utf8('a\rb\nc\td'))).toBe('a\\rb\\nc\\td');
	});

	test('other C0 controls become caret notation and DEL becomes ^?', () => {
		expect(toDisplay(bytes(0x00, 0x01, 0x07, 0x08, 0x1B, 0x1C, 0x1F, 0x7F))).toBe('^@^A^G^H^[^\\^_^?');
	});

	test('a screen clear, a title, a clipboard write and a link are inert', () => {
		expect(toDisplay(utf8('\u001B[2J'))).toBe('^[[2J');
		expect(toDisplay(utf8('\u001B]0;pwned\u0007'))).toBe('^[]0;pwned^G');
		expect(toDisplay(utf8('\u001B]52;c;AAAA\u0007'))).toBe('^[]52;c;AAAA^G');
		expect(toDisplay(utf8('\u001B]8;;http://x\u001B\\'))).toBe('^[]8;;http://x^[\\\\');
	});

	test('C1 controls sent as UTF-8 become <U+XXXX>', () => {
		expect(toDisplay(bytes(0xC2, 0x80))).toBe('<U+0080>');
		expect(toDisplay(bytes(0xC2, 0x9B, 0x33, 0x31, 0x6D))).toBe('<U+009B>31m');
		expect(toDisplay(bytes(0xC2, 0x85))).toBe('<U+0085>');
		expect(toDisplay(bytes(0xC2, 0x9F))).toBe('<U+009F>');
	});

	test('bidi, zero-width and format characters become <U+XXXX>', () => {
		expect(toDisplay(utf8('evil\u202Etxt.exe'))).toBe('evil<U+202E>txt.exe');
		const cases: Array<[string, string]> = [
			['\u200B', '<U+200B>'],
			['\u200D', '<U+200D>'],
			['\u200F', '<U+200F>'],
			['\u202A', '<U+202A>'],
			['\u2060', '<U+2060>'],
			['\u2064', '<U+2064>'],
			['\u2066', '<U+2066>'],
			['\u2069', '<U+2069>'],
			['\uFEFF', '<U+FEFF>'],
			['\u2028', '<U+2028>'],
			['\u2029', '<U+2029>'],
			['\u00AD', '<U+00AD>'],
			['\u061C', '<U+061C>'],
			['\uFFF9', '<U+FFF9>'],
			['\u{E0001}', '<U+E0001>'],
			['\u{E0041}', '<U+E0041>'],
		];
		for (const [input, expected] of cases) {
			expect(toDisplay(utf8(input))).toBe(expected);
		}
	});

	test('private use and noncharacters become <U+XXXX>', () => {
		expect(toDisplay(utf8('\uE000\uF8FF\u{F0000}'))).toBe('<U+E000><U+F8FF><U+F0000>');
		expect(toDisplay(utf8('\uFFFE\uFFFF\uFDD0\u{10FFFF}'))).toBe('<U+FFFE><U+FFFF><U+FDD0><U+10FFFF>');
	});
});

describe('toDisplay shows bytes that are not UTF-8 as \\xNN', () => {
	test('a lone 0x9B (CSI on latin-1 terminals) and other stray bytes', () => {
		expect(toDisplay(bytes(0x9B, 0x32, 0x4A))).toBe('\\x9B2J');
		expect(toDisplay(bytes(0x80, 0xBF, 0xFE, 0xFF, 0xC0, 0xC1, 0xF5))).toBe('\\x80\\xBF\\xFE\\xFF\\xC0\\xC1\\xF5');
	});

	test('truncated sequences, one escape per byte, and decoding resumes at the next byte', () => {
		expect(toDisplay(bytes(0xE2, 0x82))).toBe('\\xE2\\x82');
		expect(toDisplay(bytes(0xE2, 0x82, 0x41))).toBe('\\xE2\\x82A');
		expect(toDisplay(bytes(0xF0, 0x9F, 0x99))).toBe('\\xF0\\x9F\\x99');
		expect(toDisplay(bytes(0xF0, 0xE2, 0x82, 0xAC))).toBe('\\xF0€');
		expect(toDisplay(bytes(0xC3))).toBe('\\xC3');
	});

	test('overlongs, encoded surrogates and code points past U+10FFFF', () => {
		// Overlong '/' and overlong NUL.
		expect(toDisplay(bytes(0xC0, 0xAF))).toBe('\\xC0\\xAF');
		expect(toDisplay(bytes(0xE0, 0x80, 0xAF))).toBe('\\xE0\\x80\\xAF');
		expect(toDisplay(bytes(0xF0, 0x80, 0x80, 0x80))).toBe('\\xF0\\x80\\x80\\x80');
		// U+D800 as UTF-8 (CESU style).
		expect(toDisplay(bytes(0xED, 0xA0, 0x80))).toBe('\\xED\\xA0\\x80');
		// U+110000.
		expect(toDisplay(bytes(0xF4, 0x90, 0x80, 0x80))).toBe('\\xF4\\x90\\x80\\x80');
	});

	test('the edges of every sequence length decode', () => {
		expect(toDisplay(utf8('\u00A0\u07FF\u0800\uD7FF\uFFFD'))).toBe('\u00A0\u07FF\u0800\uD7FF\uFFFD');
		expect(toDisplay(utf8('\u{10000}\u{1F600}\u{E01EF}'))).toBe('\u{10000}\u{1F600}\u{E01EF}');
	});
});

describe('toDisplay maxChars', () => {
	test('output that fits is unchanged; longer output ends in …', () => {
		expect(toDisplay(utf8('hello'), {maxChars: 5})).toBe('hello');
		expect(toDisplay(utf8('hello!'), {maxChars: 5})).toBe('hell…');
		expect(toDisplay(utf8('hello'), {maxChars: 1})).toBe('…');
		expect(toDisplay(utf8('hello'), {maxChars: 0})).toBe('');
		expect(toDisplay(utf8(''), {maxChars: 0})).toBe('');
	});

	test('never cuts inside an escape', () => {
		expect(toDisplay(utf8('ab\u001B[2J'), {maxChars: 4})).toBe('ab…');
		expect(toDisplay(utf8('ab\u202Ecd'), {maxChars: 12})).toBe('ab<U+202E>cd');
		expect(toDisplay(utf8('ab\u202Ecd'), {maxChars: 11})).toBe('ab<U+202E>…');
		expect(toDisplay(utf8('ab\u202Ecd'), {maxChars: 10})).toBe('ab…');
		expect(toDisplay(bytes(0x41, 0xFF, 0xFF), {maxChars: 6})).toBe('A\\xFF…');
		expect(toDisplay(utf8('a\r\n'), {maxChars: 5})).toBe('a\\r\\n');
	});

	test('never splits a surrogate pair', () => {
		expect(toDisplay(utf8('ab🙂'), {maxChars: 4})).toBe('ab🙂');
		expect(toDisplay(utf8('ab🙂c'), {maxChars: 4})).toBe('ab…');
	});

	test('multi-byte text that fits in maxChars is not cut even when it has more bytes', () => {
		// 9 ASCII bytes and a 3-byte euro sign: 12 bytes, 10 characters.
		expect(toDisplay(utf8('123456789€'), {maxChars: 10})).toBe('123456789€');
	});

	test('a huge chunk costs only its visible part: the bytes past it are never read', () => {
		// Counted, not timed (timings belong in the bench): every indexed read of the 16 MiB goes through the proxy.
		const chunk = new Uint8Array(16 * 1024 * 1024).fill(0x1B);
		let reads = 0;
		const counted = new Proxy(chunk, {
			get(target, key) {
				if (typeof key === 'string' && /^\d+$/.test(key)) {
					reads++;
				}

				const value: unknown = Reflect.get(target, key);
				return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
			},
		});
		expect(toDisplay(counted, {maxChars: 80})).toBe('^['.repeat(39) + '…');
		expect(reads).toBeGreaterThan(0);
		expect(reads).toBeLessThanOrEqual(2 * 80);
	});
});

describe('toDisplayString', () => {
	test('applies the same rules to a JS string', () => {
		expect(toDisplayString('peer\u001B]0;pwned\u0007 name\r\n')).toBe('peer^[]0;pwned^G name\\r\\n');
		expect(toDisplayString('evil\u202Etxt.exe \u009B')).toBe('evil<U+202E>txt.exe <U+009B>');
		expect(toDisplayString('日本 🙂')).toBe('日本 🙂');
		expect(toDisplayString('plain', {maxChars: 3})).toBe('pl…');
	});

	test('lone surrogates become <U+XXXX>', () => {
		expect(toDisplayString('a\uD800b\uDFFFc\uD83D')).toBe('a<U+D800>b<U+DFFF>c<U+D83D>');
		expect(toDisplayString('\uDE42\uD83D')).toBe('<U+DE42><U+D83D>');
	});
});

describe('toDisplay properties', () => {
	test('no output from random bytes can drive the terminal', () => {
		// Given arbitrary bytes (random, UTF-8 of any code point, known attacks)
		// When they are turned into display text
		// Then no control, format, separator, surrogate or private-use code point survives
		const numRuns = 50_000;
		let checked = 0;
		fc.assert(
			fc.property(hostileBytes, maxChars, (input, max) => {
				checked++;
				const output = toDisplay(input, {maxChars: max});
				expect(output).not.toMatch(forbidden);
				if (max !== undefined) {
					expect(output.length).toBeLessThanOrEqual(max);
				}
			}),
			{numRuns},
		);
		console.log(`toDisplay: ${checked.toLocaleString('en-US')} random byte inputs checked, none produced a terminal control`);
		expect(checked).toBe(numRuns);
	});

	test('no output from random strings can drive the terminal', () => {
		let checked = 0;
		fc.assert(
			fc.property(hostileText, maxChars, (input, max) => {
				checked++;
				const output = toDisplayString(input, {maxChars: max});
				expect(output).not.toMatch(forbidden);
				if (max !== undefined) {
					expect(output.length).toBeLessThanOrEqual(max);
				}
			}),
			{numRuns: 20_000},
		);
		console.log(`toDisplayString: ${checked.toLocaleString('en-US')} random strings checked`);
	});

	test('printable ASCII is the identity, but for a peer\'s backslash, which doubles', () => {
		fc.assert(
			fc.property(printableAscii, input => {
				expect(toDisplay(utf8(input))).toBe(input.replaceAll('\\', '\\\\'));
				expect(toDisplayString(input)).toBe(input);
			}),
			{numRuns: 10_000},
		);
	});

	test('bytes and strings agree: toDisplay(UTF-8 of s) equals toDisplayString(s), but for the backslash', () => {
		// 'binary' never yields lone surrogates (UTF-8 cannot carry them) and
		// every dangerous fragment is well-formed.
		const wellFormed = fc.string({
			unit: fc.oneof(fc.string({unit: 'binary', minLength: 1, maxLength: 1}), fc.constantFrom(...dangerousFragments)),
			maxLength: 30,
		});
		fc.assert(
			fc.property(wellFormed, maxChars, (input, max) => {
				const withoutBackslash = input.replaceAll('\\', '');
				expect(toDisplay(utf8(withoutBackslash), {maxChars: max})).toBe(toDisplayString(withoutBackslash, {maxChars: max}));
				expect(toDisplay(utf8(input))).toBe(input.split('\\').map(part => toDisplayString(part)).join('\\\\'));
			}),
			{numRuns: 10_000},
		);
	});

	test('the decoder accepts exactly the UTF-8 that a strict decoder accepts', () => {
		// Reference: at each byte, the shortest slice that Node's fatal decoder
		// reads as one code point, else one \\xNN. Bytes near the edges of
		// table 3-7 (overlongs, surrogates, past U+10FFFF) come up often.
		const strict = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});
		const reference = (input: Uint8Array): string => {
			let output = '';
			let index = 0;
			while (index < input.length) {
				let size = 0;
				for (let candidate = 1; candidate <= 4 && index + candidate <= input.length && size === 0; candidate++) {
					try {
						const text = strict.decode(input.subarray(index, index + candidate));
						size = [...text].length === 1 ? candidate : 0;
					} catch {}
				}

				output += size === 0 ? `\\x${input[index]!.toString(16).toUpperCase().padStart(2, '0')}` : peerShown(strict.decode(input.subarray(index, index + size)));
				index += Math.max(size, 1);
			}

			return output;
		};

		const edgeByte = fc.constantFrom(0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF);
		const nearUtf8 = fc.oneof(fc.array(edgeByte, {maxLength: 16}), fc.array(fc.integer({min: 0, max: 255}), {maxLength: 16}), hostileBytes.map(input => [...input]));
		fc.assert(
			fc.property(nearUtf8, values => {
				const input = Uint8Array.from(values);
				expect(toDisplay(input)).toBe(reference(input));
			}),
			{numRuns: 10_000},
		);
	});

	test('maxChars cuts at a piece boundary and only when the output does not fit', () => {
		// Units whose display is known on their own: whole code points, and
		// bytes that are invalid UTF-8 wherever they stand.
		const unit = fc.oneof(
			fc.string({unit: 'binary', minLength: 1, maxLength: 1}).map(text => ({bytes: utf8(text), shown: peerShown(text)})),
			fc.constantFrom(0x80, 0x9B, 0xC0, 0xC1, 0xF5, 0xFE, 0xFF).map(byte => ({bytes: Buffer.of(byte), shown: `\\x${byte.toString(16).toUpperCase()}`})),
		);
		fc.assert(
			fc.property(fc.array(unit, {maxLength: 20}), fc.integer({min: 0, max: 50}), (units, max) => {
				const full = units.map(each => each.shown).join('');
				let expected = full;
				if (full.length > max) {
					expected = '';
					for (const each of units) {
						if (expected.length + each.shown.length > max - 1) {
							break;
						}

						expected += each.shown;
					}

					expected = max === 0 ? '' : expected + '…';
				}

				const input = Buffer.concat(units.map(each => each.bytes));
				expect(toDisplay(input, {maxChars: max})).toBe(expected);
			}),
			{numRuns: 10_000},
		);
	});
});
