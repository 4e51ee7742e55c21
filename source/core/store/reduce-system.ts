import type {BusEvent, SystemSocket, SystemSocketRates} from '../events.js';
import {socketKey} from '../system/diff.js';
import {systemHistoryLength, type Snapshot, type SystemRow} from './snapshot.js';

/** `history` with `last` repeated for `skipped` refreshes and `value` after them, bounded. */
function extend(history: readonly number[], skipped: number, value: number): number[] {
	const last = history.at(-1) ?? 0;
	const padding = Math.min(Math.max(0, skipped), systemHistoryLength);
	const next = [...history, ...Array.from({length: padding}, () => last), value];
	return next.slice(-systemHistoryLength);
}

/**
 * The machine's sockets (core/system/) folded for the System pane: the
 * latest `system-sockets` answer, then each `system-sockets-changed` applied
 * to it. Rows that did not change keep their identity between snapshots;
 * a changed row gets its new rates appended to its histories.
 */
export class SystemModel {
	readonly #rows = new Map<string, SystemRow>();
	#missing: readonly string[] = [];
	#refreshedAt: number | undefined;
	#refreshes = 0;
	#isChanged = false;

	/** True when the next snapshot needs a new system view. */
	get isChanged(): boolean {
		return this.#isChanged;
	}

	/** Fold one event in (others are ignored). */
	apply(event: BusEvent): void {
		if (event.type === 'system-sockets') {
			// A one-off reading: its rows replace the table, keeping what a watch learnt (age, rates, histories).
			const previous = new Map(this.#rows);
			this.#rows.clear();
			for (const socket of event.sockets) {
				const key = socketKey(socket);
				const before = previous.get(key);
				this.#rows.set(key, this.#row(key, {...socket, rateIn: before?.rateIn ?? null, rateOut: before?.rateOut ?? null}, before, event.at, false));
			}
		} else if (event.type === 'system-sockets-changed') {
			this.#refreshes++;
			if (event.intervalMs === 0) {
				// A watch's first refresh lists everything: a new baseline (ages are kept for sockets still there).
				const previous = new Map(this.#rows);
				this.#rows.clear();
				for (const socket of event.opened) {
					const key = socketKey(socket);
					this.#rows.set(key, this.#row(key, socket, previous.get(key), event.at, true));
				}
			} else {
				for (const socket of event.closed) {
					this.#rows.delete(socketKey(socket));
				}

				for (const socket of [...event.opened, ...event.changed]) {
					const key = socketKey(socket);
					this.#rows.set(key, this.#row(key, socket, this.#rows.get(key), event.at, true));
				}
			}
		} else {
			return;
		}

		this.#missing = event.missing;
		this.#refreshedAt = event.at;
		this.#isChanged = true;
	}

	/** The snapshot's `system`, reused from `previous` when nothing changed. */
	build(previous: Snapshot | undefined): Pick<Snapshot, 'system'> {
		if (previous && !this.#isChanged) {
			return {system: previous.system};
		}

		this.#isChanged = false;
		return {
			system: Object.freeze({
				sockets: Object.freeze([...this.#rows.values()]),
				refreshes: this.#refreshes,
				missing: this.#missing,
				...(this.#refreshedAt === undefined ? {} : {refreshedAt: this.#refreshedAt}),
			}),
		};
	}

	#row(key: string, socket: SystemSocketRates | (SystemSocket & {rateIn: null; rateOut: null}), before: SystemRow | undefined, at: number, isSample: boolean): SystemRow {
		const skipped = before ? this.#refreshes - before.sampledAt - 1 : 0;
		return Object.freeze({
			...socket,
			key,
			firstSeen: before?.firstSeen ?? at,
			historyIn: isSample ? extend(before?.historyIn ?? [], skipped, socket.rateIn ?? 0) : (before?.historyIn ?? []),
			historyOut: isSample ? extend(before?.historyOut ?? [], skipped, socket.rateOut ?? 0) : (before?.historyOut ?? []),
			sampledAt: isSample ? this.#refreshes : (before?.sampledAt ?? this.#refreshes),
		});
	}
}
