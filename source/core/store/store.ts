import type {Bus} from '../bus.js';
import type {BusEvent} from '../events.js';
import {emptyLogView, type LogView} from './log.js';
import {Model, type ModelOptions} from './reduce.js';
import type {ConnectionRow, ListenerRow, Snapshot} from './snapshot.js';

/** Options of a store; every one has a default. */
export type StoreOptions = Partial<ModelOptions> & {
	/** Least time between two publishes, in ms. @default 50 */
	publishIntervalMs?: number;
	/** Time between rate samples, in ms. @default 1000 */
	sampleIntervalMs?: number;
};

const defaults: ModelOptions & {publishIntervalMs: number; sampleIntervalMs: number} = {
	logBytes: 8 * 1024 * 1024,
	logEntryBytes: 4096,
	maxNotices: 200,
	historyLength: 30,
	publishIntervalMs: 50,
	sampleIntervalMs: 1000,
};

/**
 * Folds bus events into a working model and publishes immutable snapshots
 * at a bounded rate: at most one per `publishIntervalMs`, however many
 * events arrive. Shaped for React's `useSyncExternalStore`: `getSnapshot`
 * returns the same object until the next publish, and `subscribe` is told
 * after each one.
 */
export class Store {
	readonly #model: Model;
	readonly #subscribers = new Set<() => void>();
	readonly #publishIntervalMs: number;
	readonly #sampleIntervalMs: number;
	readonly #maxNotices: number;
	readonly #unsubscribe: () => void;
	#snapshot: Snapshot;
	#publishTimer: NodeJS.Timeout | undefined;
	readonly #sampleTimer: NodeJS.Timeout;
	#lastPublish = 0;
	#lastSample = Date.now();
	#logViews = new Map<string, LogView>();
	#isDisposed = false;

