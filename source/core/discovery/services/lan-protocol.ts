/**
 * What every LAN protocol module (mdns/, ssdp/, syncthing/) offers the one
 * LAN discovery that runs them, and the flood gate they all put in front of
 * their decoders.
 */
import type {Bus} from '../../bus.js';
import type {Endpoint, ServiceProtocol} from '../../events.js';
import type {Refusal} from '../../udp/admission.js';
import {DropReports, FloodLimiter, type FloodLimits} from '../limiter.js';
import type {ServiceTable} from './service-table.js';

/** One protocol's socket glue. */
export type LanProtocol = {
	readonly protocol: ServiceProtocol;
	/** Bind and start browsing; resolves false when the socket could not be bound (a `socket-failed` says why). */
	start(now: number): Promise<boolean>;
	/** Timers: re-queries, searches. */
	tick(now: number): void;
	/** Interface addresses it listens on. */
	readonly interfaces: string[];
	/** Local ports of its bound sockets (shared with other programs: 5353 with avahi), for the kernel's drop counts. */
	readonly ports: number[];
	close(): void;
};

/** What a protocol module is given. */
export type LanContext = {
	bus: Bus;
	table: ServiceTable;
	/** The allow/deny rules of the listeners, applied to every datagram. */
	refusal: Refusal;
	/** Per-source and global token buckets. */
	flood: FloodLimits;
};

/** Rates a LAN protocol accepts: a busy subnet's responders answer a browse in a burst, a flood gets cut. */
export const DEFAULT_LAN_FLOOD: Readonly<FloodLimits> = {maxSources: 1024, burst: 64, perSecond: 32, globalBurst: 1024, globalPerSecond: 256};

/**
 * The gate before a decoder: allow/deny rules, then the token buckets. A
 * dropped datagram is summed into at most one `packet-dropped` per reason
 * per second (`mdns-rate-limited`, `ssdp-malformed`, …).
 */
export class LanGate {
	readonly #limiter: FloodLimiter;
	readonly #drops: DropReports;
	readonly #refusal: Refusal;
	readonly #protocol: ServiceProtocol;
	/** Datagrams dropped, by reason. */
	readonly dropped = new Map<string, number>();

	constructor(context: LanContext, protocol: ServiceProtocol, now: number) {
		this.#protocol = protocol;
		this.#refusal = context.refusal;
		this.#limiter = new FloodLimiter(context.flood, now);
		this.#drops = new DropReports((reason, summary) => {
			context.bus.emit({type: 'packet-dropped', from: summary.from, reason, bytes: summary.bytes, count: summary.count});
		});
	}

	/** True when the datagram may be decoded. */
	admit(from: Endpoint, bytes: number, now: number): boolean {
		if (this.#refusal(from.address) !== undefined) {
			this.drop('refused', from, bytes, now);
			return false;
		}

		const verdict = this.#limiter.admit(from.address, now, false);
		if (verdict !== 'ok') {
			this.drop(verdict, from, bytes, now);
			return false;
		}

		return true;
	}

	/** Count a dropped datagram (a decoder's reason, or the gate's). */
	drop(reason: string, from: Endpoint, bytes: number, now: number): void {
		const key = `${this.#protocol}-${reason}`;
		this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
		this.#drops.add(key, from, bytes, now);
	}

	/** Report drops that are due. */
	flush(now: number, isFinal = false): void {
		this.#drops.flush(now, isFinal);
	}
}
