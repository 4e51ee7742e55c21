/**
 * The one boundary where bytes and strings from the network become text that
 * is painted on a terminal. Ink passes OSC 0/8/52, SGR, bare CR, BS, BEL and
 * bidi overrides straight through (see shared/FACTS.md), so everything a peer
 * controls is escaped here, and nowhere else:
 *
 * - printable code points pass through unchanged (ASCII, letters, emoji, CJK);
 * - CR, LF and TAB become `\r`, `\n`, `\t`; other C0 controls become caret
 *   notation (`^@` … `^_`, ESC is `^[`) and DEL becomes `^?`;
 * - C1 controls, format characters (bidi, zero-width, tags), line and
 *   paragraph separators, private use, surrogates and noncharacters become
 *   `<U+XXXX>`;
 * - bytes that are not well-formed UTF-8 become `\xNN`, one per byte.
 *
 * In {@link toDisplay} (bytes from a peer) a backslash becomes `\\`, so the
 * four bytes `\x41` read apart from the byte 0x41 and the two bytes `\t` from
 * a TAB. {@link toDisplayString} (names, messages, what is being typed) leaves
 * a backslash as it is.
 */

/** Options for {@link toDisplay} and {@link toDisplayString}. */
export type DisplayOptions = {
	/**
	 * Upper bound on the output's `length` (UTF-16 code units, so also on its
	 * code points). Longer output is cut at an escape or code point boundary
	 * and ends in '…'. Decoding stops once the bound is passed, so a huge
	 * chunk costs no more than its visible part.
	 * @default Infinity
	 */
	maxChars?: number;
};

const ellipsis = '…';

/** Code points that are printed as `<U+XXXX>` (matched against one code point). */
const unsafeCodePoint = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\p{Noncharacter_Code_Point}]$/u;

/**
 * Verdicts for BMP code points, filled on first sight: 0 unknown, 1 printable,
 * 2 escaped. One regex test per distinct code point instead of one per
 * occurrence; 64 KiB is cheaper than the regex on every frame.
 */
const bmpVerdicts = new Uint8Array(0x1_00_00);

/** Escapes for the C0 controls and DEL, indexed by byte. */
const controlEscapes: string[] = [];
for (let byte = 0; byte < 0x20; byte++) {
	controlEscapes.push('^' + String.fromCharCode(byte + 0x40));
}

controlEscapes[0x09] = '\\t';
controlEscapes[0x0A] = '\\n';
controlEscapes[0x0D] = '\\r';

/** `\xNN` for every byte value. */
const byteEscapes: string[] = [];
for (let byte = 0; byte < 0x1_00; byte++) {
	byteEscapes.push('\\x' + byte.toString(16).toUpperCase().padStart(2, '0'));
}

/** How a code point at or above U+0080 is shown: itself, or `<U+XXXX>`. */
function showWide(codePoint: number): string {
	if (codePoint < 0x1_00_00) {
		let verdict = bmpVerdicts[codePoint];
		if (verdict === 0) {
			verdict = unsafeCodePoint.test(String.fromCharCode(codePoint)) ? 2 : 1;
			bmpVerdicts[codePoint] = verdict;
		}

		return verdict === 1 ? String.fromCharCode(codePoint) : unicodeEscape(codePoint);
	}

	const text = String.fromCodePoint(codePoint);
	return unsafeCodePoint.test(text) ? unicodeEscape(codePoint) : text;
}

function unicodeEscape(codePoint: number): string {
	return '<U+' + codePoint.toString(16).toUpperCase().padStart(4, '0') + '>';
}

/** How a code point below U+0080 is shown. */
function showNarrow(code: number): string {
	if (code >= 0x20 && code < 0x7F) {
		return String.fromCharCode(code);
	}

	return code === 0x7F ? '^?' : controlEscapes[code]!;
}

/** A normalised `maxChars`: a non-negative integer or Infinity. */
function budgetOf(options: DisplayOptions | undefined): number {
	const maxChars = options?.maxChars;
	if (maxChars === undefined || Number.isNaN(maxChars)) {
		return Number.POSITIVE_INFINITY;
	}

	return Math.max(0, Math.floor(maxChars));
}

/**
 * Collects output pieces (each one atomic: a code point or a whole escape) and
 * remembers where the output may be cut so that '…' still fits.
 */
class Output {
	text = '';
	/** Length of `text` at the last piece boundary that leaves room for '…'. */
	cutAt = 0;
	readonly budget: number;

	constructor(budget: number) {
		this.budget = budget;
	}

	/** Appends a piece; false once the output is over budget (stop decoding). */
	push(piece: string): boolean {
		this.text += piece;
		if (this.text.length < this.budget) {
			this.cutAt = this.text.length;
			return true;
		}

		return this.text.length <= this.budget;
	}

	/** The output, cut with '…' when it went over budget. */
	finish(): string {
		if (this.text.length <= this.budget) {
			return this.text;
		}

		return this.budget === 0 ? '' : this.text.slice(0, this.cutAt) + ellipsis;
	}
}

/**
 * Length of the well-formed UTF-8 sequence at `index` (2 to 4), or 0 when the
 * lead byte there does not start one. Follows Unicode table 3-7, so overlongs,
 * encoded surrogates, code points past U+10FFFF and truncated sequences are
 * all rejected.
 */
