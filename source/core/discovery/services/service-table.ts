/**
 * The one table every LAN protocol (mDNS, SSDP, Syncthing) reports into: it
 * turns "heard this service, trust it for N ms" into `service-discovered` /
 * `service-updated` / `service-expired` / `service-left` events, so the
 * store and the pane never care which protocol found a host. Pure: the
 * caller passes the time.
 */
import type {EventInput, ServiceFields, ServiceProtocol, ServiceUpdated} from '../../events.js';

/** Bounds on what strangers can make the table hold. */
export type ServiceLimits = {
	/** Services in the table, all protocols together. @default 1024 */
	maxServices: number;
	/** Distinct host addresses. @default 256 */
	maxHosts: number;
	/** Services behind one address. @default 64 */
	maxPerHost: number;
	/** Bytes of one text field (name, service type, host, one TXT value). @default 255 */
	maxFieldBytes: number;
	/** TXT pairs (and detail fields) kept per service. @default 32 */
	maxPairs: number;
};

/** The limits unless told otherwise. */
export const DEFAULT_SERVICE_LIMITS: Readonly<ServiceLimits> = {maxServices: 1024, maxHosts: 256, maxPerHost: 64, maxFieldBytes: 255, maxPairs: 32};

/** What a protocol reports of one service it heard. */
export type ServiceSighting = Omit<ServiceFields, 'state' | 'firstSeen' | 'lastSeen' | 'expiresAt'>;

/** How long a stale service is kept before it is removed: a quarter of its lifetime, between 1 and 10 s. */
export function graceMs(lifetimeMs: number): number {
	return Math.min(10_000, Math.max(1000, lifetimeMs / 4));
}

/** Cut a string to `maxBytes` of UTF-8 without splitting a character. */
export function clampText(text: string, maxBytes: number): string {
	if (Buffer.byteLength(text) <= maxBytes) {
		return text;
	}

	let cut = text.slice(0, maxBytes);
	while (Buffer.byteLength(cut) > maxBytes) {
		cut = cut.slice(0, -1);
	}

	return cut;
}

type Entry = ServiceFields & {lifetimeMs: number};

const comparedFields = ['name', 'host', 'address', 'port', 'txt', 'details'] as const;

function sameValue(a: unknown, b: unknown): boolean {
	return typeof a === 'object' && a !== null ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

/** Why a sighting was not taken into the table. */
export type Refused = 'table-full' | 'host-limit' | 'per-host-limit';

/**
 * Services by protocol and key. A service heard again is refreshed; one whose
 * lifetime runs out turns `stale` and, a grace time later, is removed with
 * `service-expired`. Refusals (caps) are counted, never thrown.
 */
export class ServiceTable {
	readonly #entries = new Map<string, Entry>();
	readonly #limits: ServiceLimits;
	readonly #emit: (event: EventInput) => void;
	/** Sightings refused by a cap, by reason. */
	readonly refused = new Map<Refused, number>();

	constructor(emit: (event: EventInput) => void, limits: Partial<ServiceLimits> = {}) {
		this.#emit = emit;
		this.#limits = {...DEFAULT_SERVICE_LIMITS, ...limits};
	}

	/** Services in the table. */
	get size(): number {
		return this.#entries.size;
	}

	/** One service, by protocol and key. */
	get(protocol: ServiceProtocol, key: string): Readonly<ServiceFields> | undefined {
		return this.#entries.get(`${protocol} ${key}`);
	}

	/** Every service, oldest first. */
	list(): Array<Readonly<ServiceFields>> {
		return [...this.#entries.values()];
	}

	/** A service was heard: trust it for `lifetimeMs` from `now`. Returns false when a cap refused it. */
	see(sighting: ServiceSighting, lifetimeMs: number, now: number): boolean {
		const id = `${sighting.protocol} ${sighting.key}`;
		const clean = this.#clean(sighting);
		const existing = this.#entries.get(id);
		if (!existing) {
			const refusal = this.#refusal(clean.address);
			if (refusal) {
				this.refused.set(refusal, (this.refused.get(refusal) ?? 0) + 1);
				return false;
			}

			const entry: Entry = {...clean, state: 'fresh', firstSeen: now, lastSeen: now, expiresAt: now + lifetimeMs, lifetimeMs};
			this.#entries.set(id, entry);
			this.#emit({type: 'service-discovered', ...this.#public(entry)});
			return true;
		}

		const changed: ServiceUpdated['changed'] = comparedFields.filter((field) => !sameValue(existing[field], clean[field]));
		if (existing.state === 'stale') {
			changed.push('state');
		}

		Object.assign(existing, clean, {state: 'fresh', lastSeen: now, expiresAt: now + lifetimeMs, lifetimeMs});
		if (changed.length > 0) {
			this.#emit({type: 'service-updated', changed, ...this.#public(existing)});
		}

		return true;
	}

	/** A service said goodbye (or was dropped): remove it at once with `service-left`. */
	remove(protocol: ServiceProtocol, key: string, reason: 'bye' | 'evicted' | 'stopped'): boolean {
		const id = `${protocol} ${key}`;
		const entry = this.#entries.get(id);
		if (!entry) {
			return false;
		}

		this.#entries.delete(id);
		this.#emit({type: 'service-left', reason, ...this.#public(entry)});
		return true;
	}

	/** Remove every service of `protocol` (browsing stopped). */
	clear(protocol: ServiceProtocol): void {
		for (const entry of [...this.#entries.values()]) {
			if (entry.protocol === protocol) {
				this.remove(protocol, entry.key, 'stopped');
			}
		}
	}

	/** Services whose lifetime ran out turn stale; stale ones past their grace time are removed. */
	tick(now: number): void {
		for (const [id, entry] of [...this.#entries]) {
			if (entry.state === 'fresh' && now >= entry.expiresAt) {
				entry.state = 'stale';
				this.#emit({type: 'service-updated', changed: ['state'], ...this.#public(entry)});
			} else if (entry.state === 'stale' && now >= entry.expiresAt + graceMs(entry.lifetimeMs)) {
				this.#entries.delete(id);
				this.#emit({type: 'service-expired', ...this.#public(entry)});
			}
		}
	}

	#refusal(address: string): Refused | undefined {
		if (this.#entries.size >= this.#limits.maxServices) {
			return 'table-full';
		}

		let onHost = 0;
		const hosts = new Set<string>();
		for (const entry of this.#entries.values()) {
			hosts.add(entry.address);
			if (entry.address === address) {
				onHost++;
			}
		}

		if (onHost === 0 && hosts.size >= this.#limits.maxHosts) {
			return 'host-limit';
		}

		return onHost >= this.#limits.maxPerHost ? 'per-host-limit' : undefined;
	}

	#clean(sighting: ServiceSighting): ServiceSighting {
		const {maxFieldBytes, maxPairs} = this.#limits;
		const pairs = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).slice(0, maxPairs).map(([key, value]) => [clampText(key, maxFieldBytes), clampText(value, maxFieldBytes)]));
		return {
			protocol: sighting.protocol,
			key: clampText(sighting.key, maxFieldBytes),
			name: clampText(sighting.name, maxFieldBytes),
			serviceType: clampText(sighting.serviceType, maxFieldBytes),
			host: clampText(sighting.host, maxFieldBytes),
			address: clampText(sighting.address, 64),
			port: sighting.port,
			txt: pairs(sighting.txt),
			details: pairs(sighting.details),
		};
	}

	#public(entry: Entry): ServiceFields {
		const {lifetimeMs: _, ...fields} = entry;
		return {...fields, txt: {...fields.txt}, details: {...fields.details}};
	}
}
