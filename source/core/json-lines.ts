import {performance} from 'node:perf_hooks';
import readline from 'node:readline';
import type {Readable, Writable} from 'node:stream';
import {eventToJson, executeCommand, parseJsonCommand, reportBadCommand} from './commands.js';
import type {Core} from './core.js';

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
};

const defaultGraceMs = 1500;
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

/** The ref of a malformed command line, when the line is JSON with a string `ref`. */
function refOf(line: string): string | null {
	try {
		const parsed: unknown = JSON.parse(line);
		const ref = typeof parsed === 'object' && parsed !== null ? (parsed as {ref?: unknown}).ref : undefined;
		return typeof ref === 'string' ? ref : null;
	} catch {
		return null;
	}
}

/**
 * netdash's scripting contract: every bus event is one JSON object per line
 * on `output`; commands are read one JSON object per line from `input`.
 * A malformed line gets `command-failed` and the stream goes on. EOF on
 * input does not end the session while sockets are open: it ends when the
 * last one closes.
 */
export function runJsonLines(options: JsonLinesOptions): JsonLinesSession {
	const {core, input, output} = options;
	let isEnding = false;
	let exitCode = 0;
	let finish: (code: number) => void;
	const done = new Promise<number>((resolve) => {
		finish = resolve;
	});

	const unsubscribe = core.bus.subscribe((event) => {
		if (!output.write(eventToJson(event) + '\n')) {
			// A slow reader of our output pushes back on the peers (TCP flow control), not on our memory.
			core.holdReading('json-output', true);
		}
	});
	output.on('drain', () => {
		core.holdReading('json-output', false);
	});
	output.on('error', () => {
		// A closed stdout (the reader went away) ends the session; it is not a crash.
		void quit();
	});

	const lines = readline.createInterface({input, crlfDelay: Number.POSITIVE_INFINITY});
	lines.on('line', (line) => {
		if (isEnding || line.trim() === '') {
			return;
		}

		let command;
		try {
			command = parseJsonCommand(line);
		} catch (error) {
			reportBadCommand(core, error, refOf(line));
			return;
		}

		if (executeCommand(core, command)) {
			void quit();
		}
	});
	lines.on('close', () => {
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
	});

	async function quit(): Promise<number> {
		if (isEnding) {
			return done;
		}

		isEnding = true;
		lines.close();
		const graceMs = options.graceMs ?? defaultGraceMs;
		const deadline = performance.now() + graceMs;
		await core.closeAll(graceMs);
		unsubscribe();
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
