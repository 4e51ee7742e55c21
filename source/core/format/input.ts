import {NetdashError} from '../errors.js';
import {toDisplayString} from './display.js';

/** Bytes of the one-letter escapes; `\xNN` is handled on its own. */
const letterEscapes = new Map<string, number>([
	['r', 0x0D],
	['n', 0x0A],
	['t', 0x09],
	['0', 0x00],
	['\\', 0x5C],
	['e', 0x1B],
]);

const twoHexDigits = /^[\dA-Fa-f]{2}$/;
const hexDigit = /^[\dA-Fa-f]$/;
const hexSeparator = /^[\s:,]$/;

/** 1-based position of `index` counted in code points, as a person counts. */
function positionOf(text: string, index: number): number {
	return [...text.slice(0, index)].length + 1;
}

/** A fragment of what the person typed, quoted safely on one line. */
function quote(fragment: string): string {
	return `'${toDisplayString(fragment, {maxChars: 24})}'`;
}

/** The whole code point at `index` (both halves of a surrogate pair). */
function charAt(text: string, index: number): string {
	return String.fromCodePoint(text.codePointAt(index)!);
}

/**
 * What a person types to send, to bytes: UTF-8 text with the escapes `\r`,
 * `\n`, `\t`, `\0`, `\\`, `\e` (ESC) and `\xNN` (exactly two hex digits, one
 * raw byte, so `\xff` is the byte 0xFF and not U+00FF in UTF-8). `\012` is
 * NUL followed by '12'.
 *
 * @throws NetdashError `BAD_ESCAPE` naming the escape and its 1-based position.
 * @example parseEscapedText('GET / HTTP/1.0\\r\\n\\r\\n')
 */
export function parseEscapedText(text: string): Buffer {
	let index = text.indexOf('\\');
	if (index === -1) {
		return Buffer.from(text, 'utf8');
	}

	const parts: Uint8Array[] = [];
	let runStart = 0;
	while (index !== -1) {
		if (index > runStart) {
			parts.push(Buffer.from(text.slice(runStart, index), 'utf8'));
		}

		if (index + 1 >= text.length) {
			throw new NetdashError('BAD_ESCAPE', `bad escape '\\' at position ${positionOf(text, index)}: the text ends in a lone backslash (write \\\\ for one)`);
		}

		const letter = charAt(text, index + 1);
		const byte = letterEscapes.get(letter);
		if (byte !== undefined) {
			parts.push(Uint8Array.of(byte));
			runStart = index + 2;
		} else if (letter === 'x') {
			const digits = text.slice(index + 2, index + 4);
			if (!twoHexDigits.test(digits)) {
				throw new NetdashError('BAD_ESCAPE', `bad escape ${quote(text.slice(index, index + 4))} at position ${positionOf(text, index)}: \\x needs exactly two hex digits`);
			}

			parts.push(Uint8Array.of(Number.parseInt(digits, 16)));
			runStart = index + 4;
		} else {
			throw new NetdashError('BAD_ESCAPE', `bad escape ${quote('\\' + letter)} at position ${positionOf(text, index)} (use \\r \\n \\t \\0 \\\\ \\xNN or \\e)`);
		}

		index = text.indexOf('\\', runStart);
	}

	if (runStart < text.length) {
		parts.push(Buffer.from(text.slice(runStart), 'utf8'));
	}

	return Buffer.concat(parts);
}

/**
 * Hex bytes to a Buffer. Accepts `'48 65 6c'`, `'48656c'`, `'0x48 0x65'`,
 * `'48:65:6c'`, `'48,65'`, any case, any mix of whitespace, ':' and ','
 * between groups. Each group (with its optional `0x`) must have an even
 * number of digits, so a typo such as `'48 6 5c'` is caught. Empty text gives
 * an empty Buffer.
 *
 * @throws NetdashError `BAD_HEX` quoting the bad character or group with its 1-based position.
 */
export function parseHex(text: string): Buffer {
	const bytes: number[] = [];
	let index = 0;
	while (index < text.length) {
		if (hexSeparator.test(text[index]!)) {
			index++;
			continue;
		}

		const groupStart = index;
		if (text[index] === '0' && (text[index + 1] === 'x' || text[index + 1] === 'X')) {
			index += 2;
		}

		const digitsStart = index;
		while (index < text.length && !hexSeparator.test(text[index]!)) {
			const char = charAt(text, index);
			if (!hexDigit.test(char)) {
				throw new NetdashError('BAD_HEX', `${quote(char)} is not a hex digit (at position ${positionOf(text, index)})`);
			}

			index++;
		}

		const digits = text.slice(digitsStart, index);
		if (digits.length === 0) {
			throw new NetdashError('BAD_HEX', `'0x' at position ${positionOf(text, groupStart)} has no hex digits after it`);
		}

		if (digits.length % 2 === 1) {
			throw new NetdashError('BAD_HEX', `${quote(text.slice(groupStart, index))} at position ${positionOf(text, groupStart)} has an odd number of hex digits`);
		}

		for (let digit = 0; digit < digits.length; digit += 2) {
			bytes.push(Number.parseInt(digits.slice(digit, digit + 2), 16));
		}
	}

	return Buffer.from(bytes);
}

/** Bytes shown by the one-letter escapes that {@link parseEscapedText} reads. */
const escapeLetters = new Map<number, string>([
	[0x0D, '\\r'],
	[0x0A, '\\n'],
	[0x09, '\\t'],
	[0x00, '\\0'],
	[0x5C, '\\\\'],
	[0x1B, '\\e'],
]);

/**
 * Bytes as text to edit, the inverse of {@link parseEscapedText}: printable
 * ASCII as it is, the one-letter escapes, and `\xNN` for every other byte
 * (UTF-8 too), so any bytes come back exactly and the text is safe to paint.
 *
 * @example toEscapedText(Buffer.from('hi\r\n')) // 'hi\\r\\n'
 */
export function toEscapedText(bytes: Uint8Array): string {
	let text = '';
	for (const byte of bytes) {
		const letter = escapeLetters.get(byte);
		text += letter ?? (byte >= 0x20 && byte <= 0x7E ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`);
	}

	return text;
}
