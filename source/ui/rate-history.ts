import type {Snapshot, Store} from '../core/index.js';

/** Rates each way, bytes per second, oldest first. */
export type RateSeries = {readonly in: readonly number[]; readonly out: readonly number[]};

/** What the rate chart draws. */
export type RateHistory = {
	/** The socket the first series is of (undefined: none selected, or one without byte counters). */
	readonly socket: string | undefined;
	readonly selected: RateSeries;
	/** Everything netdash sent and received. */
	readonly all: RateSeries;
	/** Time between samples. */
	readonly stepMs: number;
	/** Samples kept: two minutes' worth. */
	readonly capacity: number;
};

/** How far back the chart looks. */
export const historyWindowMs = 120_000;

type Counters = {bytesIn: number; bytesOut: number};

/** The byte counters of socket `id` in the snapshot (connections and UDP sockets have them; listeners do not). */
function countersOf(snapshot: Snapshot, id: string | undefined): Counters | undefined {
	if (id === undefined) {
		return undefined;
	}

	return snapshot.connections.find((row) => row.id === id) ?? snapshot.udpSockets.find((row) => row.id === id);
}

function push(series: number[], value: number, capacity: number): void {
	series.push(value);
	if (series.length > capacity) {
		series.shift();
	}
}

/**
 * Two minutes of rates for the chart, sampled from the store's published
 * counters once per sample interval: no work per event, and none at all
 * beyond one lookup and four subtractions per interval. A newly selected
 * connection starts from the store's own recent rate history.
 */
export class RateSampler {
	readonly #store: Store;
	readonly #stepMs: number;
	readonly #capacity: number;
	readonly #subscribers = new Set<() => void>();
	#timer: NodeJS.Timeout | undefined;
	#selected: string | undefined;
	#last: {at: number; all: Counters; selected: Counters | undefined} | undefined;
	readonly #series = {selectedIn: [] as number[], selectedOut: [] as number[], allIn: [] as number[], allOut: [] as number[]};
	#history: RateHistory;

	constructor(store: Store) {
		this.#store = store;
		this.#stepMs = store.sampleIntervalMs;
		this.#capacity = Math.max(2, Math.round(historyWindowMs / this.#stepMs));
		this.#history = this.#build();
	}

	/** Start sampling (idempotent). */
	start(): void {
		if (this.#timer === undefined) {
			this.#sample();
			this.#timer = setInterval(() => {
				this.#sample();
			}, this.#stepMs);
			this.#timer.unref();
		}
	}

	stop(): void {
		clearInterval(this.#timer);
		this.#timer = undefined;
	}

	/** Follow socket `id` from now on (its row's own recent history seeds the series). */
	select(id: string | undefined): void {
		if (id === this.#selected) {
			return;
		}

		this.#selected = id;
		const snapshot = this.#store.getSnapshot();
		const row = snapshot.connections.find((candidate) => candidate.id === id);
		this.#series.selectedIn = row ? row.historyIn.slice(-this.#capacity) : [];
		this.#series.selectedOut = row ? row.historyOut.slice(-this.#capacity) : [];
		if (this.#last) {
			this.#last.selected = countersOf(snapshot, id);
		}

		this.#publish();
	}

	/** The history as of the last sample: the same object until the next. */
	getHistory = (): RateHistory => this.#history;

	/** Be told after each sample; returns the unsubscribe function. */
	subscribe = (subscriber: () => void): (() => void) => {
		this.#subscribers.add(subscriber);
		return () => {
			this.#subscribers.delete(subscriber);
		};
	};

	#sample(): void {
		const snapshot = this.#store.getSnapshot();
		const now = performance.now();
		const all = {bytesIn: snapshot.totals.bytesIn, bytesOut: snapshot.totals.bytesOut};
		const selected = countersOf(snapshot, this.#selected);
		const last = this.#last;
		this.#last = {at: now, all, selected: selected && {bytesIn: selected.bytesIn, bytesOut: selected.bytesOut}};
		if (!last) {
			return;
		}

		const seconds = Math.max(0.001, (now - last.at) / 1000);
		const rate = (to: number, from: number) => Math.max(0, (to - from) / seconds);
		push(this.#series.allIn, rate(all.bytesIn, last.all.bytesIn), this.#capacity);
		push(this.#series.allOut, rate(all.bytesOut, last.all.bytesOut), this.#capacity);
		if (selected && last.selected) {
			push(this.#series.selectedIn, rate(selected.bytesIn, last.selected.bytesIn), this.#capacity);
			push(this.#series.selectedOut, rate(selected.bytesOut, last.selected.bytesOut), this.#capacity);
		}

		this.#publish();
	}

	#publish(): void {
		this.#history = this.#build();
		for (const subscriber of this.#subscribers) {
			subscriber();
		}
	}

	#build(): RateHistory {
		const hasCounters = countersOf(this.#store.getSnapshot(), this.#selected) !== undefined;
		return {
			socket: hasCounters ? this.#selected : undefined,
			selected: {in: [...this.#series.selectedIn], out: [...this.#series.selectedOut]},
			all: {in: [...this.#series.allIn], out: [...this.#series.allOut]},
			stepMs: this.#stepMs,
			capacity: this.#capacity,
		};
	}
}
