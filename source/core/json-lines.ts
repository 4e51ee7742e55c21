import {performance} from 'node:perf_hooks';
import type {Readable, Writable} from 'node:stream';
import {commandFromJson} from './command-json.js';
import {eventToJson, executeCommand, reportBadCommand, type Command} from './commands.js';
import type {Core} from './core.js';
import {NetdashError} from './errors.js';
import type {EventOf} from './events.js';
import {LineReader, type LineGuard} from './line-reader.js';

/** Where the JSON-lines stream reads commands and writes events. */
export type JsonLinesOptions = {
	core: Core;
	input: Readable;
	output: Writable;
	/**
	 * Milliseconds the end may take: connections drain (then are destroyed),
	 * then output is flushed, all within this budget — so a reader that
	 * stopped reading cannot keep the process alive. @default 1500
	 */
	graceMs?: number;
	/**
	 * Longest command line, in bytes: a longer one gets `command-failed`
	 * (LINE_TOO_LONG) and is skipped up to its newline without being held.
	 * Enough for a `send` of 48 MiB in base64. @default 64 MiB
	 */
	maxLineBytes?: number;
	/**
	 * Bytes of events that may wait for a slow reader of `output`. Past it
	 * events are left out (counted, and reported by `output-shed` once the
	 * output drains) rather than held in memory. Little should ever reach it:
	 * while output is behind, stdin, TCP reading and sending pause and UDP
	 * drops. @default 8 MiB
	 */
	maxOutputBytes?: number;
};

const defaultGraceMs = 1500;
const defaultMaxLineBytes = 64 * 1024 * 1024;
const defaultMaxOutputBytes = 8 * 1024 * 1024;
/** Deepest nesting of arrays and objects in a command (the deepest command needs 2). */
export const maxCommandDepth = 16;
/** Characters of event lines gathered into one write at most (more are written at once). */
const batchChars = 64 * 1024;
/** Time output gets to flush even when draining the connections used the whole budget. */
const minFlushMs = 100;

/** A running JSON-lines session. */
export type JsonLinesSession = {
	/**
	 * Resolves when the session ended (quit, or stdin closed with no socket open); every socket is
	 * closed and output flushed (or given up on when its reader stopped reading). Its value is the
	 * exit code: 0, or 1 when stdin ended and the socket that ended last ended in a failure
	 * (refused, timed out, reset), as ncat does.
	 */
	readonly done: Promise<number>;
	/** End the session as `quit` does (signals use this); resolves with the exit code, 0. */
	quit(): Promise<number>;
};

/** The ref of a malformed command, when it is an object with a string `ref`. */
function refOf(parsed: unknown): string | null {
	const ref = typeof parsed === 'object' && parsed !== null ? (parsed as {ref?: unknown}).ref : undefined;
	return typeof ref === 'string' ? ref : null;
}

/**
 * Tracks how deep arrays and objects nest in a line of JSON as its bytes
 * arrive, so a line nested deeper than `limit` is refused before it is
 * whole and before JSON.parse sees it: a 20 MB line of `[` took JSON.parse
 * 11 s and 1.5 GiB, with every socket waiting. Bytes of UTF-8 sequences are
 * all ≥ 0x80, so a byte scan cannot mistake one for a bracket or a quote.
 */
export class JsonNestingGuard implements LineGuard {
	readonly #limit: number;
	#depth = 0;
	#isInString = false;
	#isEscaped = false;

	constructor(limit: number) {
		this.#limit = limit;
	}

	reset(): void {
		this.#depth = 0;
		this.#isInString = false;
		this.#isEscaped = false;
	}

	inspect(bytes: Buffer): string | undefined {
		for (let index = 0; index < bytes.length; index++) {
			const byte = bytes[index]!;
			if (this.#isInString) {
				if (this.#isEscaped) {
					this.#isEscaped = false;
				} else if (byte === 0x5c) {
					this.#isEscaped = true;
				} else if (byte === 0x22) {
					this.#isInString = false;
				}
			} else if (byte === 0x22) {
				this.#isInString = true;
			} else if (byte === 0x5b || byte === 0x7b) {
				if (++this.#depth > this.#limit) {
					return `a command nests arrays or objects deeper than ${this.#limit} levels`;
				}
			} else if ((byte === 0x5d || byte === 0x7d) && this.#depth > 0) {
				// Never below 0: stray closers first must not buy room for deeper nesting after.
				this.#depth--;
			}
		}

		return undefined;
	}
}

/** Parse one line of JSON, once; throws BAD_JSON. */
export function parseJsonLine(line: string): unknown {
	try {
		return JSON.parse(line);
	} catch {
		throw new NetdashError('BAD_JSON', `not a JSON object: ${line.length > 60 ? `${line.slice(0, 60)}…` : line}`);
	}
}

/**
 * netdash's scripting contract: every bus event is one JSON object per line
 * on `output`; commands are read one JSON object per line from `input`.
 * A malformed line gets `command-failed` and the stream goes on. EOF on
 * input does not end the session while sockets are open: it ends when the
 * last one closes.
 *
 * Memory stays bounded whoever is slow. While `output` is behind, stdin is
 * not read, connections neither read nor send, and UDP sockets drop and
 * count; past `maxOutputBytes` events are shed and reported. A `send` waits
 * (and stdin with it) until its connection's queue has room, and a
 * `sendfile` until the file is wholly queued: a script is slowed to the
 * peer's pace instead of refused.
 */
