import type {BusEvent} from '../events.js';
import {socketKey} from '../system/diff.js';
import type {SystemSocketRates} from '../system/types.js';
import type {Snapshot, SystemView} from './snapshot.js';

/**
 * The machine's sockets (core/system/) folded for the System pane: the
 * latest `system-sockets` answer, then each `system-sockets-changed` applied
 * to it. Rows that did not change keep their identity between snapshots.
 */
export class SystemModel {
	readonly #rows = new Map<string, SystemSocketRates>();
	#missing: readonly string[] = [];
	#refreshedAt: number | undefined;
	#isChanged = false;

	/** True when the next snapshot needs a new system view. */
	get isChanged(): boolean {
		return this.#isChanged;
	}

	/** Fold one event in (others are ignored). */
	apply(event: BusEvent): void {
		if (event.type === 'system-sockets') {
			this.#rows.clear();
			for (const socket of event.sockets) {
				this.#rows.set(socketKey(socket), {...socket, rateIn: null, rateOut: null});
			}
		} else if (event.type === 'system-sockets-changed') {
			if (event.intervalMs === 0) {
				// A watch's first refresh lists everything: a new baseline.
				this.#rows.clear();
			}

			for (const socket of event.closed) {
				this.#rows.delete(socketKey(socket));
			}

			for (const socket of [...event.opened, ...event.changed]) {
				this.#rows.set(socketKey(socket), socket);
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
		return {system: Object.freeze({sockets: Object.freeze([...this.#rows.values()]), missing: this.#missing, ...(this.#refreshedAt === undefined ? {} : {refreshedAt: this.#refreshedAt})})};
	}
}