function sequenceLength(bytes: Uint8Array, index: number, lead: number): number {
	const end = bytes.length;
	if (lead >= 0xC2 && lead <= 0xDF) {
		return index + 1 < end && isContinuation(bytes[index + 1]!) ? 2 : 0;
	}

	if (lead >= 0xE0 && lead <= 0xEF) {
		if (index + 2 >= end) {
			return 0;
		}

		const second = bytes[index + 1]!;
		const low = lead === 0xE0 ? 0xA0 : 0x80;
		const high = lead === 0xED ? 0x9F : 0xBF;
		return second >= low && second <= high && isContinuation(bytes[index + 2]!) ? 3 : 0;
	}

	if (lead >= 0xF0 && lead <= 0xF4) {
		if (index + 3 >= end) {
			return 0;
		}

		const second = bytes[index + 1]!;
		const low = lead === 0xF0 ? 0x90 : 0x80;
		const high = lead === 0xF4 ? 0x8F : 0xBF;
		return second >= low && second <= high && isContinuation(bytes[index + 2]!) && isContinuation(bytes[index + 3]!) ? 4 : 0;
	}

	return 0;
}

function isContinuation(byte: number): boolean {
	return (byte & 0xC0) === 0x80;
}

/** True when `bytes[0..end)` are all printable ASCII (0x20–0x7E). */
function isPrintableAscii(bytes: Uint8Array, end: number): boolean {
	for (let index = 0; index < end; index++) {
		const byte = bytes[index]!;
		// A backslash is escaped (as `\\`): it takes the slow path.
		if (byte < 0x20 || byte > 0x7E || byte === 0x5C) {
			return false;
		}
	}

	return true;
}

function latin1(bytes: Uint8Array, end: number): string {
	return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
}

/**
 * Turns bytes from the network into text that is safe to paint on a
 * terminal: every output character is printable, so nothing a peer sends can
 * move the cursor, change colours, set the title, write the clipboard, make a
 * link or reorder text. See the module comment for the exact rules.
 *
 * @example toDisplay(Buffer.from('hi\r\n\x1b[2J')) // 'hi\\r\\n^[[2J'
 * @example toDisplay(Buffer.from('a\\tb')) // 'a\\\\tb' (a backslash, then t)
 */
export function toDisplay(bytes: Uint8Array, options?: DisplayOptions): string {
	const budget = budgetOf(options);
	const length = bytes.length;

	// Fast path: printable ASCII maps byte for byte. When the input is longer
	// than the budget, one byte past it proves the output is too.
	if (length <= budget) {
		if (isPrintableAscii(bytes, length)) {
			return latin1(bytes, length);
		}
	} else if (isPrintableAscii(bytes, budget + 1)) {
		return budget === 0 ? '' : latin1(bytes, budget - 1) + ellipsis;
	}

	const output = new Output(budget);
	let index = 0;
	while (index < length) {
		const byte = bytes[index]!;
		let piece: string;
		if (byte < 0x80) {
			piece = byte === 0x5C ? '\\\\' : showNarrow(byte);
			index++;
		} else {
			const size = sequenceLength(bytes, index, byte);
			if (size === 0) {
				piece = byteEscapes[byte]!;
				index++;
			} else {
				piece = showWide(decode(bytes, index, size));
				index += size;
			}
		}

		if (!output.push(piece)) {
			break;
		}
	}

	return output.finish();
}

/** The code point of a sequence that {@link sequenceLength} accepted. */
function decode(bytes: Uint8Array, index: number, size: number): number {
	const lead = bytes[index]!;
	if (size === 2) {
		return ((lead & 0x1F) << 6) | (bytes[index + 1]! & 0x3F);
	}

	if (size === 3) {
		return ((lead & 0x0F) << 12) | ((bytes[index + 1]! & 0x3F) << 6) | (bytes[index + 2]! & 0x3F);
	}

	return ((lead & 0x07) << 18) | ((bytes[index + 1]! & 0x3F) << 12) | ((bytes[index + 2]! & 0x3F) << 6) | (bytes[index + 3]! & 0x3F);
}

const printableAsciiText = /^[\x20-\x7E]*$/;

/**
 * The same as {@link toDisplay} for a JS string: peer names, error messages
 * that quote peer data, the status line. Lone surrogates become `<U+XXXX>`.
 *
 * @example toDisplayString('evil\u202Etxt.exe') // 'evil<U+202E>txt.exe'
 */
export function toDisplayString(text: string, options?: DisplayOptions): string {
	const budget = budgetOf(options);
	const length = text.length;
	if (length <= budget) {
		if (printableAsciiText.test(text)) {
			return text;
		}
	} else if (printableAsciiText.test(text.slice(0, budget + 1))) {
		return budget === 0 ? '' : text.slice(0, budget - 1) + ellipsis;
	}

	const output = new Output(budget);
	let index = 0;
	while (index < length) {
		const code = text.charCodeAt(index);
		let piece: string;
		if (code < 0x80) {
			piece = showNarrow(code);
			index++;
		} else if (code >= 0xD8_00 && code <= 0xDB_FF && index + 1 < length) {
			const low = text.charCodeAt(index + 1);
			if (low >= 0xDC_00 && low <= 0xDF_FF) {
				piece = showWide(((code - 0xD8_00) << 10) + (low - 0xDC_00) + 0x1_00_00);
				index += 2;
			} else {
				piece = unicodeEscape(code);
				index++;
			}
		} else {
			// Lone surrogates land here too: showWide escapes them as Cs.
			piece = showWide(code);
			index++;
		}

		if (!output.push(piece)) {
			break;
		}
	}

	return output.finish();
}
