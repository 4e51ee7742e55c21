import type {Endpoint} from '../core/index.js';
import {formatAddress} from '../core/index.js';
import {toDisplayString} from '../core/format/index.js';

/**
 * Small text helpers for the panes. Anything that may carry text from the
 * network or the OS goes through toDisplayString here, so a pane never
 * paints a raw control character.
 */

/** `12:34:56.789` in local time. */
export function formatTime(at: number): string {
	const date = new Date(at);
	const pad = (value: number, size = 2) => String(value).padStart(size, '0');
	return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

/** `127.0.0.1:80`, `[::1]:80`, or `…` while unknown; safe to paint. */
export function formatEndpoint(endpoint: Endpoint | undefined): string {
	return endpoint ? toDisplayString(formatAddress(endpoint.address, endpoint.port)) : '…';
}

/** Pads or cuts `text` to exactly `width` characters (cut text ends in '…'). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
	if (width <= 0) {
		return '';
	}

	if (text.length > width) {
		return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
	}

	return align === 'left' ? text.padEnd(width) : text.padStart(width);
}

/** Any string from the snapshot (notes, error messages), made safe and cut to `maxChars`. */
export function safeText(text: string, maxChars?: number): string {
	return toDisplayString(text, maxChars === undefined ? undefined : {maxChars});
}
