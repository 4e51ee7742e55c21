/**
 * The `--log` writer thread: turns batches of events into JSON lines and
 * appends them to the file, so base64 encoding and disk writes run beside
 * the event loop instead of on it. Node builtins and `.ts` imports only, so
 * Node can start it from the built file or, under the test runner, from the
 * TypeScript source by type stripping.
 *
 * The main thread opens the file (log-file.ts) and lends its descriptor to
 * this thread until the writer says `closed` or is terminated.
 */
import {parentPort, workerData} from 'node:worker_threads';
import {appendWhole, payloadsOf} from './append.ts';

/**
 * One batch from the main thread: `heads[i]` is a record's JSON; payloads
 * are cut in order by `lengths[i]` (-1: none) from `blob`, or from the
 * first `size` bytes of shared slot `slot` (given back with `written`).
 * `cost` is echoed back when the batch is on disk, for the main thread's
 * backpressure.
 */
export type LogBatch = {kind: 'batch'; heads: string[]; lengths: number[]; cost: number} & ({blob: Uint8Array; slot?: undefined} | {slot: number; size: number; blob?: undefined});

/** Messages the main thread sends. */
export type ToWriter = LogBatch | {kind: 'close'};

/** Messages the writer sends back. */
export type FromWriter = {kind: 'written'; cost: number; slot?: number} | {kind: 'failed'; code: string; message: string} | {kind: 'closed'};

/** What the writer is started with. */
export type WriterData = {
	/** An open descriptor (O_APPEND, O_NONBLOCK); the main thread closes it when the writer is done. */
	fd: number;
	/** A regular file: on a failed write it is truncated back to its last whole line. */
	isRegular: boolean;
	/** Payload memory shared with the main thread (see LogBatch). */
	slots: SharedArrayBuffer[];
};

const port = parentPort!;
const {fd, isRegular, slots} = workerData as WriterData;
let hasFailed = false;
const base64Open = ',"base64":"';
const base64Close = '"}\n';

function fail(error: unknown): void {
	hasFailed = true;
	const {code, message} = error as NodeJS.ErrnoException;
	port.postMessage({kind: 'failed', code: code ?? 'UNKNOWN', message: String(message).split('\n', 1)[0] ?? ''} satisfies FromWriter);
}

port.on('message', (message: ToWriter) => {
	if (message.kind === 'close') {
		// Every batch before this one is written; the main thread closes the descriptor.
		port.postMessage({kind: 'closed'} satisfies FromWriter);
		port.close();
		return;
	}

	const blob = payloadsOf(message, slots);
	const {heads, lengths} = message;
	// Size the batch first, then write every piece straight into one buffer (no join, no second copy).
	let size = 0;
	for (const [index, head] of heads.entries()) {
		const length = lengths[index]!;
		size += length < 0 ? head.length + 1 : head.length - 1 + base64Open.length + Math.ceil(length / 3) * 4 + base64Close.length;
	}

	const text = Buffer.allocUnsafe(size);
	let at = 0;
	let offset = 0;
	for (const [index, head] of heads.entries()) {
		const length = lengths[index]!;
		if (length < 0) {
			// Every head is ASCII (the main thread escapes the rest), so latin1 is a plain copy.
			at += text.write(head, at, 'latin1');
			text[at++] = 0x0a;
		} else {
			// Base64 needs no JSON escaping: splice it in before the closing brace.
			at += text.write(head, at, head.length - 1, 'latin1');
			at += text.write(base64Open, at, 'latin1');
			at += text.write(blob.toString('base64', offset, offset + length), at, 'latin1');
			at += text.write(base64Close, at, 'latin1');
			offset += length;
		}
	}

	if (!hasFailed) {
		try {
			appendWhole(fd, isRegular, text, at);
		} catch (error) {
			fail(error);
		}
	}

	// Written: the slot (if any) can be filled again.
	port.postMessage({kind: 'written', cost: message.cost, slot: message.slot} satisfies FromWriter);
});
