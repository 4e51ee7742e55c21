/**
 * Flood control for the discovery port: token buckets per source address
 * and for everyone together, and drop reports summed per reason. Pure: the
 * caller passes the time, so tests drive it without waiting.
 */
import type {Endpoint} from '../events.js';

/** `burst` tokens at once, refilled at `perSecond`. */
export class TokenBucket {
	#tokens: number;
	#refilledAt: number;
	readonly #burst: number;
	readonly #perSecond: number;

	constructor(burst: number, perSecond: number, now: number) {
		this.#burst = burst;
		this.#perSecond = perSecond;
		this.#tokens = burst;
		this.#refilledAt = now;
	}

	/** Take one token; false (and nothing taken) when the bucket is empty. */
	take(now: number): boolean {
		const elapsed = Math.max(0, now - this.#refilledAt) / 1000;
		this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#perSecond));
		this.#refilledAt = now;
		if (this.#tokens < 1) {
			return false;
		}

		this.#tokens--;
		return true;
	}
}

/** The limits the flood limiter applies. */
export type FloodLimits = {
	/** Source addresses with a bucket (LRU). */
	maxSources: number;
	/** Per source: datagrams at once, and per second sustained. */
	burst: number;
	perSecond: number;
	/** Everyone together: datagrams at once, and per second sustained. */
	globalBurst: number;
	globalPerSecond: number;
};

/** What the limiter says of one datagram. */
export type FloodVerdict = 'ok' | 'rate-limited' | 'overloaded';

/**
 * A bucket per source address, then one for everyone. Why both: the
 * per-source buckets live in an LRU of `maxSources`, so a flood from more
 * addresses than that (spoofed sources cost nothing) gets a fresh burst per
 * address and a source that comes back after eviction gets its burst again;
 * only the global bucket bounds the total work and events a flood can cause.
 * Sources the caller trusts (addresses of peers that proved them by answering
 * a probe) skip the global bucket, so a flood cannot starve known peers of
 * their announces and have them expire.
 */
export class FloodLimiter {
	/** Per-source buckets dropped to stay within `maxSources`. */
	sourcesEvicted = 0;
	/** By source address, least recently heard first. */
	readonly #sources = new Map<string, TokenBucket>();
	readonly #global: TokenBucket;
	readonly #limits: FloodLimits;

	constructor(limits: FloodLimits, now: number) {
		this.#limits = limits;
		this.#global = new TokenBucket(limits.globalBurst, limits.globalPerSecond, now);
	}

	/** Source addresses with a bucket now. */
	get size(): number {
		return this.#sources.size;
	}

	/** Take a token for one datagram from `address`: its own bucket first, then the global one unless `isTrusted`. */
	admit(address: string, now: number, isTrusted: boolean): FloodVerdict {
		let bucket = this.#sources.get(address);
		if (bucket) {
			this.#sources.delete(address);
		} else {
			bucket = new TokenBucket(this.#limits.burst, this.#limits.perSecond, now);
			if (this.#sources.size >= this.#limits.maxSources) {
				this.#sources.delete(this.#sources.keys().next().value!);
				this.sourcesEvicted++;
			}
		}

		this.#sources.set(address, bucket);
		if (!bucket.take(now)) {
			return 'rate-limited';
		}

		return isTrusted || this.#global.take(now) ? 'ok' : 'overloaded';
	}
}

/** What a report says: how many, the last source, its size and (for foreign datagrams) its first bytes. */
export type DropSummary = {from: Endpoint; bytes: number; count: number; data: Buffer | undefined};

type Pending = DropSummary & {reportedAt: number};

/** Least time between two reports of one reason. */
export const DROP_REPORT_MS = 1000;

/**
 * Drops summed per reason: the first of a reason is reported at once, the
 * rest at most once per second with their count. Why: every datagram a
 * flood gets admitted used to yield its own event, so the bus, the JSON
 * stream and the terminal carried the flood; now a flood of any size costs
 * at most one event per reason per second.
 */
export class DropReports {
	readonly #pending = new Map<string, Pending>();
	readonly #emit: (reason: string, summary: DropSummary) => void;

	constructor(emit: (reason: string, summary: DropSummary) => void) {
		this.#emit = emit;
	}

	/** Count one dropped datagram of `reason`. */
	add(reason: string, from: Endpoint, bytes: number, now: number, data?: Buffer): void {
		let pending = this.#pending.get(reason);
		if (!pending) {
			pending = {from, bytes, count: 0, data, reportedAt: Number.NEGATIVE_INFINITY};
			this.#pending.set(reason, pending);
		}

		pending.count++;
		pending.from = from;
		pending.bytes = bytes;
		pending.data = data;
		if (now - pending.reportedAt >= DROP_REPORT_MS) {
			this.#report(reason, pending, now);
		}
	}

	/** Milliseconds until the first report held back is due (0: now), or undefined when none is held back. */
	dueIn(now: number): number | undefined {
		let due: number | undefined;
		for (const pending of this.#pending.values()) {
			if (pending.count > 0) {
				const wait = Math.max(0, pending.reportedAt + DROP_REPORT_MS - now);
				due = due === undefined ? wait : Math.min(due, wait);
			}
		}

		return due;
	}

	/** Report what is due (or everything, when `isFinal`). */
	flush(now: number, isFinal: boolean): void {
		for (const [reason, pending] of this.#pending) {
			if (pending.count > 0 && (isFinal || now - pending.reportedAt >= DROP_REPORT_MS)) {
				this.#report(reason, pending, now);
			}
		}
	}

	#report(reason: string, pending: Pending, now: number): void {
		const {from, bytes, count, data} = pending;
		pending.count = 0;
		pending.data = undefined;
		pending.reportedAt = now;
		this.#emit(reason, {from, bytes, count, data});
	}
}
