/**
 * DNS-SD browsing over mDNS, without sockets: packets in, questions out.
 * Browses `_services._dns-sd._udp.local`, then each type it lists; follows
 * PTR → SRV/TXT → A; learns from every response on the link (announcements
 * too); a record with TTL 0 is a goodbye; a service is trusted until the
 * first of its PTR and SRV records expires (re-asked at 80 % and 90 % of
 * that, RFC 6762 §5.2), then the table makes it stale, then gone.
 */
import type {Answer, DecodedPacket, Question, SrvData} from 'dns-packet';
import type {Endpoint} from '../../events.js';
import {graceMs, type ServiceTable} from '../services/service-table.js';
import {SERVICE_TYPES, instanceLabel, isServiceType, recordsOf, txtPairs, typeOfInstance} from './codec.js';

/** Bounds and timing of the browser. */
export type MdnsBrowserLimits = {
	/** Service types remembered. @default 64 */
	maxTypes: number;
	/** Service instances remembered (resolved or not). @default 512 */
	maxInstances: number;
	/** Host names with addresses remembered. @default 512 */
	maxHosts: number;
	/** Records read from one packet. @default 128 */
	maxRecords: number;
	/** Questions in one query packet. @default 32 */
	maxQuestions: number;
	/** A record is trusted at most this long without being heard again, whatever its TTL. @default 4500000 (75 min, the longest DNS-SD TTL) */
	maxTtlMs: number;
};

/** The limits unless told otherwise. */
export const DEFAULT_MDNS_LIMITS: Readonly<MdnsBrowserLimits> = {maxTypes: 64, maxInstances: 512, maxHosts: 512, maxRecords: 128, maxQuestions: 32, maxTtlMs: 4_500_000};

/** Waits between browses of the service types: 1 s, doubling, at most a minute. */
const FIRST_BROWSE_MS = 1000;
const LONGEST_BROWSE_MS = 60_000;
/** How long an instance that never resolved (no SRV) is remembered. */
const UNRESOLVED_MS = 10_000;

type Instance = {
	type: string;
	ptrExpiresAt: number | undefined;
	srv: {target: string; port: number; expiresAt: number} | undefined;
	/** Undefined until its TXT record came: RFC 6763 §6 gives every service one, so it is awaited before the service is shown. */
	txt: Record<string, string> | undefined;
	from: string;
	/** Fractions of the lifetime already re-asked for (0.8, 0.9). */
	asked: number;
	lifetime: number;
	since: number;
};

/**
 * A host's addresses, the one to show first: IPv4 before IPv6 (what most
 * clients dial), the address the answer came from before others of its
 * family. A link-local IPv6 address only works with its interface, so it
 * takes the `%eth0` the answer arrived on.
 */
export function orderAddresses(addresses: readonly string[], sender: string): string[] {
	const [senderAddress, scope] = sender.split('%');
	const scoped = addresses.map((address) => (scope !== undefined && /^fe[89ab]/i.test(address) && !address.includes('%') ? `${address}%${scope}` : address));
	const rank = (address: string) => (address.includes(':') ? 2 : 0) + (address.split('%')[0] === senderAddress?.toLowerCase() ? 0 : 1);
	return scoped.sort((a, b) => rank(a) - rank(b));
}

/** What the browser counted. */
export type MdnsCounts = {queriesSeen: number; responses: number; goodbyes: number; questionsSent: number; refused: number};

/**
 * The browser state. `send` gets the questions to ask (the glue multicasts
 * them on every interface); `table` gets every resolved service.
 */
export class MdnsBrowser {
	readonly counts: MdnsCounts = {queriesSeen: 0, responses: 0, goodbyes: 0, questionsSent: 0, refused: 0};
	readonly #types = new Set<string>();
	readonly #instances = new Map<string, Instance>();
	/** Host name (lower case) → address (A or AAAA) → expiry. */
	readonly #hosts = new Map<string, Map<string, number>>();
	readonly #pending = new Map<string, Question>();
	readonly #table: ServiceTable;
	readonly #send: (questions: Question[]) => void;
	readonly #limits: MdnsBrowserLimits;
	#nextBrowseAt = 0;
	#browseWait = FIRST_BROWSE_MS;

	constructor(table: ServiceTable, send: (questions: Question[]) => void, limits: Partial<MdnsBrowserLimits> = {}) {
		this.#table = table;
		this.#send = send;
		this.#limits = {...DEFAULT_MDNS_LIMITS, ...limits};
	}

