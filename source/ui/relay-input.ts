import {NetdashError} from '../core/errors.js';
import {parseEscapedText, parseHex, toEscapedText} from '../core/format/index.js';

/**
 * A pace as typed in the throttle prompt: bytes per second, with an
 * optional k / M / G (powers of 1024) and `/s`; 0 lifts the limit.
 *
 * @throws NetdashError `BAD_RATE` naming what was typed.
 * @example parseRate('16k') // 16384
 */
export function parseRate(text: string): number {
	const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?(?:\/s)?$/i.exec(text.trim());
	if (!match) {
		throw new NetdashError('BAD_RATE', `a throttle is bytes per second such as 2000, 16k or 1M (0 lifts it), not '${text.slice(0, 24)}'`);
	}

	const unit = (match[2] ?? '').toLowerCase()[0];
	const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
	return Math.floor(Number(match[1]) * scale);
}

/** A held chunk's bytes as the edit prompt starts with them: text with escapes, or hex pairs. */
export function editableText(data: Buffer, format: 'text' | 'hex'): string {
	return format === 'text' ? toEscapedText(data) : [...data].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
}

/** What the edit prompt holds, back to bytes. @throws NetdashError `BAD_ESCAPE` / `BAD_HEX`. */
export function editedBytes(text: string, format: 'text' | 'hex'): Buffer {
	return format === 'text' ? parseEscapedText(text) : parseHex(text);
}
