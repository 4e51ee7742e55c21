import type {BusEvent, EventInput} from './events.js';
import {oneLine} from './errors.js';

/** A function that receives every event, in `seq` order. */
export type Subscriber = (event: BusEvent) => void;

/**
 * The typed, synchronous event bus every socket reports to.
 *
 * Emission is synchronous so counters folded from it are exact. An event
 * emitted by a subscriber while another is being delivered is queued and
 * delivered right after, so every subscriber sees events in `seq` order.
 * A subscriber that throws is isolated: the others still get the event and
 * the failure is reported as a `subscriber-failed` event.
 */
export class Bus {
	#seq = 0;
	readonly #subscribers = new Set<Subscriber>();
	readonly #pending: BusEvent[] = [];
	#isDelivering = false;
	#unreported = 0;

	/** The `seq` of the last event emitted (0 before the first). */
	get lastSeq(): number {
		return this.#seq;
	}

	/** Subscriber failures that could not be reported because reporting them failed too. */
	get unreportedFailures(): number {
		return this.#unreported;
	}

	/** Stamps `seq` and `at` on the event, delivers it and returns it. */
	emit<E extends EventInput>(input: E): BusEvent & E {
		// Stamp in place: this runs per received chunk, so no copy.
		const event = input as unknown as BusEvent & E;
		event.seq = ++this.#seq;
		event.at = Date.now();
		this.#pending.push(event);
		if (!this.#isDelivering) {
			this.#drain();
		}

		return event;
	}

	/**
	 * Delivers an event stamped elsewhere: one read back from a `--log`
	 * recording (replay). It keeps its recorded `seq` and `at`, unless a live
	 * event (a refused command) or an earlier pass over the recording has
	 * taken that number since: then it goes out as a copy with the next one,
	 * so the numbers subscribers see only ever grow.
	 */
	replay(event: BusEvent): BusEvent {
		let delivered = event;
		if (event.seq > this.#seq) {
			this.#seq = event.seq;
		} else {
			delivered = {...event, seq: ++this.#seq};
		}

		this.#pending.push(delivered);
		if (!this.#isDelivering) {
			this.#drain();
		}

		return delivered;
	}

	/** Adds a subscriber; call the returned function to remove it. */
	subscribe(subscriber: Subscriber): () => void {
		this.#subscribers.add(subscriber);
		return () => {
			this.#subscribers.delete(subscriber);
		};
	}

	#drain(): void {
		this.#isDelivering = true;
		try {
			for (let index = 0; index < this.#pending.length; index++) {
				this.#deliver(this.#pending[index]!);
			}
		} finally {
			this.#pending.length = 0;
			this.#isDelivering = false;
		}
	}

	#deliver(event: BusEvent): void {
		for (const subscriber of this.#subscribers) {
			try {
				subscriber(event);
			} catch (error) {
				if (event.type === 'subscriber-failed') {
					// Reporting a failure about a failure could loop forever: count it instead.
					this.#unreported++;
				} else {
					this.emit({type: 'subscriber-failed', message: `a subscriber failed on ${event.type}: ${oneLine(error)}`});
				}
			}
		}
	}
}
