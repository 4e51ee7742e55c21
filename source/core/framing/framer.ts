import {Buffer} from 'node:buffer';
import {NetdashError} from '../errors.js';
import {formatFraming, MAX_FIXED_SIZE, type FramingSpec} from './spec.js';

/** Default {@link FramerOptions.maxMessageBytes}: 1 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * What a framer calls back with. Callbacks run synchronously inside
 * {@link Framer.push} and must not throw: the rest of that chunk would be lost.
 */
export type FramerSink = {
	/**
	 * One complete message: for `line` without its LF or CRLF terminator
	 * (`delimiterBytes` says which: 1 or 2), for `u16` / `u32` the payload
	 * without its length prefix.
	 *
	 * Zero copy: when a message lies inside one pushed chunk, `payload` is a
	 * subarray of that chunk and shares its memory (it only owns fresh memory
	 * when it spans chunks). Do not change a chunk after pushing it, unless it
	 * was pushed as borrowed; copy (`Buffer.from(payload)`) a small message you
	 * keep for long, or it pins the whole chunk.
	 */
	message(payload: Buffer, delimiterBytes?: number): void;

	/**
	 * Bytes that could not be framed and were discarded: a line longer than
	 * `maxMessageBytes`, or a declared (or fixed) length over it. `reason` is one
	 * line for a person.
	 *
	 * An over-long line is reported in pieces as its bytes arrive (the first
	 * when it outgrows the limit, then at most one per chunk until its newline);
	 * the pieces add up to the line's length without its terminator. An
	 * over-long length-prefixed or fixed message is reported once, with its full
	 * payload length, as soon as its length is known; the framer then skips
	 * exactly that many bytes and resumes in sync.
	 */
	overflow(discardedBytes: number, reason: string): void;
};

/** Limits of a framer. */
export type FramerOptions = {
	/**
	 * Largest message kept, in bytes; bigger ones are discarded and reported
	 * through {@link FramerSink.overflow}. It bounds what a framer holds in memory.
	 *
	 * @default 1_048_576
	 */
	maxMessageBytes?: number;
};

/** An incremental framer: push chunks in the order received, get whole messages back. */
export type Framer = {
	/**
	 * Feed one chunk (empty is fine); calls the sink for every message completed by it, in order.
	 * `isBorrowed`: the chunk's memory is reused once push returns (a socket's shared read
	 * buffer, tcp/shared-reads.ts), so the bytes of an unfinished message are copied, not kept.
	 */
	push(chunk: Buffer, isBorrowed?: boolean): void;

	/**
	 * Bytes of the unfinished message received so far, held until the rest
	 * arrives: a partial line (with its CR, if that is the last byte), or the
	 * length prefix and payload bytes of a partial frame. Nothing of an
	 * over-long message being discarded is counted.
	 */
	readonly buffered: number;
};

const LF = 0x0A;
const CR = 0x0D;
const newline = Buffer.from([LF]);

/**
 * Creates an incremental framer that calls `sink` with each message of the
 * stream, whatever the chunk boundaries. Raw framing has no messages:
 * `createFramer` returns `undefined` for it (callers then emit no message events).
 *
 * @throws NetdashError `BAD_FRAMING` for a fixed size outside 1..16 MiB, `BAD_MAX_MESSAGE_BYTES` for a limit that is not a positive whole number.
 */
export function createFramer(spec: FramingSpec, sink: FramerSink, options: FramerOptions = {}): Framer | undefined {
	const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
	if (!Number.isSafeInteger(max) || max < 1) {
		throw new NetdashError('BAD_MAX_MESSAGE_BYTES', `Bad message size limit ${String(max)}: it must be a whole number of bytes, at least 1`);
	}

	switch (spec.kind) {
		case 'raw': {
			return undefined;
		}

		case 'line': {
			return createLineFramer(sink, max);
		}

		case 'u16': {
			return createSizedFramer(sink, max, 2, 0);
		}

		case 'u32': {
			return createSizedFramer(sink, max, 4, 0);
		}

		case 'fixed': {
			// A size of 0 would loop forever on empty messages.
			if (!Number.isSafeInteger(spec.size) || spec.size < 1 || spec.size > MAX_FIXED_SIZE) {
				throw new NetdashError('BAD_FRAMING', `Bad framing fixed:${String(spec.size)}: the size must be a whole number from 1 to ${MAX_FIXED_SIZE}`);
			}

			return createSizedFramer(sink, max, 0, spec.size);
		}
	}
}

