import {closeSync, constants, fstatSync, ftruncateSync, openSync, readSync, statSync, type Stats} from 'node:fs';
import os from 'node:os';
import {performance} from 'node:perf_hooks';
import {Worker} from 'node:worker_threads';
import {asciiJson} from './commands.js';
import type {CommandRecord, Core} from './core.js';
import {NetdashError} from './errors.js';
import type {FromWriter, ToWriter, WriterData} from './log-writer.js';

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
const defaultMaxQueuedBytes = 128 * 1024 * 1024;

/**
 * The most the log may lag what has happened (what a SIGKILL can lose):
 * records not yet on disk, in bytes of payload and JSON, and the age of the
 * oldest batch not yet written. Past either, reading from sockets pauses
 * until the writer catches up. Small on purpose: the writer keeps up with
 * loopback in 1 MiB steps, so a bigger window only buys a bigger loss.
 */
export const maxLagBytes = 1024 * 1024;
export const maxLagMs = 100;
/**
 * How long closing waits for the writer of a FIFO, device or socket (one whose reader stopped
 * would hold quit forever). A regular file is always waited for: its writes cannot block for
 * good, and giving up on it would lose the end of the session.
 */
const closeDeadlineMs = 2000;

/**
 * Open the file for `--log`, safely: the final path component must not be a
 * symbolic link (O_NOFOLLOW, so a planted link cannot aim root's log at
 * another file); a file netdash creates is 0600 (it holds every payload);
 * O_NONBLOCK, so a FIFO with no reader fails at once (ENXIO) instead of
 * hanging; anything but a regular file needs `allowSpecial`. A regular file
 * whose last line was cut (a SIGKILL mid-write) is first truncated back to
 * its last whole line. Throws NetdashError with one line.
 */
function openSafely(path: string, allowSpecial: boolean): {fd: number; stats: Stats; repairedBytes: number} {
	let fd: number;
	try {
		fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
	} catch (error) {
		const {code, message} = error as NodeJS.ErrnoException;
		if (code === 'ENXIO' && !allowSpecial) {
			// A FIFO without a reader (or a socket): refused for what it is, reader or not.
			throw new NetdashError('LOG_NOT_REGULAR', `cannot open the log file ${path}: it is ${kindOf(statSync(path, {throwIfNoEntry: false}))}; add --log-allow-special to write to it`);
		}

		const why =
			code === 'ELOOP'
				? 'it is a symbolic link, and --log does not follow one (name the file it points to)'
				: code === 'ENXIO'
					? 'it is a FIFO that nobody is reading'
					: code === 'ENOENT'
						? 'its folder does not exist (ENOENT)'
						: code === 'EACCES' || code === 'EPERM'
							? `permission denied (${code})`
							: code === 'EISDIR'
								? 'it is a folder (EISDIR)'
								: String(message).split('\n', 1)[0]!;
		throw new NetdashError(code ?? 'LOG_FAILED', `cannot open the log file ${path}: ${why}`);
	}

	try {
		const stats = fstatSync(fd);
		if (!stats.isFile() && !allowSpecial) {
			throw new NetdashError('LOG_NOT_REGULAR', `cannot open the log file ${path}: it is ${kindOf(stats)}; add --log-allow-special to write to it`);
		}

		return {fd, stats, repairedBytes: stats.isFile() ? truncateToLastLine(path, fd, stats) : 0};
	} catch (error) {
		closeSync(fd);
		throw error;
	}
}

function kindOf(stats: Stats | undefined): string {
	return stats?.isFIFO() ? 'a FIFO' : stats?.isCharacterDevice() ? 'a character device' : stats?.isBlockDevice() ? 'a block device' : stats?.isSocket() ? 'a socket' : 'not a regular file';
}

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
 * Encoding and writing run on a worker thread (log-writer.ts): this side
 * only copies each loop turn's payloads into one buffer and hands it over,
 * so capture costs the event loop a memcpy, not base64 and disk time. At
 * most maxLagBytes / maxLagMs of records are on their way to disk: past
 * that, reading pauses until the writer catches up. If writing fails (disk
 * full, permission), `log-file-failed` says so once and the session goes on
 * without the file. Throws NetdashError when the file cannot be opened.
 */
