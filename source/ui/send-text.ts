import {parseEscapedText} from '../core/format/index.js';

/**
 * What Enter adds after the text in the send prompt, as netcat users expect
 * a line to end: LF (the default, like `nc`), CRLF (`nc -C`, for HTTP, SMTP
 * and other line protocols), or nothing (binary, or a prompt that wants none).
 */
export type LineEnding = 'lf' | 'crlf' | 'none';

/** The endings in the order ctrl-t steps through them. */
export const lineEndings: readonly LineEnding[] = ['lf', 'crlf', 'none'];

/** How the prompt names an ending. */
export const lineEndingLabels: Record<LineEnding, string> = {lf: '+LF', crlf: '+CRLF', none: 'no ending'};

/** The ending after `ending` (ctrl-t). */
export function nextLineEnding(ending: LineEnding): LineEnding {
	return lineEndings[(lineEndings.indexOf(ending) + 1) % lineEndings.length]!;
}

/** A line break taken from a paste: kept in the prompt's text as one LF, shown as ⏎, sent as the chosen ending. */
export const pastedBreak = '\n';

/**
 * A bracketed paste as text for the send prompt: kept whole. Its line breaks
 * (CR, LF or CRLF: terminals send CR) become one {@link pastedBreak} each, a
 * TAB stays a TAB, and backslashes are doubled, so what was pasted is sent
 * byte for byte and not read as escapes. Other control characters are
 * dropped: a paste is text, and bytes are typed as `\xNN`.
 */
export function pastedText(text: string): string {
	return text
		.replaceAll(/\r\n?/g, pastedBreak)
		.replaceAll('\\', '\\\\')
		.replaceAll(/[^\P{Cc}\n\t]/gu, '');
}

/** How the framing of the target treats a line: `line` ends every message itself; length-prefixed or fixed framing takes the text as one message. */
export function isFramed(framing: string | undefined): boolean {
	return framing !== undefined && framing !== 'raw';
}

/**
 * The text (in the escape language of parseEscapedText) that Enter sends:
 * each pasted line break as the ending (LF when the ending is none, as
 * pasted), then the ending, unless the text already ends with a pasted line
 * break. On framed connections the framing delimits the message, so no
 * ending is added (line framing appends its LF; a pasted break is LF).
 */
export function sendText(value: string, ending: LineEnding, framing: string | undefined): string {
	const effective = isFramed(framing) ? 'none' : ending;
	const escape = effective === 'crlf' ? String.raw`\r\n` : String.raw`\n`;
	const body = value.replaceAll('\t', String.raw`\t`).replaceAll(pastedBreak, escape);
	const isEnded = value.endsWith(pastedBreak);
	return effective === 'none' || isEnded ? body : body + escape;
}

/** Bytes the framing adds around a message: `line` one LF, `u16`/`u32` their length prefix. */
function framingOverhead(framing: string | undefined): number {
	return framing === 'line' ? 1 : framing === 'u16' ? 2 : framing === 'u32' ? 4 : 0;
}

/**
 * Bytes Enter would put on the wire for `text` (from {@link sendText}),
 * framing included; undefined while the escapes are incomplete (`\x4`).
 */
export function wireBytes(text: string, framing: string | undefined): number | undefined {
	try {
		return parseEscapedText(text).length + framingOverhead(framing);
	} catch {
		return undefined;
	}
}
