import process from 'node:process';
import v8 from 'node:v8';
import type {Bus} from './bus.js';
import {gcCollector} from './reclaim.js';

/** What {@link MemoryReturn} is told. */
export type MemoryReturnOptions = {
	/** Young generation (committed) above which a quiet spell hands memory back. @default 16 MiB */
	minYoungBytes?: number;
	/** At most one hand-back in this long, in ms. @default 30000 */
	minIntervalMs?: number;
};

const defaults = {minYoungBytes: 16 * 1024 * 1024, minIntervalMs: 30_000};

/** Bytes V8 has committed to its young generation (new space and its large objects). */
export function youngGenerationBytes(): number {
	let bytes = 0;
	for (const space of v8.getHeapSpaceStatistics()) {
		if (space.space_name === 'new_space' || space.space_name === 'new_large_object_space') {
			bytes += space.space_size;
		}
	}

	return bytes;
}

/**
 * Gives back, once a burst is over, the memory V8 grew for it.
 *
 * Why: V8 sizes its young generation by how much of it survives. A burst of
 * connections leaves each one's objects behind (connection, store row,
 * log), so V8 grows the young generation to its largest (64 MiB committed
 * for 10,000 connections, where a bare Node server that keeps nothing per
 * client grows it to 32), and it shrinks it, and returns pages it keeps
 * pooled, only in a collection that asks to reduce memory. An idle process
 * never runs one: the memory stays taken for as long as it runs.
 *
 * When: the core's watch (once a second) sees no event on the bus since its
 * last look, and the young generation commits more than `minYoungBytes`;
 * then one collection that reduces memory (V8's "last resort": full
 * collections until nothing more is freed), at most once per
 * `minIntervalMs`. Measured: 10,000 idle connections, RSS 123 → 100 MB in
 * one 45 ms pause (a bare Node server: 92 MB); 17,000, 67 ms. The pause
 * comes only when nothing happened for a second, and says so with
 * `memory-returned`.
 */
export class MemoryReturn {
	readonly #bus: Bus;
	readonly #minYoungBytes: number;
	readonly #minIntervalMs: number;
	#lastSeq = -1;
	#lastReturnAt = Number.NEGATIVE_INFINITY;

	constructor(bus: Bus, options: MemoryReturnOptions = {}) {
		this.#bus = bus;
		this.#minYoungBytes = options.minYoungBytes ?? defaults.minYoungBytes;
		this.#minIntervalMs = options.minIntervalMs ?? defaults.minIntervalMs;
	}

	/** Look once (the core's watch calls it every second); returns true when it handed memory back. */
	check(now = performance.now()): boolean {
		const seq = this.#bus.lastSeq;
		const isQuiet = seq === this.#lastSeq;
		this.#lastSeq = seq;
		if (!isQuiet || now - this.#lastReturnAt < this.#minIntervalMs) {
			return false;
		}

		const youngBefore = youngGenerationBytes();
		if (youngBefore <= this.#minYoungBytes) {
			return false;
		}

		const collect = gcCollector();
		if (!collect) {
			return false;
		}

		this.#lastReturnAt = now;
		const rssBefore = process.memoryUsage.rss();
		const started = performance.now();
		collect({type: 'major', flavor: 'last-resort'});
		const ms = performance.now() - started;
		this.#bus.emit({type: 'memory-returned', youngBefore, youngAfter: youngGenerationBytes(), rssBefore, rssAfter: process.memoryUsage.rss(), ms: Math.round(ms * 10) / 10});
		// Its own event is not news: the next look may find the bus quiet.
		this.#lastSeq = this.#bus.lastSeq;
		return true;
	}
}
