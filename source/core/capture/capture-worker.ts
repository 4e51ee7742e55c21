import {closeSync, type Stats} from 'node:fs';
import {performance} from 'node:perf_hooks';
import {Worker} from 'node:worker_threads';
import {asciiJson} from '../commands.js';
import type {Core} from '../core.js';
import type {BusEvent, EventInput} from '../events.js';
import type {FromWriter, ToWriter, WriterData} from './log-writer.js';

/**
 * The most a capture file may lag what has happened (what a SIGKILL can
 * lose): records not yet on disk, in bytes of payload and JSON, and the age
 * of the oldest batch not yet written. Past either, reading from sockets
 * pauses until the writer catches up. Small on purpose: the writer keeps up
 * with loopback in 1 MiB steps, so a bigger window only buys a bigger loss.
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
 * Payload memory both threads see: a batch's payloads are copied into a
 * free slot and only the slot's number crosses, and the writer gives it
 * back once written. Nothing is allocated or transferred per batch (fresh
 * buffers cost page faults, and each one handed over counts as new external
 * memory, which brings V8's collections forward). A batch that finds no
 * free slot, or does not fit one, takes a buffer of its own as before.
 */
const slotBytes = 1024 * 1024;
const slotCount = 6;

/** One writer thread and the file it writes. */
export type CaptureWorkerOptions = {
	/** The open descriptor (open-file.ts); closed here once the writer is done with it. */
	fd: number;
	stats: Stats;
	path: string;
	/** The writer module beside this one (`log-writer`, `pcap-writer`). */
	writer: string;
	/** Which output it is, for `output-shed` and the reading hold. */
	output: 'log' | 'pcap';
	/** Bytes on their way to disk past which events are left out and counted. */
	maxQueuedBytes: number;
	/** The event that says writing failed (once); the session goes on without the file. */
	failed: (code: string, message: string) => EventInput;
	/**
	 * A batch leaves once it holds `bytes`, or `delayMs` after its first
	 * record (0: at the end of the loop turn). @default {bytes: maxLagBytes, delayMs: 0}
	 */
	batch?: {bytes: number; delayMs: number};
};

/** The main-thread side of a capture writer. */
export type CaptureWorker = {
	/** Queue one record (`data`, when present, is carried as bytes); a batch leaves every loop turn, or at once at maxLagBytes. */
	add(record: object): void;
	/** Whether records are still taken (false once writing failed or closing began). */
	isOpen(): boolean;
	/** Bytes queued or on their way to disk. */
	queuedBytes(): number;
	/** Queue a bus event, or leave it out (counted, reported by `output-shed` once the file catches up) while maxQueuedBytes are queued. */
	addEvent(event: BusEvent): void;
	/** Flush what is queued and close the file. */
	close(): Promise<void>;
	/** Set by the owner: called once when writing fails. */
	onStop?: () => void;
};

/**
 * Start a writer thread on an open file: this side only copies each loop
 * turn's payloads into one buffer and hands it over with the records' JSON,
 * so capture costs the event loop a memcpy, not encoding and disk time. At
 * most maxLagBytes / maxLagMs of records are on their way to disk: past
 * that, reading pauses until the writer catches up. If writing fails (disk
 * full, permission), `failed` is emitted once and the session goes on.
 * Shared by `--log` (log-writer.ts) and `--pcap` (pcap-writer.ts).
 */
