import type {Endpoint, EventInput} from '../events.js';

/**
 * The allow/deny check for one source address: the matching rule's text
 * when it is refused, undefined when it may be heard. UDP sockets and
 * discovery use the listeners' rules (`--allow` / `--deny`), so a denied
 * host is refused the same way whatever it talks to.
 */
export type Refusal = (address: string) => string | undefined;

/** Everyone may be heard: for sockets made without rules (tests, tools). */
export const admitEveryone: Refusal = () => undefined;

/** What `refusalOf` needs of the listeners' admission (tcp/admission.ts). */
export type AdmissionLike = {
	readonly rules: {readonly allow: readonly string[]; readonly deny: readonly string[]};
	refusal(address: string): string | undefined;
};

/** Addresses whose verdict is remembered under one set of rules. */
const VERDICT_CACHE = 4096;

/**
 * The admission's check, made cheap enough to run on every datagram of a
 * flood (100k+/s): with no rules nothing is checked at all, otherwise
 * verdicts are remembered per address until the rules change (a new rules
 * object). A cache miss costs the same as a TCP accept's check.
 */
export function refusalOf(admission: AdmissionLike): Refusal {
	let rules = admission.rules;
	const verdicts = new Map<string, string | undefined>();
	return (address) => {
		if (admission.rules !== rules) {
			rules = admission.rules;
			verdicts.clear();
		}

		if (rules.allow.length === 0 && rules.deny.length === 0) {
			return undefined;
		}

		if (verdicts.has(address)) {
			return verdicts.get(address);
		}

		const verdict = admission.refusal(address);
		if (verdicts.size >= VERDICT_CACHE) {
			verdicts.clear(); // A spoofed-source flood would churn an LRU for nothing: start over.
		}

		verdicts.set(address, verdict);
		return verdict;
	};
}

/** Least time between two `datagram-refused` events for one rule on one socket. */
export const REFUSAL_REPORT_MS = 1000;

type Pending = {count: number; bytes: number; from: Endpoint; reportedAt: number};

/**
 * Refused datagrams counted exactly and reported as `datagram-refused`: the
 * first of a rule at once, then at most one event per rule per second with
 * the count since the last one. Why: a TCP refusal costs the peer a
 * handshake, a spoofed UDP datagram costs it nothing, so one event per
 * datagram would let a denied host flood the bus and the terminal. Pure:
 * the clock and the output are injected; `flush()` is called by the
 * owner's tick, or by a timer of its own with `hasTimer`.
 */
export class RefusalReports {
	/** Datagrams refused so far. */
	total = 0;
	readonly #pending = new Map<string, Pending>();
	readonly #socket: string;
	readonly #emit: (event: EventInput) => void;
	readonly #now: () => number;
	readonly #hasTimer: boolean;
	#timer: NodeJS.Timeout | undefined;

	/** With `hasTimer`, refusals held back are reported when their second is over even if nothing else happens. */
	constructor(socket: string, emit: (event: EventInput) => void, now: () => number, hasTimer = false) {
		this.#socket = socket;
		this.#emit = emit;
		this.#now = now;
		this.#hasTimer = hasTimer;
	}

	/** True while refusals wait for their report. */
	get hasPending(): boolean {
		for (const pending of this.#pending.values()) {
			if (pending.count > 0) {
				return true;
			}
		}

		return false;
	}

	/** Count one refused datagram; reported at once unless this rule was reported within the last second. */
	refuse(from: Endpoint, bytes: number, rule: string): void {
		this.total++;
		const now = this.#now();
		let pending = this.#pending.get(rule);
		if (!pending) {
			pending = {count: 0, bytes, from, reportedAt: Number.NEGATIVE_INFINITY};
			this.#pending.set(rule, pending);
		}

		pending.count++;
		pending.bytes = bytes;
		pending.from = from;
		if (now - pending.reportedAt >= REFUSAL_REPORT_MS) {
			this.#report(rule, pending, now);
		} else {
			this.#arm();
		}
	}

	/** Report what waits: what is due, or everything when `isFinal` (closing). */
	flush(isFinal = false): void {
		if (isFinal) {
			clearTimeout(this.#timer);
			this.#timer = undefined;
		}

		const now = this.#now();
		for (const [rule, pending] of this.#pending) {
			if (pending.count > 0 && (isFinal || now - pending.reportedAt >= REFUSAL_REPORT_MS)) {
				this.#report(rule, pending, now);
			}
		}
	}

	/** One timer at a time; re-armed while anything still waits (rules' seconds end at different times). */
	#arm(): void {
		if (!this.#hasTimer || this.#timer) {
			return;
		}

		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			this.flush();
			if (this.hasPending) {
				this.#arm();
			}
		}, REFUSAL_REPORT_MS);
		this.#timer.unref();
	}

	#report(rule: string, pending: Pending, now: number): void {
		this.#emit({type: 'datagram-refused', socket: this.#socket, from: pending.from, rule, bytes: pending.bytes, count: pending.count});
		pending.count = 0;
		pending.reportedAt = now;
	}
}