export function runJsonLines(options: JsonLinesOptions): JsonLinesSession {
	const {core, input, output} = options;
	// Under the stream's own high-water mark, write() would never say false and 'drain' never come.
	const maxOutputBytes = Math.max(options.maxOutputBytes ?? defaultMaxOutputBytes, output.writableHighWaterMark);
	let isEnding = false;
	let exitCode = 0;
	let shed: Pick<EventOf<'output-shed'>, 'events' | 'firstSeq' | 'lastSeq' | 'types'> | undefined;
	let finish: (code: number) => void;
	const done = new Promise<number>((resolve) => {
		finish = resolve;
	});

	const holdBack = (isHeld: boolean) => {
		// A slow reader of our output pushes back on stdin and on the peers (TCP flow control), not on our memory.
		core.holdReading('json-output', isHeld);
		reader.hold('json-output', isHeld);
	};

	const reader = new LineReader(input, {maxLineBytes: options.maxLineBytes ?? defaultMaxLineBytes, guard: new JsonNestingGuard(maxCommandDepth)}, {
		line(line) {
			if (!isEnding && line.trim() !== '') {
				take(line);
			}
		},
		refused(why) {
			reportBadCommand(
				core,
				why.kind === 'too-long'
					? new NetdashError('LINE_TOO_LONG', `a command line was longer than ${why.limitBytes} bytes: skipped up to its newline`)
					: new NetdashError('BAD_JSON', `${why.message}: skipped up to its newline`),
			);
		},
		end() {
			if (isEnding) {
				return; // quit closed the input.
			}

			// Counted after each socket is forgotten, so the last connection-closed is already written.
			void core.whenAllClosed().then(async () => {
				if (!isEnding) {
					exitCode = core.hasLastEndFailed ? 1 : 0;
				}

				return quit();
			});
		},
	});

	// Lines wait here until the end of this turn of the event loop, then go as one write: one write per
	// event was a write(2) to the pipe each, and took two thirds of the time of an auto-reply (issue 17).
	let pending = '';
	let isFlushScheduled = false;
	const flush = () => {
		isFlushScheduled = false;
		if (pending !== '') {
			const lines = pending;
			pending = '';
			if (!output.write(lines)) {
				holdBack(true);
			}
		}
	};

	// It borrows received bytes: each event is encoded as it comes.
	const unsubscribe = core.bus.subscribe((event) => {
		if (output.writableLength + pending.length >= maxOutputBytes) {
			// Whatever still comes (accepts, timers, discovery) is counted, not queued.
			shed ??= {events: 0, firstSeq: event.seq, lastSeq: event.seq, types: {}};
			shed.events++;
			shed.lastSeq = event.seq;
			shed.types[event.type] = (shed.types[event.type] ?? 0) + 1;
		} else {
			pending += eventToJson(event) + '\n';
			if (pending.length >= batchChars) {
				flush();
			} else if (!isFlushScheduled) {
				isFlushScheduled = true;
				setImmediate(flush);
			}
		}
	}, {borrows: true});
	output.on('drain', () => {
		holdBack(false);
		if (shed) {
			const report = shed;
			shed = undefined;
			core.bus.emit({type: 'output-shed', output: 'stdout', ...report});
		}
	});
	output.on('error', () => {
		// A closed stdout (the reader went away) ends the session; it is not a crash.
		void quit();
	});

	/** Parse a line once, then carry it out: now, or once its connection's queue has room. */
	function take(line: string): void {
		let parsed: unknown;
		let command: Command;
		try {
			parsed = parseJsonLine(line);
		} catch (error) {
			reportBadCommand(core, error);
			return;
		}

		try {
			command = commandFromJson(parsed);
		} catch (error) {
			reportBadCommand(core, error, refOf(parsed));
			return;
		}

		const room = command.cmd === 'send' ? core.whenQueueHasRoom(command.connection, command.bytes.length) : undefined;
		if (room) {
			// Later lines wait too, so commands keep their order.
			reader.hold('send-queue', true);
			void room.then(() => {
				run(command);
				reader.hold('send-queue', false);
			});
		} else {
			run(command);
		}
	}

	function run(command: Command): void {
		if (isEnding) {
			return;
		}

		if (executeCommand(core, command)) {
			void quit();
			return;
		}

		const sending = command.cmd === 'sendfile' ? core.whenFileSent(command.connection) : undefined;
		if (sending) {
			reader.hold('sendfile', true);
			void sending.then(() => {
				reader.hold('sendfile', false);
			});
		}
	}

	async function quit(): Promise<number> {
		if (isEnding) {
			return done;
		}

		isEnding = true;
		reader.close();
		const graceMs = options.graceMs ?? defaultGraceMs;
		const deadline = performance.now() + graceMs;
		await core.closeAll(graceMs);
		unsubscribe();
		flush();
		core.holdReading('json-output', false);
		// Resolve once everything written so far has reached the stream's destination, or when the
		// budget is spent: a reader that stopped reading (a stuck `| consumer`) would otherwise hold
		// SIGINT, SIGTERM and quit forever.
		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, Math.max(minFlushMs, deadline - performance.now()));
			output.write('', () => {
				clearTimeout(timer);
				resolve();
			});
		});
		finish(exitCode);
		return done;
	}

	return {done, quit};
}
