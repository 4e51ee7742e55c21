import type {Bus} from '../bus.js';
import type {BusEvent} from '../events.js';
import type {BadLine} from './recording.js';

/** The speeds `+` and `-` step through: recorded time per wall time; Infinity is as fast as the events can be folded. */
export const replaySpeeds: readonly number[] = [1, 10, Number.POSITIVE_INFINITY];

/** Recorded time one `[` or `]` moves. */
export const seekStepMs = 10_000;

/** Events delivered in one turn of the event loop at full speed: keys and frames get their turn between batches. */
const batchEvents = 2000;

/** How often the recorded time shown moves while playing, in ms of wall time. */
const tickMs = 200;

/** Where a replay is, as its status line shows it. */
export type ReplayState = Readonly<{
	/** The recorded time reached (ms since the epoch): every event up to it has been delivered. */
	position: number;
	/** Recorded time of the first and last event. */
	start: number;
	end: number;
	/** Recorded ms per wall ms (Infinity: as fast as possible). */
	speed: number;
	isPaused: boolean;
	/** Every event is delivered; the replay stays on its last state. */
	isEnded: boolean;
	/** Events delivered so far, of `total`. */
	delivered: number;
	total: number;
	/** Lines of the file that were not records, skipped. */
	badLines: readonly BadLine[];
}>;

/** Options of a {@link ReplayPlayer}. */
export type ReplayOptions = {
	/** @default 1 */
	speed?: number;
	/** Start paused. @default false */
	isPaused?: boolean;
	/** Forget what was delivered (the store's reset): a seek back delivers the recording again from its start. */
	rewind?: () => void;
	/** Asked before each batch at full speed: a promise holds the replay until it settles (a slow reader of --json). */
	pace?: () => Promise<void> | undefined;
	badLines?: readonly BadLine[];
	/** Where a run with no events stands (its start time). @default 0 */
	startAt?: number;
};

/**
 * A recorded session played back onto a bus, so the store and every pane
 * see the events as they came (bus.replay keeps their seq and at). Time is
 * the recording's: at speed 1 an event recorded 5 s after the one before
 * it comes 5 s later. It can pause, go 10× or as fast as possible, and
 * seek; at the end it stays where it is.
 */
export class ReplayPlayer {
	readonly #bus: Bus;
	readonly #events: readonly BusEvent[];
	readonly #options: ReplayOptions;
	readonly #subscribers = new Set<() => void>();
	readonly #start: number;
	readonly #end: number;
	#index = 0;
	#position: number;
	#speed: number;
	#isPaused: boolean;
	#isEnded = false;
	/** While playing at a finite speed: the recorded time at the wall time `#anchorWall`. */
	#anchorWall = 0;
	#timer: NodeJS.Timeout | undefined;
	#isStepQueued = false;
	#ticker: NodeJS.Timeout | undefined;
	#state: ReplayState;
	#endWaiters: Array<() => void> = [];
	#isDisposed = false;
	#isStarted = false;

	constructor(bus: Bus, events: readonly BusEvent[], options: ReplayOptions = {}) {
		this.#bus = bus;
		this.#events = events;
		this.#options = options;
		this.#start = events[0]?.at ?? options.startAt ?? 0;
		this.#end = events.at(-1)?.at ?? this.#start;
		this.#position = this.#start;
		this.#speed = options.speed ?? 1;
		this.#isPaused = options.isPaused ?? false;
		this.#state = this.#build();
	}