/**
 * Wraps one message for sending with this framing: `line` appends one '\n'
 * (the message should hold no LF and not end in CR, or the receiver reads
 * other lines); `u16` / `u32` prefix its big-endian length; `fixed` requires
 * exactly `size` bytes and returns the message itself; `raw` returns it unchanged.
 *
 * @throws NetdashError `FRAME_TOO_LARGE` when the length does not fit the prefix, `FRAME_WRONG_SIZE` when a fixed message has another size.
 */
export function encodeFrame(spec: FramingSpec, message: Buffer): Buffer {
	switch (spec.kind) {
		case 'raw': {
			return message;
		}

		case 'line': {
			return Buffer.concat([message, newline], message.length + 1);
		}

		case 'u16':
		case 'u32': {
			const prefixBytes = spec.kind === 'u16' ? 2 : 4;
			const limit = spec.kind === 'u16' ? 0xFF_FF : 0xFF_FF_FF_FF;
			if (message.length > limit) {
				throw new NetdashError('FRAME_TOO_LARGE', `Message of ${message.length} bytes is too large for ${spec.kind} framing (at most ${limit} bytes)`);
			}

			const frame = Buffer.allocUnsafe(prefixBytes + message.length);
			frame.writeUIntBE(message.length, 0, prefixBytes);
			message.copy(frame, prefixBytes);
			return frame;
		}

		case 'fixed': {
			if (message.length !== spec.size) {
				throw new NetdashError('FRAME_WRONG_SIZE', `Message of ${message.length} bytes does not fit ${formatFraming(spec)} framing (it needs exactly ${spec.size} bytes)`);
			}

			return message;
		}
	}
}

/**
 * Lines end at LF; a CR right before it belongs to the terminator. Only bytes
 * not scanned before are searched for LF, and a line spanning chunks is
 * concatenated once, when its LF arrives.
 */
function createLineFramer(sink: FramerSink, max: number): Framer {
	// Pieces of the current line, all non-empty; their content is at most `max`
	// bytes, plus possibly a trailing CR that may yet turn out to be a terminator.
	const pending: Buffer[] = [];
	let pendingBytes = 0;
	// Discarding the rest of an over-long line, up to its LF.
	let isDiscarding = false;
	// While discarding: the last byte seen was a CR, not yet counted because
	// an LF next would make it part of the terminator.
	let hasHeldCr = false;

	function push(chunk: Buffer, isBorrowed = false): void {
		let offset = 0;
		while (offset < chunk.length) {
			const start = offset;
			const lf = chunk.indexOf(LF, start);
			const end = lf === -1 ? chunk.length : lf;

			if (isDiscarding) {
				const endsWithCr = end > start ? chunk[end - 1] === CR : hasHeldCr;
				const discarded = end - start + (hasHeldCr ? 1 : 0) - (endsWithCr ? 1 : 0);
				hasHeldCr = lf === -1 && endsWithCr;
				isDiscarding = lf === -1;
				offset = end + 1;
				if (discarded > 0) {
					sink.overflow(discarded, `Discarded ${discarded} more bytes of a line over the ${max}-byte limit`);
				}

				continue;
			}

			const last = pending.at(-1);
			const endsWithCr = end > start ? chunk[end - 1] === CR : last?.[last.length - 1] === CR;
			// The line's length without a CR that may be (or is) part of CRLF.
			const size = pendingBytes + end - start - (endsWithCr ? 1 : 0);

			if (lf === -1) {
				if (size > max) {
					pending.length = 0;
					pendingBytes = 0;
					isDiscarding = true;
					hasHeldCr = endsWithCr;
					sink.overflow(size, `Line longer than the ${max}-byte limit: discarding it up to the next newline`);
				} else {
					const rest = start === 0 ? chunk : chunk.subarray(start);
					pending.push(isBorrowed ? Buffer.from(rest) : rest);
					pendingBytes += chunk.length - start;
				}

				return;
			}

			offset = lf + 1;
			if (size > max) {
				pending.length = 0;
				pendingBytes = 0;
				sink.overflow(size, `Line of ${size} bytes is over the ${max}-byte limit: discarded it`);
				continue;
			}

			let line: Buffer;
			if (pendingBytes === 0) {
				line = chunk.subarray(start, start + size);
			} else {
				pending.push(chunk.subarray(start, lf));
				line = Buffer.concat(pending, pendingBytes + lf - start).subarray(0, size);
				pending.length = 0;
				pendingBytes = 0;
			}

			sink.message(line, endsWithCr ? 2 : 1);
		}
	}

	return {
		push,
		get buffered() {
			return pendingBytes;
		},
	};
}

