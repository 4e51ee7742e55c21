import {closeSync, openSync} from 'node:fs';
import {Worker} from 'node:worker_threads';
import {NetdashError, errorCode, oneLine} from './errors.js';
import {asciiJson} from './commands.js';
import type {Core} from './core.js';
import type {FromWriter, ToWriter} from './log-writer.js';

/** An open `--log` file. */
export type LogFile = {
	/** Flush what is written and close the file. */
	close(): Promise<void>;
};

/** Bytes on their way to disk past which reading pauses, and under which it resumes. */
const highWater = 32 * 1024 * 1024;
const lowWater = 8 * 1024 * 1024;
/**
 * `--log FILE`: every bus event appended as one JSON line, payloads as
 * base64, so a session is kept whole although on-screen logs are bounded.
 * The file is pure ASCII and holds no control bytes (JSON escapes them).
 *
 * Encoding and writing run on a worker thread (log-writer.ts): this side
 * only copies each loop turn's payloads into one buffer and hands it over,
 * so capture costs the event loop a memcpy, not base64 and disk time. If
 * the disk is slower than the network, reading pauses until it catches up;
 * if writing fails (disk full, permission), `log-file-failed` says so once
 * and the session goes on without the file.
 */
export function openLogFile(core: Core, path: string): LogFile {
	// Under the test runner this module is the TypeScript source; Node runs the .ts writer by type stripping.
	const writerUrl = new URL(import.meta.url.endsWith('.ts') ? './log-writer.ts' : './log-writer.js', import.meta.url);
	const worker = new Worker(writerUrl, {workerData: {path}});
	worker.unref();
	let heads: string[] = [];
	let lengths: number[] = [];
	let payloads: Buffer[] = [];
	let payloadBytes = 0;
	let cost = 0;
	let inFlight = 0;
	let isFlushQueued = false;
	let isOpen = true;
	let onClosed: (() => void) | undefined;

	const stop = (code: string, message: string) => {
		if (!isOpen) {
			return;
		}

		isOpen = false;
		unsubscribe();
		core.holdReading('log-file', false);
		void worker.terminate();
		core.bus.emit({type: 'log-file-failed', path, code, message: `cannot write the log file ${path}: ${message} — the session goes on without it`});
	};

	worker.on('message', (message: FromWriter) => {
		if (message.kind === 'written') {
			inFlight -= message.cost;
			if (inFlight < lowWater) {
				core.holdReading('log-file', false);
			}
		} else if (message.kind === 'failed') {
			stop(message.code, message.message);
		} else {
			onClosed?.();
		}
	});
	worker.on('error', (error: NodeJS.ErrnoException) => {
		stop(error.code ?? 'WORKER_FAILED', String(error.message).split('\n', 1)[0]!);
	});

	const flush = () => {
		isFlushQueued = false;
		if (heads.length === 0 || !isOpen) {
			return;
		}

		// One copy into a buffer the worker takes over: the sockets' own buffers cannot be handed
		// over, a framer may still hold them.
		const blob = Buffer.allocUnsafeSlow(payloadBytes);
		let offset = 0;
		for (const payload of payloads) {
			offset += payload.copy(blob, offset);
		}

		const batch: ToWriter = {kind: 'batch', heads, lengths, blob, cost};
		worker.postMessage(batch, [blob.buffer]);
		inFlight += cost;
		if (inFlight > highWater) {
			core.holdReading('log-file', true);
		}

		heads = [];
		lengths = [];
		payloads = [];
		payloadBytes = 0;
		cost = 0;
	};

	const unsubscribe = core.bus.subscribe((event) => {
		if ('data' in event) {
			const {data, ...rest} = event;
			heads.push(asciiJson(rest));
			lengths.push(data.length);
			payloads.push(data);
			payloadBytes += data.length;
			cost += data.length;
		} else {
			const head = asciiJson(event);
			heads.push(head);
			lengths.push(-1);
			cost += head.length;
		}

		if (!isFlushQueued) {
			isFlushQueued = true;
			setImmediate(flush);
		}
	});

	return {
		async close() {
			if (!isOpen) {
				return;
			}

			unsubscribe();
			flush();
			isOpen = false;
			core.holdReading('log-file', false);
			const closed = new Promise<void>((resolve) => {
				onClosed = resolve;
				worker.once('exit', () => {
					resolve();
				});
			});
			worker.postMessage({kind: 'close'} satisfies ToWriter);
			await closed;
		},
	};
}

/**
 * Open `path` for appending once, at start, and close it again: a path that
 * cannot be opened (missing folder, no permission) is a usage error the CLI
 * reports before anything runs (exit 2), not an event once the session is
 * under way. Creates the file, as the log would.
 *
 * @throws NetdashError `BAD_LOG_FILE` with one line naming the path and the reason.
 */
export function checkLogPath(path: string): void {
	try {
		closeSync(openSync(path, 'a'));
	} catch (error) {
		const code = errorCode(error);
		const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EISDIR' ? 'it is a folder' : oneLine(error);
		throw new NetdashError('BAD_LOG_FILE', `--log cannot open ${path}: ${why} (${code})`, {cause: error});
	}
}
