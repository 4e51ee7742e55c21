import type {Bus} from '../bus.js';
import {NetdashError, errorCode, oneLine} from '../errors.js';
import type {ScheduleView} from '../events.js';

/**
 * Timed and repeated sends (`send` with `every` and/or `count`). Each is a
 * schedule `S1`, `S2`, … listed by `schedules` and ended by `cancel`, by
 * its connection closing, or by its count.
 *
 * The queue limit holds for every send. Two policies, one per kind:
 * a repeated send without `every` (`--count 100`) waits for room, so all N
 * go, at the pace the peer reads; a timed send (`--every 1s`) whose tick
 * finds the queue full skips that tick and counts it (`skipped`), because
 * waiting would bunch the sends up and break the interval it promises.
 */

/** What schedules need of the core; `send` may throw a NetdashError. */
export type ScheduleHost = {
	send(connection: string, bytes: Buffer, ref: string | undefined): void;
	/** Resolves when `bytes` more fit in the queue; undefined when they fit now. */
	whenRoom(connection: string, bytes: number): Promise<void> | undefined;
};

/** How often and how many. */
export type ScheduleTiming = {everyMs?: number; count?: number};

type Schedule = {
	readonly view: ScheduleView;
	readonly payload: Buffer;
	readonly ref: string | undefined;
	timer?: NodeJS.Timeout;
	isOver: boolean;
};

/** Shortest interval of a timed send: below it a schedule is a flood, and `count` says that better. */
export const MIN_EVERY_MS = 10;

/** The schedules of one core. */
export class Schedules {
	readonly #bus: Bus;
	readonly #host: ScheduleHost;
	readonly #schedules = new Map<string, Schedule>();
	#next = 1;

	constructor(bus: Bus, host: ScheduleHost) {
		this.#bus = bus;
		this.#host = host;
		bus.subscribe((event) => {
			if (event.type === 'connection-closed' && this.#schedules.size > 0) {
				for (const schedule of this.#schedules.values()) {
					if (schedule.view.connection === event.connection) {
						this.#finish(schedule, 'closed');
					}
				}
			}
		}, {borrows: true});
	}

	/** Start sending `payload` (already framed) on `connection`; returns the schedule's id. */
	start(connection: string, payload: Buffer, timing: ScheduleTiming, ref?: string): string {
		const {everyMs, count} = timing;
		if (everyMs === undefined && count === undefined) {
			throw new NetdashError('BAD_SCHEDULE', 'a schedule needs every or count');
		}

		if (everyMs !== undefined && (!Number.isFinite(everyMs) || everyMs < MIN_EVERY_MS)) {
			throw new NetdashError('BAD_SCHEDULE', `every must be at least ${MIN_EVERY_MS} ms (for back-to-back sends, use count)`);
		}

		if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
			throw new NetdashError('BAD_SCHEDULE', 'count must be a whole number of at least 1');
		}

		const id = `S${this.#next++}`;
		const view: ScheduleView = {
			schedule: id,
			connection,
			bytes: payload.length,
			...(everyMs === undefined ? {} : {every: everyMs / 1000}),
			...(count === undefined ? {} : {count}),
			sent: 0,
			skipped: 0,
		};
		const schedule: Schedule = {view, payload, ref, isOver: false};
		this.#schedules.set(id, schedule);
		this.#bus.emit({type: 'schedule-started', ...view, ...(ref ? {ref} : {})});
		if (everyMs === undefined) {
			void this.#runBackToBack(schedule);
		} else {
			this.#tick(schedule);
			if (!schedule.isOver) {
				schedule.timer = setInterval(() => {
					this.#tick(schedule);
				}, everyMs);
			}
		}

		return id;
	}

	/** Stop a schedule (`schedule-finished`, reason `cancelled`). @throws NetdashError for an unknown id. */
	cancel(id: string, ref?: string): void {
		const schedule = this.#schedules.get(id);
		if (!schedule) {
			const known = [...this.#schedules.keys()];
			throw new NetdashError('UNKNOWN_ID', `no schedule ${JSON.stringify(id.slice(0, 20))} (${known.length > 0 ? `running: ${known.join(', ')}` : 'none is running'})`);
		}

		this.#finish(schedule, 'cancelled', undefined, ref);
	}

	/** Every running schedule, as `schedules-listed`. */
	list(ref?: string): void {
		this.#bus.emit({type: 'schedules-listed', schedules: [...this.#schedules.values()].map((schedule) => ({...schedule.view})), ...(ref ? {ref} : {})});
	}

	/** Stop them all (closing everything). */
	cancelAll(): void {
		for (const schedule of [...this.#schedules.values()]) {
			this.#finish(schedule, 'cancelled');
		}
	}

	/** One timed send: skipped when the queue is full now. */
	#tick(schedule: Schedule): void {
		const {view} = schedule;
		if (this.#host.whenRoom(view.connection, schedule.payload.length) !== undefined) {
			view.skipped++;
			return;
		}

		if (this.#sendOne(schedule)) {
			this.#finishIfDone(schedule);
		}
	}

	async #runBackToBack(schedule: Schedule): Promise<void> {
		const {view} = schedule;
		while (!schedule.isOver) {
			const room = this.#host.whenRoom(view.connection, schedule.payload.length);
			if (room) {
				// eslint-disable-next-line no-await-in-loop -- one send at a time, each when it fits
				await room;
				continue;
			}

			if (!this.#sendOne(schedule) || this.#finishIfDone(schedule)) {
				return;
			}

			// Let the sockets run between sends, so a large count never blocks the loop.
			if (view.sent % 64 === 0) {
				// eslint-disable-next-line no-await-in-loop -- yielding is the point
				await new Promise<void>((resolve) => {
					setImmediate(resolve);
				});
			}
		}
	}

	#sendOne(schedule: Schedule): boolean {
		try {
			this.#host.send(schedule.view.connection, schedule.payload, schedule.ref);
			schedule.view.sent++;
			return true;
		} catch (error) {
			const code = errorCode(error);
			this.#finish(schedule, code === 'UNKNOWN_ID' || code === 'NOT_OPEN' ? 'closed' : 'failed', oneLine(error));
			return false;
		}
	}

	#finishIfDone(schedule: Schedule): boolean {
		const {count, sent} = schedule.view;
		if (count !== undefined && sent >= count) {
			this.#finish(schedule, 'done');
			return true;
		}

		return false;
	}

	#finish(schedule: Schedule, reason: 'done' | 'cancelled' | 'closed' | 'failed', message?: string, ref?: string): void {
		if (schedule.isOver) {
			return;
		}

		schedule.isOver = true;
		clearInterval(schedule.timer);
		this.#schedules.delete(schedule.view.schedule);
		const by = ref ?? schedule.ref;
		this.#bus.emit({type: 'schedule-finished', ...schedule.view, reason, ...(message === undefined ? {} : {message}), ...(by ? {ref: by} : {})});
	}
}
