import process from 'node:process';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Frees the buffers that socket reads leave behind, with a minor (young
 * generation) collection every `everyBytes` received.
 *
 * Only reads that leave a buffer behind count: TLS connections, a relay's
 * halves, and any connection while a bus subscriber keeps received bytes
 * (each chunk is then a copy of its own). A plain connection otherwise
 * reads into one shared buffer (tcp/shared-reads.ts) and leaves nothing.
 *
 * Why: Node gives every TCP read a buffer of its own (up to 64 KiB). netdash
 * is done with it at once (the log keeps a copy of the first bytes), but V8
 * frees a buffer's memory only when it collects the small object holding it.
 * Carrying data allocates little else, so the young generation rarely fills
 * and is rarely collected. The buffers pile up as external memory, and every
 * 64 MB of it V8 runs a full collection instead. That marks the whole heap:
 * about 3× the work with the dashboard's Ink, React and Yoga loaded, and on
 * a 2-core machine that CPU comes out of throughput. A minor collection
 * every 16 MiB frees the same buffers for ~0.5 ms.
 *
 * Measured: 1 GiB into one connection, alternating runs, 2 cores.
 * - Headless: 2,311–2,805 MiB/s at 369–451 ms CPU/GiB, against 1,803–2,064
 *   MiB/s at 575–642 without. A raw `net` sink does 1,984–2,261 at 482–557.
 * - With the dashboard: 1,484–2,076 MiB/s, against 1,015–1,331.
 *
 * The collector is V8's gc(), which Node hands out only with --expose-gc:
 * the flag is set at run time and the function taken from a new context.
 * Both that and the pretenuring flag below apply to the whole process,
 * which is netdash's own (`reclaimEveryBytes: 0` leaves V8 as it was).
 */
export class Reclaimer {
	readonly #every: number;
	/** Bytes to receive before the next collection: `#every`, or more while collections free little. */
	#interval: number;
	#received = 0;
	/** Array buffer memory at the last collection. */
	#level: number | undefined;
	/** Collections in a row that freed nothing. */
	#futile = 0;
	#collections = 0;

	/** `everyBytes` 0 turns it off. */
	constructor(everyBytes: number) {
		this.#every = everyBytes;
		this.#interval = everyBytes;
		if (everyBytes > 0 && !isPretenuringOff) {
			isPretenuringOff = true;
			// V8 may decide, from what survived a collection, that the objects holding read buffers
			// are long-lived, and allocate them old from then on: no minor collection frees them.
			// Measured with the dashboard: 8 runs of 8 good without that guess, about half with it.
			// Set before any data flows (set later, the guess was sometimes already made).
			v8.setFlagsFromString('--no-allocation-site-pretenuring');
		}
	}

	/** Minor collections asked of V8 so far (what V8 then runs on its own is not counted). */
	get collections(): number {
		return this.#collections;
	}

	/** Count bytes just read; collect the young generation when enough have gone by. */
	received(bytes: number): void {
		this.#received += bytes;
		if (this.#every > 0 && this.#received >= this.#interval) {
			this.#collect();
		}
	}

	#collect(): void {
		const received = this.#received;
		this.#received = 0;
		// Found at the first collection, not at start-up: the context that hands gc() over costs a few ms.
		const collector = gcCollector();
		if (!collector) {
			return;
		}

		// Node's count of array buffer memory, read before collecting: flat from one collection to
		// the next while they free what was read (V8 frees in the background, so just after a
		// collection it can still look full). Rising by most of what was read means they free none:
		// V8 then holds the buffers from the old generation, which only a full collection clears,
		// and a minor one asked for while V8 is marking becomes a full one. Back off while that
		// lasts (twice in a row: once can be the background freeing running late); come back to the
		// set interval once the level stops rising.
		const level = process.memoryUsage().arrayBuffers;
		const isFreeing = this.#level === undefined || level - this.#level < received / 2;
		this.#level = level;
		this.#futile = isFreeing ? 0 : this.#futile + 1;
		this.#interval = this.#futile < 2 ? this.#every : Math.min(this.#interval * 2, 1024 * this.#every);
		this.#collections++;
		collector({type: 'minor'});
	}
}

/** V8's gc() with the options Node's build of it takes (only these are used). */
export type Collector = (options: {type: 'minor'} | {type: 'major'; flavor: 'last-resort'}) => unknown;

/** V8's gc(), found at the first collection: null when this runtime has none to give. */
let collector: Collector | null | undefined;

/** V8's gc(), made available on first call (see findCollector); null when this runtime has none to give. */
export function gcCollector(): Collector | null {
	collector ??= findCollector();
	return collector;
}
/** Allocation-site pretenuring is turned off once, by the first reclaimer. */
let isPretenuringOff = false;

function findCollector(): Collector | null {
	const exposed = (globalThis as {gc?: unknown}).gc;
	if (typeof exposed === 'function') {
		return exposed as Collector;
	}

	try {
		// --expose-gc set now applies to contexts made later: one small context, made once, hands it over.
		v8.setFlagsFromString('--expose-gc');
		const gc: unknown = vm.runInNewContext('gc');
		return typeof gc === 'function' ? (gc as Collector) : null;
	} catch {
		return null;
	}
}
