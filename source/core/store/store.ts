import type {Bus} from '../bus.js';
import type {BusEvent} from '../events.js';
import {emptyLogView, type LogView} from './log.js';
import {LogViews} from './log-views.js';
import type {ConnectionModel} from './connection-model.js';
import {Model, type ModelOptions} from './reduce.js';
import type {ConnectionRow, ListenerRow, Snapshot} from './snapshot.js';

/** Options of a store; every one has a default. */
export type StoreOptions = Partial<ModelOptions> & {
	/** Least time between two publishes, in ms. @default 50 */
	publishIntervalMs?: number;
	/** Time between rate samples, in ms. @default 1000 */
	sampleIntervalMs?: number;
	/**
	 * The time rates are measured in, in ms: a replay's recorded clock, so
	 * that 10× plays the rates as they were. A sample is skipped while it
	 * stands still (a paused replay). @default Date.now
	 */
	clock?: () => number;
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
	#model: Model;
	readonly #settings: ModelOptions;
	readonly #clock: () => number;
	readonly #subscribers = new Set<() => void>();
	readonly #publishIntervalMs: number;
	readonly #sampleIntervalMs: number;
	readonly #maxNotices: number;
	readonly #unsubscribe: () => void;
	#snapshot: Snapshot;
	#publishTimer: NodeJS.Timeout | undefined;
	readonly #sampleTimer: NodeJS.Timeout;
	#lastPublish = 0;
	#lastSample: number;
	#logViews = LogViews.empty;
	/** Where each connection's row stands in the last rows built. */
	#connectionAt = new Map<string, number>();
	/** Rows of the last connections array built that are open: kept as rows change, not counted again per publish. */
	#openConnections = 0;
	/** The model the connection rows were last built from, and its count of removed connections then. */
	#rowsModel: Model | undefined;
	#removedAtBuild = 0;
	#isDisposed = false;

	constructor(bus: Bus, options: StoreOptions = {}) {
		const settings = {...defaults, ...options};
		this.#settings = settings;
		this.#model = new Model(settings);
		this.#clock = options.clock ?? Date.now;
		this.#lastSample = this.#clock();
		this.#publishIntervalMs = settings.publishIntervalMs;
		this.#sampleIntervalMs = settings.sampleIntervalMs;
		this.#maxNotices = settings.maxNotices;
		this.#snapshot = this.#build();
		// It borrows received bytes: the log copies what it keeps into its ring (log.ts).
		this.#unsubscribe = bus.subscribe((event) => {
			this.#onEvent(event);
		}, {borrows: true});
		this.#sampleTimer = setInterval(() => {
			this.#sample();
		}, this.#sampleIntervalMs);
		this.#sampleTimer.unref();
	}

	/** How often rates are sampled (the step of every history, and of the UI's rate chart). */
	get sampleIntervalMs(): number {
		return this.#sampleIntervalMs;
	}

	/** The time the store measures in (the `clock` option): what a pane's "seen 3 s ago" is counted from. */
	now = (): number => this.#clock();

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

	/**
	 * Forget every event folded so far and publish an empty snapshot: a
	 * replay seeking back folds the recording again from its start.
	 */
	reset(): void {
		this.#model = new Model(this.#settings);
		this.#logViews = LogViews.empty;
		this.#lastSample = this.#clock();
		clearTimeout(this.#publishTimer);
		this.#publishTimer = undefined;
		this.#lastPublish = Date.now();
		this.#snapshot = this.#build(undefined);
		for (const subscriber of this.#subscribers) {
			subscriber();
		}
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
		const now = this.#clock();
		if (now <= this.#lastSample) {
			// A paused replay: nothing moved, and a rate over no time means nothing.
			return;
		}

		const seconds = Math.max(0.001, (now - this.#lastSample) / 1000);
		this.#lastSample = now;
		this.#model.sample(seconds, now);
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
			model.rules.isChanged ||
			model.relays.isChanged ||
			model.lan.isChanged ||
			model.isRefusedChanged ||
			model.isRatesChanged ||
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

	#build(previous: Snapshot | undefined = this.#snapshot as Snapshot | undefined): Snapshot {
		const model = this.#model;

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
			// Grown only from rows of this same model (reset() starts a new one) with nothing removed since.
			connections = connections && this.#rowsModel === model && model.connectionsRemoved === this.#removedAtBuild ? this.#grownRows(connections) : this.#allRows();
			this.#rowsModel = model;
			this.#removedAtBuild = model.connectionsRemoved;
		}

		model.addedConnections.length = 0;
		let logs = previous?.logs;
		if (!logs || model.dirtyLogs.size > 0) {
			const changes = new Map<string, LogView | undefined>();
			for (const id of model.dirtyLogs) {
				changes.set(id, model.logs.get(id)?.view());
			}

			this.#logViews = this.#logViews.with(changes);
			logs = this.#logViews;
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
			rules: model.rules.build(),
			...model.relays.build(previous),
			...model.lan.build(previous),
			refused: isRefusedChanged ? Object.freeze(model.refused.slice(-this.#maxNotices)) : previous.refused,
			admission: isRefusedChanged ? Object.freeze({...model.admission}) : previous.admission,
			totals: Object.freeze({
				listeners: previous && listeners === previous.listeners ? previous.totals.listeners : countOpen(listeners, (row) => row.state === 'listening'),
				connections: previous && connections === previous.connections ? previous.totals.connections : this.#openConnections,
				bytesIn: model.totalBytesIn,
				bytesOut: model.totalBytesOut,
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
		model.isRatesChanged = false;
		return snapshot;
	}

	/** Every connection's row, in the model's order (after removals); each row made again only if its connection changed. */
	#allRows(): readonly ConnectionRow[] {
		const model = this.#model;
		const rows: ConnectionRow[] = [];
		let open = 0;
		this.#connectionAt = new Map();
		for (const connection of model.connections.values()) {
			if (!connection.row || model.dirtyConnections.has(connection.id)) {
				connection.row = connectionRow(connection);
			}

			this.#connectionAt.set(connection.id, rows.length);
			rows.push(connection.row);
			open += isOpenRow(connection.row);
		}

		this.#openConnections = open;
		return Object.freeze(rows);
	}

	/**
	 * The previous rows when connections were only added or changed since: the changed ones
	 * replaced where they stand, the new ones after them. No pass over every connection, which
	 * at 17,000 rows and 20 publishes a second was most of a publish (issue 18).
	 */
	#grownRows(previous: readonly ConnectionRow[]): readonly ConnectionRow[] {
		const model = this.#model;
		let open = this.#openConnections;
		const changed: ConnectionRow[] = [];
		const changedAt: number[] = [];
		for (const id of model.dirtyConnections) {
			const at = this.#connectionAt.get(id);
			const connection = model.connections.get(id);
			if (at !== undefined && connection) {
				connection.row = connectionRow(connection);
				open += isOpenRow(connection.row) - isOpenRow(previous[at]!);
				changed.push(connection.row);
				changedAt.push(at);
			}
		}

		const added: ConnectionRow[] = [];
		for (const id of model.addedConnections) {
			const connection = model.connections.get(id);
			if (connection && !this.#connectionAt.has(id)) {
				connection.row = connectionRow(connection);
				this.#connectionAt.set(id, previous.length + added.length);
				added.push(connection.row);
				open += isOpenRow(connection.row);
			}
		}

		// One copy of the exact size: slice() of a frozen array takes V8's slow path (~2 ms at 17,000 rows
		// here), and pushing onto the copy grows it again; an array of 17,000 is a large object, whose
		// fresh pages are what a copy mostly costs on this virtual machine.
		const rows = previous.concat(added);
		for (const [index, row] of changed.entries()) {
			rows[changedAt[index]!] = row;
		}

		this.#openConnections = open;
		return Object.freeze(rows);
	}
}

/** A connection's row: a frozen copy of what the pane shows. */
function connectionRow(connection: ConnectionModel): ConnectionRow {
	return Object.freeze({
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
		tls: connection.tls,
	});
}

/** 1 when the connection of `row` is open, else 0 (rows are counted as they change). */
function isOpenRow(row: ConnectionRow): number {
	return row.closedAt === undefined ? 1 : 0;
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