	constructor(bus: Bus, options: StoreOptions = {}) {
		const settings = {...defaults, ...options};
		this.#model = new Model(settings);
		this.#publishIntervalMs = settings.publishIntervalMs;
		this.#sampleIntervalMs = settings.sampleIntervalMs;
		this.#maxNotices = settings.maxNotices;
		this.#snapshot = this.#build();
		this.#unsubscribe = bus.subscribe((event) => {
			this.#onEvent(event);
		});
		this.#sampleTimer = setInterval(() => {
			this.#sample();
		}, this.#sampleIntervalMs);
		this.#sampleTimer.unref();
	}

	/** How often rates are sampled (the step of every history, and of the UI's rate chart). */
	get sampleIntervalMs(): number {
		return this.#sampleIntervalMs;
	}

	/** The latest snapshot: the same object until the next publish. */
	getSnapshot = (): Snapshot => this.#snapshot;

	/** Be told after every publish; returns the unsubscribe function. */
	subscribe = (subscriber: () => void): (() => void) => {
		this.#subscribers.add(subscriber);
		return () => {
			this.#subscribers.delete(subscriber);
		};
	};

	/** Publish now if anything changed (tests, shutdown). */
	flush(): void {
		clearTimeout(this.#publishTimer);
		this.#publishTimer = undefined;
		this.#publish();
	}

	/** Drop closed connections and listeners from the snapshot, with their logs. */
	clearClosed(): void {
		this.#model.clearClosed();
		this.#schedule();
	}

	/** Stop listening to the bus and stop the timers. */
	dispose(): void {
		this.#isDisposed = true;
		this.#unsubscribe();
		clearTimeout(this.#publishTimer);
		clearInterval(this.#sampleTimer);
	}

	#onEvent(event: BusEvent): void {
		this.#model.apply(event);
		this.#schedule();
	}

	#schedule(): void {
		if (this.#publishTimer || this.#isDisposed) {
			return;
		}

		// Publish at once after a quiet spell, else wait out the interval: bounded rate, low latency.
		const wait = Math.max(0, this.#lastPublish + this.#publishIntervalMs - Date.now());
		this.#publishTimer = setTimeout(() => {
			this.#publishTimer = undefined;
			this.#publish();
		}, wait);
	}

	#sample(): void {
		const now = Date.now();
		const seconds = Math.max(0.001, (now - this.#lastSample) / 1000);
		this.#lastSample = now;
		this.#model.sample(seconds);
		this.#schedule();
	}

	#publish(): void {
		const model = this.#model;
		const isChanged =
			model.isMembershipChanged ||
			model.dirtyConnections.size > 0 ||
			model.dirtyListeners.size > 0 ||
			model.dirtyLogs.size > 0 ||
			model.isNoticesChanged ||
			model.udp.isChanged ||
			model.system.isChanged ||
			model.isRefusedChanged ||
			model.lastSeq !== this.#snapshot.totals.events;
		if (!isChanged) {
			return;
		}

		this.#lastPublish = Date.now();
		this.#snapshot = this.#build();
		for (const subscriber of this.#subscribers) {
			subscriber();
		}
	}

	#build(): Snapshot {
		const model = this.#model;
		const previous = this.#snapshot as Snapshot | undefined;

		let listeners = previous?.listeners;
		if (!listeners || model.isMembershipChanged || model.dirtyListeners.size > 0) {
			const rows: ListenerRow[] = [];
			for (const listener of model.listeners.values()) {
				if (!listener.row || model.dirtyListeners.has(listener.id)) {
					const {row: _, ...fields} = listener;
					listener.row = Object.freeze(fields);
				}

				rows.push(listener.row);
			}

			listeners = Object.freeze(rows);
		}

		let connections = previous?.connections;
		if (!connections || model.isMembershipChanged || model.dirtyConnections.size > 0) {
			const rows: ConnectionRow[] = [];
			for (const connection of model.connections.values()) {
				if (!connection.row || model.dirtyConnections.has(connection.id)) {
					connection.row = Object.freeze({
						id: connection.id,
						origin: connection.origin,
						listener: connection.listener,
						framing: connection.framing,
						state: connection.state,
						local: connection.local,
						remote: connection.remote,
						bytesIn: connection.bytesIn,
						bytesOut: connection.bytesOut,
						queued: connection.queued,
						unsent: connection.unsent,
						messagesIn: connection.messagesIn,
						rateIn: connection.rateIn,
						rateOut: connection.rateOut,
						historyIn: connection.historyIn,
						historyOut: connection.historyOut,
						isQueueGrowing: Model.isQueueGrowing(connection),
						isStalled: connection.isStalled,
						isHalfOpen: connection.isHalfOpen,
						halfClosedAt: connection.halfClosedAt,
						waitedMs: connection.waitedMs,
						openedAt: connection.openedAt,
						closedAt: connection.closedAt,
						closeReason: connection.closeReason,
						error: connection.error,
						relay: connection.relay,
						partner: connection.partner,
					});
				}

				rows.push(connection.row);
			}

			connections = Object.freeze(rows);
		}

		let logs = previous?.logs;
		if (!logs || model.dirtyLogs.size > 0) {
			const views = new Map(this.#logViews);
			for (const id of model.dirtyLogs) {
				const log = model.logs.get(id);
				if (log) {
					views.set(id, log.view());
				} else {
					views.delete(id);
				}
			}

			this.#logViews = views;
			logs = views;
		}

		const notices = !previous || model.isNoticesChanged ? Object.freeze(model.notices.slice(-this.#maxNotices)) : previous.notices;

		const isRefusedChanged = !previous || model.isRefusedChanged;
		const snapshot: Snapshot = Object.freeze({
			version: (previous?.version ?? 0) + 1,
			listeners,
			connections,
			logs,
			notices,
			...model.udp.build(previous),
			...model.system.build(previous),
			refused: isRefusedChanged ? Object.freeze(model.refused.slice(-this.#maxNotices)) : previous.refused,
			admission: isRefusedChanged ? Object.freeze({...model.admission}) : previous.admission,
			totals: Object.freeze({
				listeners: countOpen(listeners, (row) => row.state === 'listening'),
				connections: countOpen(connections, (row) => row.closedAt === undefined),
				bytesIn: model.bytesIn,
				bytesOut: model.bytesOut,
				rateIn: model.rateIn,
				rateOut: model.rateOut,
				evictedEntries: model.logs.evicted,
				evictedBytes: model.logs.evictedBytes,
				events: model.lastSeq,
				refused: model.refusedTotal,
				kernelDrops: model.kernelDrops,
				evictedNotices: model.evictedNotices + Math.max(0, model.notices.length - this.#maxNotices),
			}),
		});
		model.isMembershipChanged = false;
		model.dirtyConnections.clear();
		model.dirtyListeners.clear();
		model.dirtyLogs.clear();
		model.isNoticesChanged = false;
		model.isRefusedChanged = false;
		return snapshot;
	}
}

function countOpen<T>(rows: readonly T[], isOpen: (row: T) => boolean): number {
	let count = 0;
	for (const row of rows) {
		if (isOpen(row)) {
			count++;
		}
	}

	return count;
}

/** An empty log view, for a socket with no log yet. */
export {emptyLogView};

/** Make a store that folds the bus's events into snapshots. */
export function createStore(bus: Bus, options?: StoreOptions): Store {
	return new Store(bus, options);
}