/**
 * Length-prefixed (`prefixBytes` 2 or 4, big-endian) or, with `prefixBytes`
 * 0, fixed-size messages of `fixedSize` bytes. The prefix may arrive split
 * across chunks; a payload spanning chunks is concatenated once, when complete.
 */
function createSizedFramer(sink: FramerSink, max: number, prefixBytes: 0 | 2 | 4, fixedSize: number): Framer {
	const header = Buffer.alloc(prefixBytes);
	let headerBytes = 0;
	// Payload size of the current message, once its header is complete.
	let frameSize: number | undefined;
	const pending: Buffer[] = [];
	let pendingBytes = 0;
	// Bytes of an over-long payload still to skip.
	let skipBytes = 0;

	function push(chunk: Buffer, isBorrowed = false): void {
		let offset = 0;
		for (;;) {
			if (skipBytes > 0) {
				const skipped = Math.min(skipBytes, chunk.length - offset);
				skipBytes -= skipped;
				offset += skipped;
				if (skipBytes > 0) {
					return;
				}
			}

			if (frameSize === undefined) {
				let size: number;
				if (prefixBytes === 0) {
					// A fixed message starts with its first byte, so an empty rest starts nothing.
					if (offset === chunk.length) {
						return;
					}

					size = fixedSize;
				} else if (headerBytes === 0 && chunk.length - offset >= prefixBytes) {
					size = chunk.readUIntBE(offset, prefixBytes);
					offset += prefixBytes;
				} else {
					const copied = chunk.copy(header, headerBytes, offset, Math.min(chunk.length, offset + prefixBytes - headerBytes));
					headerBytes += copied;
					offset += copied;
					if (headerBytes < prefixBytes) {
						return;
					}

					headerBytes = 0;
					size = header.readUIntBE(0, prefixBytes);
				}

				if (size > max) {
					skipBytes = size;
					sink.overflow(size, prefixBytes === 0
						? `Fixed message of ${size} bytes is over the ${max}-byte limit: skipping it`
						: `Declared length ${size} is over the ${max}-byte limit: skipping that many bytes`);
					continue;
				}

				frameSize = size;
			}

			const available = chunk.length - offset;
			if (pendingBytes === 0 && available >= frameSize) {
				const message = chunk.subarray(offset, offset + frameSize);
				offset += frameSize;
				frameSize = undefined;
				sink.message(message);
				continue;
			}

			const taken = Math.min(frameSize - pendingBytes, available);
			if (taken > 0) {
				const piece = chunk.subarray(offset, offset + taken);
				pending.push(isBorrowed ? Buffer.from(piece) : piece);
				pendingBytes += taken;
				offset += taken;
			}

			if (pendingBytes < frameSize) {
				return;
			}

			const message = Buffer.concat(pending, pendingBytes);
			pending.length = 0;
			pendingBytes = 0;
			frameSize = undefined;
			sink.message(message);
		}
	}

	return {
		push,
		get buffered() {
			return headerBytes + pendingBytes + (frameSize === undefined ? 0 : prefixBytes);
		},
	};
}