export function startCaptureWorker(core: Core, options: CaptureWorkerOptions): CaptureWorker {
	const {fd, stats} = options;
	const {bytes: batchBytes, delayMs: batchDelayMs} = options.batch ?? {bytes: maxLagBytes, delayMs: 0};
	const slots = Array.from({length: slotCount}, () => new SharedArrayBuffer(slotBytes));
	const freeSlots = slots.map((_, index) => index);
	const workerData: WriterData = {fd, isRegular: stats.isFile(), slots};
	// Under the test runner this module is the TypeScript source; Node runs the .ts writer by type stripping.
	const writerUrl = new URL(import.meta.url.endsWith('.ts') ? `./${options.writer}.ts` : `./${options.writer}.js`, import.meta.url);
	const worker = new Worker(writerUrl, {workerData});
	worker.unref();
	const holdName = `${options.output}-file`;
	let isFdClosed = false;
	let heads: string[] = [];
	let lengths: number[] = [];
	/**
	 * Where this batch's payloads are copied as they come (a received chunk may be the shared
	 * read buffer, reused once its event is delivered: tcp/shared-reads.ts): a free slot, or a
	 * buffer of its own when none is free or the batch outgrows it.
	 */
	let staging: {slot: number | undefined; buffer: Buffer} | undefined;
	let payloadBytes = 0;
	let cost = 0;
	let inFlight = 0;
	/** When each batch still on its way to disk was handed over, oldest first. */
	const postedAt: number[] = [];
	let isHolding = false;
	let flushTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
	let isOpen = true;
	let onClosed: (() => void) | undefined;
	let pendingShed: {events: number; firstSeq: number; lastSeq: number; types: Record<string, number>} | undefined;

	const hold = (isHeld: boolean) => {
		if (isHolding !== isHeld) {
			isHolding = isHeld;
			core.holdReading(holdName, isHeld);
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
		handle.onStop?.();
		hold(false);
		void worker.terminate().then(releaseFd);
		core.bus.emit(options.failed(code, message));
	};

	worker.on('message', (message: FromWriter) => {
		if (message.kind === 'written') {
			inFlight -= message.cost;
			if (message.slot !== undefined) {
				freeSlots.push(message.slot);
			}

			postedAt.shift();
			if (isHolding && !isLagging()) {
				hold(false);
			}

			if (pendingShed && isOpen && !isLagging()) {
				const report = pendingShed;
				pendingShed = undefined;
				core.bus.emit({type: 'output-shed', output: options.output, ...report});
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
		if (flushTimer !== undefined) {
			if (batchDelayMs > 0) {
				clearTimeout(flushTimer as NodeJS.Timeout);
			} else {
				clearImmediate(flushTimer as NodeJS.Immediate);
			}
		}

		flushTimer = undefined;
		if (heads.length === 0 || !isOpen) {
			return;
		}

		// The payloads are in a slot (only its number crosses) or in a buffer the worker takes over.
		if (staging === undefined) {
			worker.postMessage({kind: 'batch', heads, lengths, blob: new Uint8Array(0), cost} satisfies ToWriter);
		} else if (staging.slot !== undefined) {
			worker.postMessage({kind: 'batch', heads, lengths, slot: staging.slot, size: payloadBytes, cost} satisfies ToWriter);
		} else {
			const blob = staging.buffer.subarray(0, payloadBytes);
			worker.postMessage({kind: 'batch', heads, lengths, blob, cost} satisfies ToWriter, [blob.buffer as ArrayBuffer]);
		}

		inFlight += cost;
		postedAt.push(performance.now());
		heads = [];
		lengths = [];
		staging = undefined;
		payloadBytes = 0;
		cost = 0;
	};

	/** Copy one payload into the batch's staging memory, now (see `staging`). */
	const stage = (data: Buffer) => {
		if (staging === undefined) {
			const slot = data.length <= slotBytes ? freeSlots.pop() : undefined;
			// A buffer handed over is transferred, so it must own its memory: allocUnsafeSlow, never the pool.
			staging = slot === undefined ? {slot, buffer: Buffer.allocUnsafeSlow(Math.max(slotBytes, data.length))} : {slot, buffer: Buffer.from(slots[slot]!)};
		}

		if (payloadBytes + data.length > staging.buffer.length) {
			const bigger = Buffer.allocUnsafeSlow(Math.max(staging.buffer.length * 2, payloadBytes + data.length));
			staging.buffer.copy(bigger, 0, 0, payloadBytes);
			if (staging.slot !== undefined) {
				freeSlots.push(staging.slot);
			}

			staging = {slot: undefined, buffer: bigger};
		}

		payloadBytes += data.copy(staging.buffer, payloadBytes);
	};

	const handle: CaptureWorker = {
		add(record: object) {
			if ('data' in record) {
				const {data, ...rest} = record as {data: Buffer};
				heads.push(asciiJson(rest));
				lengths.push(data.length);
				stage(data);
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

			if (cost >= batchBytes) {
				flush();
			} else if (flushTimer === undefined) {
				flushTimer = batchDelayMs > 0 ? setTimeout(flush, batchDelayMs) : setImmediate(flush);
			}
		},
		isOpen: () => isOpen,
		queuedBytes: () => inFlight + cost,
		addEvent(event) {
			if (inFlight + cost >= options.maxQueuedBytes) {
				pendingShed ??= {events: 0, firstSeq: event.seq, lastSeq: event.seq, types: {}};
				pendingShed.events++;
				pendingShed.lastSeq = event.seq;
				pendingShed.types[event.type] = (pendingShed.types[event.type] ?? 0) + 1;
				return;
			}

			handle.add(event);
		},
		async close() {
			if (!isOpen) {
				return;
			}

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
	return handle;
}
