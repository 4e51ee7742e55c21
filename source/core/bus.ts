import type {BusEvent, EventInput} from './events.js';
import {oneLine} from './errors.js';

/** A function that receives every event, in `seq` order. */
export type Subscriber = (event: BusEvent) => void;

/** How a subscriber treats what it is given. */
export type SubscribeOptions = {
	/**
	 * The subscriber reads the bytes of a received chunk or message
	 * (`data-received`, `message-received`: `data`) only while the event is
	 * being delivered, and copies what it keeps. While every subscriber says
	 * so, a plain TCP connection hands out the bytes in its shared read buffer
	 * itself, overwritten by the next read (tcp/shared-reads.ts); one
	 * subscriber that does not (the default) makes every chunk a copy of its own.
	 * (One that joins while such a chunk is being delivered is given it too, as
	 * every joiner is given the event under way: it must not keep that one.)
	 */
	borrows?: boolean;
};

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
	/**
	 * In the order they subscribed. An array, not a Set: walking a Set made an
	 * iterator per event, on the path of every chunk and datagram. It keeps a
	 * Set's rules: one that leaves while an event is being delivered is not
	 * called again, even for that event (it is marked, and dropped once the
	 * delivery ends); one that joins meanwhile is called for that event too.
	 */
	#entries: Array<{subscriber: Subscriber; isActive: boolean; borrows: boolean}> = [];
	/** Active subscribers that may keep a received chunk's bytes (not `borrows`). */
	#keepers = 0;
	#hasLeft = false;
	readonly #pending: BusEvent[] = [];
	#isDelivering = false;
	#unreported = 0;

	/** The `seq` of the last event emitted (0 before the first). */
	get lastSeq(): number {
		return this.#seq;
	}

	/**
	 * True while every subscriber only borrows received bytes (see {@link SubscribeOptions.borrows}):
	 * a connection may then emit a chunk whose memory the next read reuses.
	 */
	get lendsReceivedBytes(): boolean {
		return this.#keepers === 0;
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
		if (this.#isDelivering) {
			this.#pending.push(event);
		} else {
			this.#drain(event);
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

		if (this.#isDelivering) {
			this.#pending.push(delivered);
		} else {
			this.#drain(delivered);
		}

		return delivered;
	}

	/** Adds a subscriber; call the returned function to remove it. */
	subscribe(subscriber: Subscriber, options: SubscribeOptions = {}): () => void {
		// A function subscribed twice is called once per event, as with a set; it borrows only if every subscription said so.
		const borrows = options.borrows === true;
		const known = this.#entries.find((entry) => entry.isActive && entry.subscriber === subscriber);
		if (known === undefined) {
			this.#entries.push({subscriber, isActive: true, borrows});
			if (!borrows) {
				this.#keepers++;
			}
		} else if (known.borrows && !borrows) {
			known.borrows = false;
			this.#keepers++;
		}

		return () => {
			const entry = this.#entries.find((each) => each.isActive && each.subscriber === subscriber);
			if (entry === undefined) {
				return;
			}

			entry.isActive = false;
			if (!entry.borrows) {
				this.#keepers--;
			}

			if (this.#isDelivering) {
				this.#hasLeft = true;
			} else {
				this.#entries.splice(this.#entries.indexOf(entry), 1);
			}
		};
	}

	/** Delivers `first`, then whatever its subscribers emit meanwhile, in order (the queue is touched only then). */
	#drain(first: BusEvent): void {
		this.#isDelivering = true;
		try {
			this.#deliver(first);
			for (let index = 0; index < this.#pending.length; index++) {
				this.#deliver(this.#pending[index]!);
			}
		} finally {
			if (this.#pending.length > 0) {
				this.#pending.length = 0;
			}

			if (this.#hasLeft) {
				this.#hasLeft = false;
				this.#entries = this.#entries.filter((entry) => entry.isActive);
			}

			this.#isDelivering = false;
		}
	}

	#deliver(event: BusEvent): void {
		const entries = this.#entries;
		// The length is read each time round: one that joins during the delivery is called too.
		for (let index = 0; index < entries.length; index++) {
			const entry = entries[index]!;
			if (!entry.isActive) {
				continue;
			}

			const {subscriber} = entry;
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
