import type {Bus} from '../bus.js';
import {NetdashError, errorCode, oneLine} from '../errors.js';
import {diffSockets, newSocketTable, type SocketTable} from './diff.js';
import {createSystemSocketReader, type SystemSocketsReading} from './read.js';

/** Reads the machine's sockets; tests and the bench may swap it. */
export type SocketReader = (() => Promise<SystemSocketsReading>) & {close?: () => void};

/**
 * The machine's sockets on the bus: `list` answers once with
 * `system-sockets`; `watch` refreshes every interval and emits
 * `system-sockets-changed` (opened, changed, closed, with rates) when
 * anything did, until `unwatch`.
 */
export class SystemSockets {
	readonly #bus: Bus;
	readonly #onIdle: () => void;
	readonly #read: SocketReader;
	#pending = 0;
	#timer: NodeJS.Timeout | undefined;
	#watchRef: string | null = null;
	#table: SocketTable = newSocketTable();
	#lastAt = 0;
	#isRefreshing = false;
	#isFirst = true;
	/** Counts watches, so a refresh of a watch that was replaced or stopped is dropped. */
	#generation = 0;
	/** The running watch is the System pane's (view), not a `watch-sockets` command's. */
	#isViewWatch = false;
	#intervalMs = 0;

	/** `onIdle` is called when the last read finishes or the watch stops (the session may end then). */
	constructor(bus: Bus, onIdle: () => void, read: SocketReader = createSystemSocketReader()) {
		this.#bus = bus;
		this.#onIdle = onIdle;
		this.#read = read;
	}

	/** True while a read is under way or a watch runs: the session stays open for it (not for the pane's own refreshes). */
	get isBusy(): boolean {
		return this.#pending > 0 || (this.#timer !== undefined && !this.#isViewWatch);
	}

	/** Milliseconds between refreshes of the running watch (or of the last one). */
	get intervalMs(): number {
		return this.#intervalMs;
	}

	/** True while a watch runs. */
	get isWatching(): boolean {
		return this.#timer !== undefined;
	}

	/** Read once and emit `system-sockets`. */
	list(ref?: string): void {
		this.#pending++;
		void this.#read()
			.then((reading) => {
				this.#bus.emit({type: 'system-sockets', sockets: reading.sockets, missing: reading.missing, tookMs: reading.tookMs, ...(ref === undefined ? {} : {ref})});
			}, (error: unknown) => {
				this.#fail(error, ref ?? null);
			})
			.finally(() => {
				this.#pending--;
				this.#onIdle();
			});
	}

	/** Refresh every `intervalMs` and emit what changed; a second watch replaces the first (a new baseline). */
	watch(intervalMs: number, ref?: string): void {
		if (!Number.isFinite(intervalMs) || intervalMs < 100) {
			throw new NetdashError('BAD_INTERVAL', `a socket watch refreshes at most every 0.1 s (got ${intervalMs / 1000} s)`);
		}

		this.#halt();
		this.#isViewWatch = false;
		this.#intervalMs = intervalMs;
		this.#watchRef = ref ?? null;
		this.#table = newSocketTable();
		this.#isFirst = true;
		const generation = ++this.#generation;
		this.#timer = setInterval(() => {
			this.#refresh(generation);
		}, intervalMs);
		this.#refresh(generation);
	}

	/**
	 * Refresh while the System pane is shown: a watch of its own when none
	 * runs (a `watch-sockets` already running feeds the pane as it is).
	 * Returns what stops it when the pane is hidden; that leaves alone a
	 * `watch-sockets` started meanwhile.
	 */
	view(intervalMs: number): () => void {
		if (this.#timer !== undefined) {
			return () => undefined;
		}

		this.watch(intervalMs);
		this.#isViewWatch = true;
		const generation = this.#generation;
		return () => {
			if (this.#isViewWatch && generation === this.#generation) {
				this.#halt();
				this.#isViewWatch = false;
				this.#read.close?.();
			}
		};
	}

	/** Stop the watch. Throws when none runs. */
	unwatch(): void {
		// The System pane's own refreshes are not a watch to stop.
		if (!this.#timer || this.#isViewWatch) {
			throw new NetdashError('NOT_WATCHING', 'no socket watch is running (start one with watch-sockets)');
		}

		this.stop();
	}

	/** Stop the watch if one runs (the session is ending). */
	stop(): void {
		if (this.#timer) {
			this.#halt();
			this.#onIdle();
		}

		this.#read.close?.();
	}

	#halt(): void {
		clearInterval(this.#timer);
		this.#timer = undefined;
		this.#generation++;
	}

	#refresh(generation: number): void {
		// A refresh slower than the interval skips ticks rather than piling up reads.
		if (this.#isRefreshing) {
			return;
		}

		this.#isRefreshing = true;
		void this.#read()
			.then((reading) => {
				if (generation !== this.#generation) {
					return;
				}

				const now = reading.startedAt ?? performance.now();
				const changes = diffSockets(this.#table, reading.sockets, this.#isFirst ? 0 : now - this.#lastAt);
				const intervalMs = this.#isFirst ? 0 : Math.round(now - this.#lastAt);
				const isFirst = this.#isFirst;
				this.#table = changes.table;
				this.#lastAt = now;
				this.#isFirst = false;
				if (isFirst || changes.opened.length + changes.changed.length + changes.closed.length > 0) {
					this.#bus.emit({
						type: 'system-sockets-changed',
						opened: changes.opened,
						changed: changes.changed,
						closed: changes.closed,
						total: changes.table.size,
						intervalMs,
						missing: reading.missing,
						tookMs: reading.tookMs,
						ref: this.#watchRef,
					});
				}
			}, (error: unknown) => {
				this.#fail(error, this.#watchRef);
			})
			.finally(() => {
				this.#isRefreshing = false;
			});
	}

	#fail(error: unknown, ref: string | null): void {
		this.#bus.emit({type: 'command-failed', ref, code: errorCode(error), message: `reading the machine's sockets failed: ${oneLine(error)}`});
	}
}