	/** Start playing (or wait paused); events recorded at the very start are delivered now unless paused. */
	start(): void {
		this.#isStarted = true;
		this.#anchorWall = Date.now();
		this.#ticker = setInterval(() => {
			if (!this.#isPaused && !this.#isEnded && Number.isFinite(this.#speed)) {
				this.#publish();
			}
		}, tickMs);
		this.#ticker.unref();
		this.#schedule(0);
	}

	/**
	 * The recorded time now: what a store measures rates in. Past the end it
	 * runs on while playing (rates fall back to zero, as they would have);
	 * paused, or at full speed between batches, it stands still.
	 */
	now = (): number => {
		if (!this.#isStarted || this.#isPaused || !Number.isFinite(this.#speed)) {
			return this.#position;
		}

		return this.#position + (Date.now() - this.#anchorWall) * this.#speed;
	};

	/** The recorded time reached, within the recording. */
	#reached(): number {
		return Math.min(this.#end, this.now());
	}

	/** The latest state: the same object until something changes (for useSyncExternalStore). */
	getState = (): ReplayState => this.#state;

	/** Be told when the state changes; returns the unsubscribe. */
	subscribe = (subscriber: () => void): (() => void) => {
		this.#subscribers.add(subscriber);
		return () => {
			this.#subscribers.delete(subscriber);
		};
	};

	/** Resolves once every event has been delivered. */
	async whenEnded(): Promise<void> {
		if (this.#isEnded) {
			return;
		}

		await new Promise<void>((resolve) => {
			this.#endWaiters.push(resolve);
		});
	}

	/** Pause, or play on from where it was. */
	togglePause(): void {
		this.#reanchor();
		this.#isPaused = !this.#isPaused;
		this.#publish();
		this.#schedule(0);
	}

	/** The next speed up (1× → 10× → as fast as possible). */
	faster(): void {
		this.#setSpeed(1);
	}

	/** The next speed down. */
	slower(): void {
		this.#setSpeed(-1);
	}

	/**
	 * Move `deltaMs` of recorded time (negative: back), within the recording.
	 * Forward, the events on the way are delivered at once; back, the
	 * recording is delivered again from its start up to there (after `rewind`).
	 */
	seek(deltaMs: number): void {
		const from = this.#reached();
		const target = Math.min(this.#end, Math.max(this.#start, from + deltaMs));
		if (target < from || (target === from && deltaMs < 0)) {
			this.#options.rewind?.();
			this.#index = 0;
		}

		while (this.#index < this.#events.length && this.#events[this.#index]!.at <= target) {
			this.#bus.replay(this.#events[this.#index++]!);
		}

		this.#position = target;
		this.#anchorWall = Date.now();
		this.#isEnded = this.#index >= this.#events.length;
		this.#publish();
		if (this.#isEnded) {
			this.#ended();
		} else {
			this.#schedule(0);
		}
	}

	/** Stop the timers; nothing more is delivered. */
	dispose(): void {
		this.#isDisposed = true;
		clearTimeout(this.#timer);
		clearInterval(this.#ticker);
	}

	#setSpeed(step: number): void {
		const at = replaySpeeds.indexOf(this.#speed);
		const next = replaySpeeds[Math.min(replaySpeeds.length - 1, Math.max(0, (at === -1 ? 0 : at) + step))]!;
		if (next === this.#speed) {
			return;
		}

		this.#reanchor();
		this.#speed = next;
		this.#publish();
		this.#schedule(0);
	}

	/** Fix the recorded time reached so far as the new origin (before a change of speed or pause). */
	#reanchor(): void {
		this.#position = this.#isEnded ? this.#end : this.#reached();
		this.#anchorWall = Date.now();
	}

	#schedule(waitMs: number): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		if (this.#isPaused || this.#isEnded || this.#isDisposed) {
			return;
		}

		if (waitMs <= 0) {
			// setImmediate, not a timer: at full speed batches follow each other with only I/O between.
			if (!this.#isStepQueued) {
				this.#isStepQueued = true;
				setImmediate(() => {
					this.#isStepQueued = false;
					this.#step();
				});
			}

			return;
		}

		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			this.#step();
		}, waitMs);
	}

	#step(): void {
		if (this.#isPaused || this.#isEnded || this.#isDisposed) {
			return;
		}

		const isFull = !Number.isFinite(this.#speed);
		if (isFull) {
			const held = this.#options.pace?.();
			if (held) {
				void held.then(() => {
					this.#schedule(0);
				});
				return;
			}
		}

		const now = this.now();
		let count = 0;
		while (this.#index < this.#events.length && count < batchEvents) {
			const event = this.#events[this.#index]!;
			if (!isFull && event.at > now) {
				break;
			}

			this.#bus.replay(event);
			this.#index++;
			count++;
			if (isFull) {
				this.#position = event.at;
			}
		}

		if (this.#index >= this.#events.length) {
			this.#position = this.#end;
			this.#anchorWall = Date.now();
			this.#isEnded = true;
			this.#publish();
			this.#ended();
			return;
		}

		if (count > 0) {
			this.#publish();
		}

		// A full batch: the rest that is due goes in the next turn, after keys and frames.
		const next = this.#events[this.#index]!.at;
		this.#schedule(isFull || count >= batchEvents ? 0 : Math.max(1, (next - now) / this.#speed));
	}

	#ended(): void {
		const waiters = this.#endWaiters;
		this.#endWaiters = [];
		for (const resolve of waiters) {
			resolve();
		}
	}

	#build(): ReplayState {
		return Object.freeze({
			position: this.#reached(),
			start: this.#start,
			end: this.#end,
			speed: this.#speed,
			isPaused: this.#isPaused,
			isEnded: this.#isEnded,
			delivered: this.#index,
			total: this.#events.length,
			badLines: this.#options.badLines ?? [],
		});
	}

	#publish(): void {
		this.#state = this.#build();
		for (const subscriber of this.#subscribers) {
			subscriber();
		}
	}
}
