import {closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, type Stats} from 'node:fs';
import os from 'node:os';
import type {CommandRecord, Core} from '../core.js';
import {NetdashError} from '../errors.js';
import {startCaptureWorker} from './capture-worker.js';
import {openCaptureFile} from './open-file.js';

export {maxLagBytes, maxLagMs} from './capture-worker.js';

/** An open `--log` file. */
export type LogFile = {
	/** Flush what is written and close the file (given up after a few seconds when its reader stopped reading). */
	close(): Promise<void>;
};

/** How to open a `--log` file. */
export type LogFileOptions = {
	/** Write to a FIFO, device or socket too (`--log-allow-special`); otherwise only a regular file is accepted. */
	allowSpecial?: boolean;
	/** For the `session-started` record: netdash's version and its command-line arguments. */
	version?: string;
	arguments?: readonly string[];
	/** Bytes on their way to disk past which events are left out and counted. @default 128 MiB */
	maxQueuedBytes?: number;
};

/**
 * Bytes on their way to disk past which events are left out (counted, then
 * reported by `output-shed` once the file catches up): what pausing the
 * sockets does not stop (commands, accepts, timers) cannot grow memory.
 */
export const defaultMaxQueuedBytes = 128 * 1024 * 1024;

/**
 * Cut a partial last line (from a run killed mid-write: the kernel may stop a
 * write part way for SIGKILL) so the next record starts on its own line.
 * Returns the bytes cut.
 */
function truncateToLastLine(path: string, fd: number, stats: Stats): number {
	if (stats.size === 0) {
		return 0;
	}

	// The write descriptor cannot read: open the same file again, and make sure it is the same file.
	const reader = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
	try {
		const again = fstatSync(reader);
		if (again.ino !== stats.ino || again.dev !== stats.dev) {
			throw new NetdashError('LOG_CHANGED', `cannot open the log file ${path}: it was replaced while being opened`);
		}

		const chunk = Buffer.alloc(64 * 1024);
		for (let end = stats.size; end > 0; ) {
			const start = Math.max(0, end - chunk.length);
			const read = readSync(reader, chunk, 0, end - start, start);
			const newline = chunk.subarray(0, read).lastIndexOf(0x0a);
			if (newline !== -1) {
				const keep = start + newline + 1;
				if (keep < stats.size) {
					ftruncateSync(fd, keep);
				}

				return stats.size - keep;
			}

			end = start;
		}

		ftruncateSync(fd, 0);
		return stats.size;
	} finally {
		closeSync(reader);
	}
}

/**
 * `--log FILE`: one JSON line per record, payloads as base64, so a session
 * is kept whole although on-screen logs are bounded. The file is pure ASCII
 * and holds no control bytes (JSON escapes them). Each run starts with a
 * `session-started` record (version, arguments, start time, host), then
 * every bus event and every command the core is given (`type: "command"`),
 * in order, so a file holding several runs can be split at those records
 * and read back.
 *
 * The file is opened safely (open-file.ts); a regular file whose last line
 * was cut (a SIGKILL mid-write) is first truncated back to its last whole
 * line. Encoding and writing run on a worker thread (capture-worker.ts,
 * log-writer.ts). If writing fails (disk full, permission),
 * `log-file-failed` says so once and the session goes on without the file.
 * Throws NetdashError when the file cannot be opened.
 */
export function openLogFile(core: Core, path: string, options: LogFileOptions = {}): LogFile {
	const {fd, stats, repairedBytes} = openCaptureFile(
		path,
		{noun: 'log file', flag: '--log', code: 'LOG', allowSpecialFlag: '--log-allow-special'},
		{allowSpecial: options.allowSpecial ?? false, mode: 'append', repair: (fd, stats) => truncateToLastLine(path, fd, stats)},
	);
	const writer = startCaptureWorker(core, {
		fd,
		stats,
		path,
		writer: 'log-writer',
		output: 'log',
		maxQueuedBytes: options.maxQueuedBytes ?? defaultMaxQueuedBytes,
		failed: (code, message) => ({type: 'log-file-failed', path, code, message: `cannot write the log file ${path}: ${message} — the session goes on without it`}),
	});
	const startedAt = new Date();
	writer.add({
		type: 'session-started',
		at: startedAt.getTime(),
		startedAt: startedAt.toISOString(),
		version: options.version ?? 'unknown',
		arguments: options.arguments ?? [],
		host: os.hostname(),
		pid: process.pid,
		// A previous run's last line, cut by a SIGKILL mid-write, was removed before this one.
		...(repairedBytes > 0 ? {repairedBytes} : {}),
	});
	// It borrows received bytes: the writer copies each payload into its batch as the event comes.
	const unsubscribe = core.bus.subscribe((event) => {
		writer.addEvent(event);
	}, {borrows: true});
	const unsubscribeCommands = core.onCommand((record: CommandRecord) => {
		writer.add(record);
	});
	writer.onStop = () => {
		unsubscribe();
		unsubscribeCommands();
	};

	return {
		async close() {
			unsubscribe();
			unsubscribeCommands();
			await writer.close();
		},
	};
}
