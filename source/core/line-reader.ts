import type {Readable} from 'node:stream';

/**
 * Looks at a line's bytes as they arrive, so a line can be refused before
 * it is whole (and before anything parses it).
 */
export type LineGuard = {
	/** A new line starts. */
	reset(): void;
	/** The line's next bytes: why the line is refused, or undefined. */
	inspect(bytes: Buffer): string | undefined;
};

/** Why a line was refused: over the size limit, or by the guard. */
export type RefusedLine = {kind: 'too-long'; limitBytes: number} | {kind: 'guard'; message: string};

/** What a LineReader reports. */
export type LineReaderHandlers = {
	/** One complete line, without its LF (nor a CR before it), decoded as UTF-8. */
	line(text: string): void;
	/** A line passed the limit or was refused by the guard: it is dropped up to its LF, and this is called once for it. */
	refused(why: RefusedLine): void;
	/** The input ended (or failed); a last line without LF was delivered first. */
	end(): void;
};

/**
 * Splits a stream into lines with a bound on a line's size, and can be held:
 * while any holder holds it, no line is delivered and the input is paused,
 * so the writer of the input is slowed down by the pipe instead of growing
 * our memory. Replaces `readline`, which buffers a line of any length (a
 * 512 MiB line crashed it with a RangeError) and delivers every line of a
 * chunk at once, however slow the consumer.
 */
export class LineReader {
	readonly #input: Readable;
	readonly #maxLineBytes: number;
	readonly #handlers: LineReaderHandlers;
	readonly #guard: LineGuard | undefined;
	readonly #holds = new Set<string>();
	/** The chunk being split, and where its unread part starts. */
	#chunk: Buffer | undefined;
	#offset = 0;
	/** Pieces of the line not yet ended by an LF. */
	#parts: Buffer[] = [];
	#partBytes = 0;
	/** True from a line's passing the limit until its LF: its bytes are dropped as they come. */
	#isSkipping = false;
	#isEnded = false;
	#isClosed = false;

	constructor(input: Readable, options: {maxLineBytes: number; guard?: LineGuard}, handlers: LineReaderHandlers) {
		this.#input = input;
		this.#maxLineBytes = options.maxLineBytes;
		this.#guard = options.guard;
		this.#guard?.reset();
		this.#handlers = handlers;
		input.on('data', this.#onData);
		input.on('end', this.#onEnd);
		// A failed or destroyed stdin is its end: the session goes on with its sockets.
		input.on('error', this.#onEnd);
		input.on('close', this.#onEnd);
	}

	/** True while a holder holds the reader. */
	get isHeld(): boolean {
		return this.#holds.size > 0;
	}

	/** Hold or release: reading stays paused while any holder holds it. */
	hold(holder: string, isHeld: boolean): void {
		if (isHeld) {
			this.#holds.add(holder);
			this.#input.pause();
			return;
		}

		if (this.#holds.delete(holder) && this.#holds.size === 0) {
			this.#split();
		}
	}

	/** Stop reading for good: no more lines, no `end`. */
	close(): void {
		this.#isClosed = true;
		this.#chunk = undefined;
		this.#parts = [];
		this.#input.off('data', this.#onData);
		this.#input.pause();
	}

	readonly #onData = (chunk: Buffer | string): void => {
		// One chunk at a time: the next waits in the stream (and the pipe) until this one is split.
		this.#input.pause();
		this.#chunk = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
		this.#offset = 0;
		this.#split();
	};

	readonly #onEnd = (): void => {
		if (this.#isEnded) {
			return;
		}

		this.#isEnded = true;
		this.#split();
	};

	/** Deliver the lines of the current chunk until it is used up or the reader is held. */
	#split(): void {
		while (this.#chunk && !this.isHeld && !this.#isClosed) {
			const chunk = this.#chunk;
			const newline = chunk.indexOf(0x0a, this.#offset);
			if (newline === -1) {
				this.#take(chunk.subarray(this.#offset));
				this.#chunk = undefined;
				break;
			}

			const piece = chunk.subarray(this.#offset, newline);
			this.#offset = newline + 1;
			if (this.#offset >= chunk.length) {
				this.#chunk = undefined;
			}

			if (this.#isSkipping) {
				this.#newLine();
				continue;
			}

			if (this.#take(piece)) {
				this.#deliver();
			}

			this.#newLine();
		}

		if (this.#chunk || this.isHeld || this.#isClosed) {
			return;
		}

		if (this.#isEnded) {
			this.#finish();
		} else {
			this.#input.resume();
		}
	}

	/** Add bytes to the line being built; false when the line is refused (it is then dropped up to its LF). */
	#take(piece: Buffer): boolean {
		if (this.#isSkipping || piece.length === 0) {
			return !this.#isSkipping;
		}

		if (this.#partBytes + piece.length > this.#maxLineBytes) {
			this.#refuse({kind: 'too-long', limitBytes: this.#maxLineBytes});
			return false;
		}

		const message = this.#guard?.inspect(piece);
		if (message !== undefined) {
			this.#refuse({kind: 'guard', message});
			return false;
		}

		this.#parts.push(piece);
		this.#partBytes += piece.length;
		return true;
	}

	#refuse(why: RefusedLine): void {
		this.#parts = [];
		this.#partBytes = 0;
		this.#isSkipping = true;
		this.#handlers.refused(why);
	}

	/** After an LF: the next line starts clean. */
	#newLine(): void {
		this.#isSkipping = false;
		this.#guard?.reset();
	}

	#deliver(): void {
		const parts = this.#parts;
		const bytes = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.#partBytes);
		this.#parts = [];
		this.#partBytes = 0;
		// CRLF is one line end (what readline's crlfDelay: Infinity did).
		const end = bytes.length > 0 && bytes.at(-1) === 0x0d ? bytes.length - 1 : bytes.length;
		this.#handlers.line(bytes.toString('utf8', 0, end));
	}

	#finish(): void {
		if (this.#isClosed) {
			return;
		}

		this.#isClosed = true;
		if (this.#partBytes > 0 && !this.#isSkipping) {
			this.#deliver();
		}

		this.#input.off('data', this.#onData);
		this.#handlers.end();
	}
}