	/** Ask for the service types now. */
	start(now: number): void {
		this.#browse(now);
		this.#flush();
	}

	/** One datagram's decoded packet from `from`. Queries are only counted: netdash never answers them. */
	receive(packet: DecodedPacket, from: Endpoint, now: number): void {
		if (packet.type !== 'response') {
			this.counts.queriesSeen++;
			return;
		}

		this.counts.responses++;
		const touched = new Set<string>();
		const touchedHosts = new Set<string>();
		const askedBefore = new Set(this.#pending.keys());
		for (const record of recordsOf(packet).slice(0, this.#limits.maxRecords)) {
			this.#record(record, from, now, touched, touchedHosts);
		}

		this.#forgetAnswered(askedBefore);

		for (const [fqdn, instance] of this.#instances) {
			if (instance.srv && touchedHosts.has(instance.srv.target.toLowerCase())) {
				touched.add(fqdn);
			}
		}

		for (const fqdn of touched) {
			this.#publish(fqdn, now);
		}

		this.#flush();
	}

	/** Re-ask for what is about to expire, browse again when due. */
	tick(now: number): void {
		if (now >= this.#nextBrowseAt) {
			this.#browse(now);
		}

		for (const [fqdn, instance] of this.#instances) {
			// Gone from the table by now (expired), or never resolved: forget it so the cap is not held by the dead.
			if (now > instance.since + instance.lifetime + graceMs(instance.lifetime) + (instance.srv && instance.txt ? 0 : UNRESOLVED_MS)) {
				this.#instances.delete(fqdn);
				continue;
			}

			if (!instance.srv || !instance.txt) {
				continue;
			}

			const fraction = instance.asked === 0 ? 0.8 : (instance.asked < 0.9 ? 0.9 : undefined);
			if (fraction !== undefined && now >= instance.since + (instance.lifetime * fraction)) {
				instance.asked = fraction;
				this.#ask(instance.type, 'PTR');
				this.#ask(fqdn, 'SRV');
				this.#ask(fqdn, 'TXT');
			}
		}

		this.#flush();
	}

	#browse(now: number): void {
		this.#ask(SERVICE_TYPES, 'PTR');
		for (const type of this.#types) {
			this.#ask(type, 'PTR');
		}

		this.#nextBrowseAt = now + this.#browseWait;
		this.#browseWait = Math.min(LONGEST_BROWSE_MS, this.#browseWait * 2);
	}

	/**
	 * Drop the questions this packet raised that its own later records answered: a PTR comes
	 * before its instance's SRV and TXT, an SRV before its host's address, and an announcement
	 * holds them all. Asked anyway, 120 hosts announcing at once made ~1,200 questions (38
	 * queries), and our own queries come back to us (multicast loopback) from our own address,
	 * whose token bucket a responder on this host (avahi) shares.
	 */
	#forgetAnswered(askedBefore: ReadonlySet<string>): void {
		for (const [key, question] of this.#pending) {
			if (askedBefore.has(key)) {
				continue;
			}

			const instance = question.type === 'SRV' || question.type === 'TXT' ? this.#instances.get(question.name) : undefined;
			const isAnswered =
				question.type === 'SRV'
					? instance?.srv !== undefined
					: question.type === 'TXT'
						? instance?.txt !== undefined
						: (question.type === 'A' || question.type === 'AAAA') && (this.#hosts.get(question.name.toLowerCase())?.size ?? 0) > 0;
			if (isAnswered) {
				this.#pending.delete(key);
			}
		}
	}

	#ask(name: string, type: 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA'): void {
		this.#pending.set(`${type} ${name.toLowerCase()}`, {name, type, class: 'IN'});
	}

	#flush(): void {
		while (this.#pending.size > 0) {
			const questions = [...this.#pending.values()].slice(0, this.#limits.maxQuestions);
			for (const question of questions) {
				this.#pending.delete(`${question.type} ${question.name.toLowerCase()}`);
			}

			this.counts.questionsSent += questions.length;
			this.#send(questions);
		}
	}

	#ttlMs(record: Answer): number {
		const ttl = 'ttl' in record && typeof record.ttl === 'number' ? record.ttl : 0;
		return Math.min(ttl * 1000, this.#limits.maxTtlMs);
	}

