import type {Bus, BusEvent, EventOf, EventType} from '../../source/core/index.js';

/** Records every event on a bus and waits for the ones a test expects. */
export type Recorder = {
	readonly events: BusEvent[];
	/** Events of one type so far. */
	of<T extends EventType>(type: T): Array<EventOf<T>>;
	/** The first event (already seen or still to come) of this type that matches; rejects after `timeoutMs` with what was seen. */
	waitFor<T extends EventType>(type: T, match?: (event: EventOf<T>) => boolean, timeoutMs?: number): Promise<EventOf<T>>;
	stop(): void;
};

/** Start recording a bus (payload Buffers are kept: tests compare bytes). */
export function record(bus: Bus): Recorder {
	const events: BusEvent[] = [];
	const waiters = new Set<() => void>();
	const unsubscribe = bus.subscribe((event) => {
		events.push(event);
		for (const wake of waiters) {
			wake();
		}
	});

	function of<T extends EventType>(type: T): Array<EventOf<T>> {
		return events.filter((event): event is EventOf<T> => event.type === type);
	}

	async function waitFor<T extends EventType>(type: T, match: (event: EventOf<T>) => boolean = () => true, timeoutMs = 10_000): Promise<EventOf<T>> {
		return new Promise((resolve, reject) => {
			let index = 0;
			const check = () => {
				for (; index < events.length; index++) {
					const event = events[index]!;
					if (event.type === type && match(event as EventOf<T>)) {
						finish();
						resolve(event as EventOf<T>);
						return;
					}
				}
			};

			const timer = setTimeout(() => {
				finish();
				const seen = events.slice(-12).map((event) => `${event.seq} ${event.type} ${JSON.stringify(event, (key, value: unknown) => (key === 'data' ? undefined : value))}`);
				reject(new Error(`no ${type} event within ${timeoutMs} ms; last events:\n${seen.join('\n')}`));
			}, timeoutMs);
			const finish = () => {
				clearTimeout(timer);
				waiters.delete(check);
			};

			waiters.add(check);
			check();
		});
	}

	return {events, of, waitFor, stop: unsubscribe};
}

/** Resolve when `condition()` is true, polling; rejects with `describe()` after `timeoutMs`. */
export async function until(condition: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out: ${describe()}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 5));
	}
}