export function openLogFile(core: Core, path: string, options: LogFileOptions = {}): LogFile {
	const {fd, stats, repairedBytes} = openSafely(path, options.allowSpecial ?? false);
	const workerData: WriterData = {fd, isRegular: stats.isFile()};
	const maxQueuedBytes = options.maxQueuedBytes ?? defaultMaxQueuedBytes;
	// Under the test runner this module is the TypeScript source; Node runs the .ts writer by type stripping.
	const writerUrl = new URL(import.meta.url.endsWith('.ts') ? './log-writer.ts' : './log-writer.js', import.meta.url);
	const worker = new Worker(writerUrl, {workerData});
	worker.unref();
	let isFdClosed = false;
	let heads: string[] = [];
	let lengths: number[] = [];
	let payloads: Buffer[] = [];
	let payloadBytes = 0;
	let cost = 0;
	let inFlight = 0;
	/** When each batch still on its way to disk was handed over, oldest first. */
	const postedAt: number[] = [];
	let isHolding = false;
	let isFlushQueued = false;
	let isOpen = true;
	let onClosed: (() => void) | undefined;
	let shed: {events: number; firstSeq: number; lastSeq: number; types: Record<string, number>} | undefined;

	const hold = (isHeld: boolean) => {
		if (isHolding !== isHeld) {
			isHolding = isHeld;
			core.holdReading('log-file', isHeld);
		}
	};

	const isLagging = () => inFlight + cost >= maxLagBytes || (postedAt.length > 0 && performance.now() - postedAt[0]! > maxLagMs);

	/** Only this thread closes the file, once the writer is done with it or gone: never twice, never a reused number. */
	const releaseFd = () => {
		if (!isFdClosed) {
			isFdClosed = true;
			closeSync(fd);
		}
	};

	const stop = (code: string, message: string) => {
		if (!isOpen) {
			return;
		}

		isOpen = false;
		unsubscribe();
		unsubscribeCommands();
		hold(false);
		void worker.terminate().then(releaseFd);
		core.bus.emit({type: 'log-file-failed', path, code, message: `cannot write the log file ${path}: ${message} — the session goes on without it`});
	};

	worker.on('message', (message: FromWriter) => {
		if (message.kind === 'written') {
			inFlight -= message.cost;
			postedAt.shift();
			if (isHolding && !isLagging()) {
				hold(false);
			}

			if (shed && isOpen && !isLagging()) {
				const report = shed;
				shed = undefined;
				core.bus.emit({type: 'output-shed', output: 'log', ...report});
			}
		} else if (message.kind === 'failed') {
			stop(message.code, message.message);
		} else {
			releaseFd();
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
		postedAt.push(performance.now());
		heads = [];
		lengths = [];
		payloads = [];
		payloadBytes = 0;
		cost = 0;
	};

	/** Queue one record; a batch leaves every loop turn, or at once when it reaches maxLagBytes. */
	const add = (record: object) => {
		if ('data' in record) {
			const {data, ...rest} = record as {data: Buffer};
			heads.push(asciiJson(rest));
			lengths.push(data.length);
			payloads.push(data);
			payloadBytes += data.length;
			cost += data.length;
		} else {
			const head = asciiJson(record);
			heads.push(head);
			lengths.push(-1);
			cost += head.length;
		}

		if (!isHolding && isLagging()) {
			hold(true);
		}

		if (cost >= maxLagBytes) {
			flush();
		} else if (!isFlushQueued) {
			isFlushQueued = true;
			setImmediate(flush);
		}
	};

	const startedAt = new Date();
	add({
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
	const unsubscribe = core.bus.subscribe((event) => {
		if (inFlight + cost >= maxQueuedBytes) {
			shed ??= {events: 0, firstSeq: event.seq, lastSeq: event.seq, types: {}};
			shed.events++;
			shed.lastSeq = event.seq;
			shed.types[event.type] = (shed.types[event.type] ?? 0) + 1;
			return;
		}

		add(event);
	});
	const unsubscribeCommands = core.onCommand((record: CommandRecord) => {
		add(record);
	});

	return {
		async close() {
			if (!isOpen) {
				return;
			}

			unsubscribe();
			unsubscribeCommands();
			flush();
			isOpen = false;
			hold(false);
			let timer: NodeJS.Timeout | undefined;
			const closed = new Promise<void>((resolve) => {
				onClosed = resolve;
				worker.once('exit', () => {
					releaseFd();
					resolve();
				});
				if (!stats.isFile()) {
					timer = setTimeout(() => {
						// The writer is stuck (a FIFO nobody reads): give the rest up rather than hang quit.
						void worker.terminate().then(() => {
							releaseFd();
							resolve();
						});
					}, closeDeadlineMs);
				}
			});
			worker.postMessage({kind: 'close'} satisfies ToWriter);
			await closed;
			clearTimeout(timer);
		},
	};
}
