import {NetdashError} from '../errors.js';

/**
 * How a byte stream is cut into messages.
 * - `raw`: no messages, only bytes.
 * - `line`: messages end with LF or CRLF.
 * - `u16` / `u32`: each message follows its length as a big-endian integer.
 * - `fixed`: every `size` bytes is one message.
 */
export type FramingSpec =
	| {kind: 'raw'}
	| {kind: 'line'}
	| {kind: 'u16'}
	| {kind: 'u32'}
	| {kind: 'fixed'; size: number};

/** Largest size `fixed:N` accepts: 16 MiB. */
export const MAX_FIXED_SIZE = 16 * 1024 * 1024;

const choices = `raw, line, u16, u32 or fixed:N (N from 1 to ${MAX_FIXED_SIZE})`;

/**
 * Parses 'raw' | 'line' | 'u16' | 'u32' | 'fixed:N' (N a whole number from 1
 * to 16 MiB, written without sign or leading zeros). Case does not matter, so
 * `LINE` and `Fixed:4` are accepted.
 *
 * @throws NetdashError `BAD_FRAMING` with one line naming the bad value and the valid choices.
 */
export function parseFraming(text: string): FramingSpec {
	const lower = text.toLowerCase();
	switch (lower) {
		case 'raw':
		case 'line':
		case 'u16':
		case 'u32': {
			return {kind: lower};
		}

		default: {
			break;
		}
	}

	if (lower.startsWith('fixed:')) {
		const digits = lower.slice('fixed:'.length);
		const size = Number(digits);
		if (!/^[1-9]\d*$/.test(digits) || size > MAX_FIXED_SIZE) {
			throw new NetdashError('BAD_FRAMING', `Bad framing ${quote(text)}: the size in fixed:N must be a whole number from 1 to ${MAX_FIXED_SIZE}`);
		}

		return {kind: 'fixed', size};
	}

	throw new NetdashError('BAD_FRAMING', `Unknown framing ${quote(text)}: use ${choices}`);
}

/** Inverse of {@link parseFraming}: 'raw', 'line', 'u16', 'u32' or 'fixed:N'. */
export function formatFraming(spec: FramingSpec): string {
	return spec.kind === 'fixed' ? `fixed:${spec.size}` : spec.kind;
}

// JSON quoting escapes control characters, so the message stays on one line.
function quote(text: string): string {
	return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