	#record(record: Answer, from: Endpoint, now: number, touched: Set<string>, touchedHosts: Set<string>): void {
		const name = typeof record.name === 'string' ? record.name : '';
		const ttlMs = this.#ttlMs(record);
		switch (record.type) {
			case 'PTR': {
				const data = String(record.data);
				if (name.toLowerCase() === SERVICE_TYPES) {
					if (ttlMs > 0 && isServiceType(data) && !this.#types.has(data) && this.#types.size < this.#limits.maxTypes) {
						this.#types.add(data);
						this.#ask(data, 'PTR');
					}
				} else if (isServiceType(name) && instanceLabel(data, name) !== undefined) {
					if (ttlMs === 0) {
						this.#goodbye(data);
					} else {
						const instance = this.#instance(data, name, from, now);
						if (instance) {
							instance.ptrExpiresAt = now + ttlMs;
							touched.add(data);
							if (!instance.srv || !instance.txt) {
								this.#ask(data, 'SRV');
								this.#ask(data, 'TXT');
							}
						}
					}
				}

				break;
			}

			case 'SRV': {
				const type = typeOfInstance(name);
				if (type === undefined) {
					break;
				}

				if (ttlMs === 0) {
					this.#goodbye(name);
					break;
				}

				const instance = this.#instance(name, type, from, now);
				const data = record.data as SrvData | undefined;
				if (instance && data && typeof data.target === 'string' && Number.isInteger(data.port)) {
					instance.srv = {target: data.target, port: data.port, expiresAt: now + ttlMs};
					touched.add(name);
					if (!instance.txt) {
						this.#ask(name, 'TXT');
					}

					if (!this.#hosts.has(data.target.toLowerCase())) {
						this.#ask(data.target, 'A');
						this.#ask(data.target, 'AAAA');
					}
				}

				break;
			}

			case 'TXT': {
				const type = typeOfInstance(name);
				const instance = type === undefined || ttlMs === 0 ? undefined : this.#instance(name, type, from, now);
				if (instance) {
					instance.txt = txtPairs(record.data);
					touched.add(name);
				}

				break;
			}

			case 'A':
			case 'AAAA': {
				const host = name.toLowerCase();
				const address = String(record.data).toLowerCase();
				let addresses = this.#hosts.get(host);
				if (ttlMs === 0) {
					addresses?.delete(address);
				} else {
					if (!addresses && this.#hosts.size < this.#limits.maxHosts) {
						addresses = new Map();
						this.#hosts.set(host, addresses);
					}

					// Eight addresses per host name are plenty; more is someone filling memory.
					if (addresses && (addresses.has(address) || addresses.size < 8)) {
						addresses.set(address, now + ttlMs);
					}
				}

				touchedHosts.add(host);
				break;
			}

			default:
		}
	}

	#instance(fqdn: string, type: string, from: Endpoint, now: number): Instance | undefined {
		let instance = this.#instances.get(fqdn);
		if (!instance) {
			if (this.#instances.size >= this.#limits.maxInstances) {
				this.counts.refused++;
				return undefined;
			}

			instance = {type, ptrExpiresAt: undefined, srv: undefined, txt: undefined, from: from.address, asked: 0, lifetime: 0, since: now};
			this.#instances.set(fqdn, instance);
		}

		instance.from = from.address;
		return instance;
	}

	#goodbye(fqdn: string): void {
		if (this.#instances.delete(fqdn)) {
			this.counts.goodbyes++;
			this.#table.remove('mdns', fqdn, 'bye');
		}
	}

	#publish(fqdn: string, now: number): void {
		const instance = this.#instances.get(fqdn);
		if (!instance?.srv || !instance.txt) {
			return;
		}

		const expiresAt = Math.min(instance.srv.expiresAt, instance.ptrExpiresAt ?? Number.POSITIVE_INFINITY);
		instance.lifetime = Math.max(0, expiresAt - now);
		instance.since = now;
		instance.asked = 0;
		const addresses = orderAddresses([...(this.#hosts.get(instance.srv.target.toLowerCase()) ?? new Map<string, number>())].filter(([, expiry]) => expiry > now).map(([address]) => address), instance.from);
		const type = instance.type.replace(/\.local$/i, '');
		const isAccepted = this.#table.see({
			protocol: 'mdns',
			key: fqdn,
			name: instanceLabel(fqdn, instance.type) ?? fqdn,
			serviceType: type,
			host: instance.srv.target,
			address: addresses[0] ?? instance.from,
			port: instance.srv.port,
			txt: instance.txt,
			details: addresses.length > 1 ? {addresses: addresses.join(' ')} : {},
		}, instance.lifetime, now);
		if (!isAccepted) {
			this.counts.refused++;
			this.#instances.delete(fqdn);
		}
	}
}
