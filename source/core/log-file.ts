import {createWriteStream, type WriteStream} from 'node:fs';
import {eventToJson} from './commands.js';
import type {Core} from './core.js';
import {errorCode, oneLine} from './errors.js';

/** An open `--log` file. */
export type LogFile = {
	/** Flush what is written and close the file. */
	close(): Promise<void>;
};

/**
 * `--log FILE`: every bus event appended as one JSON line, payloads as
 * base64, so a session is kept whole although on-screen logs are bounded.
 * The file holds no raw control bytes (JSON escapes them). If the disk is
 * slower than the network, reading pauses until it catches up; if writing
 * fails (disk full, permission), `log-file-failed` says so once and the
 * session goes on without the file.
 */
export function openLogFile(core: Core, path: string): LogFile {
	// A deep buffer lets the disk and the network work at once; at the default 16 KiB every batch
	// would pause the sockets until the disk caught up.
	let stream: WriteStream | undefined = createWriteStream(path, {flags: 'a', highWaterMark: 8 * 1024 * 1024});
	const stop = (error: unknown) => {
		if (!stream) {
			return;
		}

		stream = undefined;
		unsubscribe();
		core.holdReading('log-file', false);
		core.bus.emit({
			type: 'log-file-failed',
			path,
			code: errorCode(error),
			message: `cannot write the log file ${path}: ${oneLine(error)} — the session goes on without it`,
		});
	};

	stream.on('error', stop);
	stream.on('drain', () => {
		core.holdReading('log-file', false);
	});

	// Lines wait for the end of this turn of the event loop and go out as one write: a write per
	// event would cost a stream round and a syscall per received chunk.
	let lines: string[] = [];
	let isFlushQueued = false;
	const flush = () => {
		isFlushQueued = false;
		const batch = lines;
		lines = [];
		// eventToJson writes pure ASCII, so latin1 encodes it with a plain copy.
		if (stream && batch.length > 0 && !stream.write(batch.join(''), 'latin1')) {
			core.holdReading('log-file', true);
		}
	};

	const unsubscribe = core.bus.subscribe((event) => {
		if (!stream) {
			return;
		}

		lines.push(eventToJson(event) + '\n');
		if (!isFlushQueued) {
			isFlushQueued = true;
			setImmediate(flush);
		}
	});

	return {
		async close() {
			const open = stream;
			if (!open) {
				return;
			}

			unsubscribe();
			flush();
			stream = undefined;
			core.holdReading('log-file', false);
			await new Promise<void>((resolve) => {
				open.end(resolve);
			});
		},
	};
}
