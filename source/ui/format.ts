import stringWidth from 'string-width';
import type {Endpoint} from '../core/index.js';
import {formatAddress} from '../core/index.js';
import {toDisplayString} from '../core/format/index.js';
import {lazySegmenter} from './graphemes.js';

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

/**
 * A framing cell: the framing (`raw`, `line`, …), with `·tls` when the socket speaks TLS and
 * `·tls!` when its peer went unverified (--insecure). Only the cell says TLS this way: the rows
 * keep the framing as it is, which the panes compare.
 */
export function framingLabel(framing: string, tls: {readonly isInsecure: boolean} | boolean | undefined): string {
	if (!tls) {
		return framing;
	}

	return `${framing}·tls${typeof tls === 'object' && tls.isInsecure ? '!' : ''}`;
}

/** Columns `text` takes on a terminal: 2 for CJK and emoji, 0 for combining marks (string-width, as Ink measures). */
export function textWidth(text: string): number {
	return stringWidth(text);
}

// Lazy: the first real Intl.Segmenter costs ~15 ms of start-up (graphemes.ts).
const graphemes = lazySegmenter(undefined, {granularity: 'grapheme'});

/** The longest start of `text` (whole graphemes) that takes at most `width` columns. */
function cutToWidth(text: string, width: number): {text: string; width: number} {
	let cut = '';
	let used = 0;
	for (const {segment} of graphemes.segment(text)) {
		const size = stringWidth(segment);
		if (used + size > width) {
			break;
		}

		cut += segment;
		used += size;
	}

	return {text: cut, width: used};
}

/**
 * Pads or cuts `text` to exactly `width` terminal columns (cut text ends in
 * '…'). Widths are measured, not counted: a wide character never shifts the
 * columns after it, and one that would straddle the edge becomes a space.
 */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
	if (width <= 0) {
		return '';
	}

	const size = stringWidth(text);
	if (size > width) {
		const cut = cutToWidth(text, width - 1);
		return `${cut.text}…${' '.repeat(width - 1 - cut.width)}`;
	}

	const padding = ' '.repeat(width - size);
	return align === 'left' ? text + padding : padding + text;
}

/** Any string from the snapshot (notes, error messages), made safe and cut to `maxChars`. */
export function safeText(text: string, maxChars?: number): string {
	return toDisplayString(text, maxChars === undefined ? undefined : {maxChars});
}
