/**
 * The discovery protocol without sockets or timers: what to send, what a
 * datagram means, and the peer table. The glue (`discovery.ts`) feeds it
 * datagrams and calls `tick()`; the clock, the random source and the output
 * are injected, so tests can drive it through time without waiting.
 *
 * - Announces go to every target on `start()` and every interval ± 10 %.
 * - A probe goes out on `start()` and on `probe()`, resent with backoff
 *   (0.5, 1, 2, 4 s …) while nobody replies, at most `probeAttempts` times.
 *   Each attempt has a fresh random request id; a reply must carry one.
 * - Every probe is answered with a unicast reply no larger than the probe
 *   (ports, then name bytes, are cut to fit): no amplification.
 * - A peer that misses one announce (silent for 1.5 intervals) is `stale`;
 *   three (3.5 intervals) and it is `expired` and removed. The half interval
 *   covers the ± 10 % jitter. States are judged by this instance's interval:
 *   instances on one subnet should share it.
 * - A new instance id from the address and port of a known peer is a
 *   restart: the old entry is replaced. If the old id is heard again, both
 *   are alive behind one endpoint (two instances sharing the port with
 *   SO_REUSEADDR) and that endpoint is exempt from restart detection.
 * - Hostile input: every datagram first takes a token from its source
 *   address's bucket (a flood is dropped before it is even decoded); what
 *   does not decode is dropped and counted by reason. Per-source state is an
 *   LRU of `maxSources`. The peer table holds `maxPeers` and at most
 *   `maxPeersPerAddress` per address; when full, the least recently seen
 *   non-fresh peer is evicted, and if every peer is fresh the newcomer is
 *   refused (`table-full`) — a flood cannot push out live peers.
 */
import type {Endpoint, EventInput, PeerFields} from '../events.js';
import {decode, encode, encodingLength, hasMagic, MAX_PORTS, MIN_PACKET_BYTES, type DiscoveryPacket} from './codec.js';

/** Discovery's UDP port unless told otherwise (registered range; not in /etc/services). */
export const DEFAULT_DISCOVERY_PORT = 47_474;

/** Seconds between announces unless told otherwise. */
export const DEFAULT_INTERVAL_MS = 5000;

/** Bounds on what strangers can make this instance hold or do. */
export type DiscoveryLimits = {
	/** Peers in the table. @default 256 */
	maxPeers: number;
	/** Peers behind one source address. @default 8 */
	maxPeersPerAddress: number;
	/** Source addresses with rate-limit state and counters (LRU). @default 1024 */
	maxSources: number;
	/** Datagrams a source may send at once. @default 32 */
	burst: number;
	/** Datagrams per second a source may send, sustained. @default 16 */
	perSecond: number;
	/** Probe attempts while nobody replies. @default 5 */
	probeAttempts: number;
	/** Wait after the first probe; doubled per attempt. @default 500 */
	probeBackoffMs: number;
	/** Bytes of a foreign datagram kept in its event. @default 64 */
	foreignBytes: number;
};

/** The default limits. */
export const defaultLimits: Readonly<DiscoveryLimits> = Object.freeze({
	maxPeers: 256,
	maxPeersPerAddress: 8,
	maxSources: 1024,
	burst: 32,
	perSecond: 16,
	probeAttempts: 5,
	probeBackoffMs: 500,
	foreignBytes: 64,
});

/** What the protocol needs from the world. */
export type ProtocolSettings = {
	instanceId: string;
	/** Already clamped to 64 UTF-8 bytes (`clampName`). */
	name: string;
	intervalMs: number;
	limits?: Partial<DiscoveryLimits>;
	/** Epoch milliseconds, fractional allowed (RTT is measured with it). */
	now: () => number;
	/** Uniform in [0, 1), for jitter. */
	random: () => number;
	/** A fresh non-zero u32 request id. */
	requestId: () => number;
	/** TCP ports this instance offers now. */
	ports: () => number[];
	/** Hand a datagram to the socket: to one endpoint, or to every broadcast target. */
	send: (bytes: Buffer, to: Endpoint | 'targets') => void;
	/** Report a fact on the bus. */
	emit: (event: EventInput) => void;
};

/** Exact counters: `received` = `accepted` + `own` + `foreign` + `droppedTotal`. */
export type DiscoveryStats = {
	received: number;
	/** Decoded and acted on. */
	accepted: number;
	/** Our own packets (our broadcasts come back to us), ignored. */
	own: number;
	/** Not netdash's (no magic). */
	foreign: number;
	/** Dropped, by reason (codec reasons, `rate-limited`, `unknown-request`, `unknown-peer`, `table-full`, `peer-limit`). */
	dropped: Record<string, number>;
	droppedTotal: number;
	repliesSent: number;
	/** Per-source states dropped to stay within `maxSources`. */
	sourcesEvicted: number;
	/** Peers evicted to stay within `maxPeers`. */
	peersEvicted: number;
};

type Peer = PeerFields;

type Source = {
	address: string;
	tokens: number;
	refilledAt: number;
	received: number;
	dropped: number;
	/** Rate-limited datagrams not yet reported. */
	pendingLimited: number;
	pendingBytes: number;
	pendingPort: number;
	reportedAt: number;
};

type OutstandingProbe = {
	sentAt: number;
	/** Size of the probe: a reply at least this size minus 3 may have been cut to fit. */
	bytes: number;
	/** Instance ids that answered it (the first answer times the round trip). */
	answered: Set<string>;
};

/** Probes remembered for their replies. */
const MAX_OUTSTANDING_PROBES = 32;
/** Replaced ids and shared endpoints remembered for restart detection. */
const RESTART_MEMORY = 64;
/** Least time between two reports of rate-limited datagrams from one source. */
const REPORT_INTERVAL_MS = 1000;

function endpointKey(from: Endpoint): string {
	return `${from.address}:${from.port}`;
}

/** A copy of the fields of a peer, for an event. */
function fields(peer: Peer): PeerFields {
	const {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen} = peer;
	return {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen};
}

function samePorts(a: readonly number[], b: readonly number[]): boolean {
	return a.length === b.length && a.every((port, index) => port === b[index]);
}

/**
 * The packet cut to at most `maxBytes`: ports go first (from the end), then
 * name bytes at a code point boundary. `maxBytes` must be at least 21 (the
 * smallest packet), which any probe that decoded is.
 */
export function fitPacket(packet: DiscoveryPacket, maxBytes: number): DiscoveryPacket {
	if (encodingLength(packet) <= maxBytes) {
		return packet;
	}

	const ports = [...packet.ports];
	while (ports.length > 0 && encodingLength({...packet, ports}) > maxBytes) {
		ports.pop();
	}

	let {name} = packet;
	const room = Math.max(0, maxBytes - MIN_PACKET_BYTES - (2 * ports.length));
	if (Buffer.byteLength(name, 'utf8') > room) {
		let cut = '';
		let used = 0;
		for (const codePoint of name) {
			used += Buffer.byteLength(codePoint, 'utf8');
			if (used > room) {
				break;
			}

			cut += codePoint;
		}

		name = cut;
	}

	return {...packet, name, ports};
}

/** The next announce delay: the interval ± 10 %, so instances started together drift apart. */
export function jittered(intervalMs: number, random: () => number): number {
	return intervalMs * (1 + (((random() * 2) - 1) * 0.1));
}

/** See the module comment. */
export class DiscoveryProtocol {
	readonly instanceId: string;
	readonly name: string;
	readonly intervalMs: number;
	readonly limits: Readonly<DiscoveryLimits>;
	readonly stats: DiscoveryStats = {
		received: 0,
		accepted: 0,
		own: 0,
		foreign: 0,
		dropped: {},
		droppedTotal: 0,
		repliesSent: 0,
		sourcesEvicted: 0,
		peersEvicted: 0,
	};

	/** By instance id, least recently heard first. */
	readonly #peers = new Map<string, Peer>();
	readonly #byEndpoint = new Map<string, string>();
	readonly #perAddress = new Map<string, number>();
	readonly #replaced = new Map<string, string>();
	readonly #shared = new Set<string>();
	/** By source address, least recently heard first. */
	readonly #sources = new Map<string, Source>();
	readonly #probes = new Map<number, OutstandingProbe>();
	readonly #settings: ProtocolSettings;
	#nextAnnounceAt = Number.POSITIVE_INFINITY;
	/** `received` when stats were last reported. */
	#reportedReceived = 0;
	#probeAttempt = 0;
	/** `ref` of the probe command being resent, if any. */
	#probeRef: string | undefined;
	#nextProbeAt = Number.POSITIVE_INFINITY;

	constructor(settings: ProtocolSettings) {
		this.#settings = settings;
		this.instanceId = settings.instanceId;
		this.name = settings.name;
		this.intervalMs = settings.intervalMs;
		this.limits = Object.freeze({...defaultLimits, ...settings.limits});
	}

	/** Peers in the table now. */
	get peerCount(): number {
		return this.#peers.size;
	}

	/** Source addresses with state now. */
	get sourceCount(): number {
		return this.#sources.size;
	}

	/** A copy of the peer table, least recently heard first. */
	peers(): PeerFields[] {
		return [...this.#peers.values()].map((peer) => fields(peer));
	}

	/** Announce and probe now; announces then repeat every interval. */
	start(): void {
		this.#announce();
		this.probe();
	}

	/** Probe now, and again with backoff until someone replies; `ref` is echoed on its `probe-sent` events. */
	probe(ref?: string): void {
		this.#probeRef = ref;
		this.#probeAttempt = 0;
		this.#sendProbe();
	}

	/** Say bye to every target; the protocol does nothing more after this. */
	stop(): void {
		this.#nextAnnounceAt = Number.POSITIVE_INFINITY;
		this.#nextProbeAt = Number.POSITIVE_INFINITY;
		this.#flushReports(true);
		this.#reportStats();
		this.#settings.send(this.#encode('bye', 0, this.#settings.ports()), 'targets');
	}

	/** Do what is due: announce, resend a probe, age peers, report rate-limited sources. */
	tick(): void {
		const now = this.#settings.now();
		if (now >= this.#nextAnnounceAt) {
			this.#announce();
		}

		if (now >= this.#nextProbeAt) {
			this.#sendProbe();
		}

		this.#sweep(now);
		this.#flushReports(false);
		for (const [id, probe] of this.#probes) {
			if (now - probe.sentAt > Math.max(30_000, 4 * this.intervalMs)) {
				this.#probes.delete(id);
			}
		}
	}

	/** One datagram that arrived on the discovery port. Never throws. */
	receive(bytes: Buffer, from: Endpoint): void {
		const now = this.#settings.now();
		this.stats.received++;
		const source = this.#source(from.address, now);
		source.received++;
		if (!this.#admit(source, now)) {
			this.#count('rate-limited', source);
			source.pendingLimited++;
			source.pendingBytes = bytes.length;
			source.pendingPort = from.port;
			if (now - source.reportedAt >= REPORT_INTERVAL_MS) {
				this.#report(source, now);
			}

			return;
		}

		if (!hasMagic(bytes)) {
			this.stats.foreign++;
			const kept = Buffer.from(bytes.subarray(0, this.limits.foreignBytes));
			this.#settings.emit({type: 'foreign-datagram', from, bytes: bytes.length, data: kept});
			return;
		}

		const result = decode(bytes);
		if (!result.ok) {
			this.#drop(result.reason, source, from, bytes.length);
			return;
		}

		const {packet} = result;
		if (packet.instanceId === this.instanceId) {
			this.stats.own++;
			return;
		}

		switch (packet.kind) {
			case 'announce': {
				this.#observe(packet, from, 'announce', undefined, true, source, bytes.length);
				break;
			}

			case 'probe': {
				this.#answer(packet, from, bytes.length);
				this.#observe(packet, from, 'probe', undefined, true, source, bytes.length);
				break;
			}

			case 'reply': {
				const probe = this.#probes.get(packet.requestId);
				if (!probe) {
					this.#drop('unknown-request', source, from, bytes.length);
					return;
				}

				// Nobody needs more probes: someone answered.
				this.#nextProbeAt = Number.POSITIVE_INFINITY;
				const isFirstAnswer = !probe.answered.has(packet.instanceId);
				if (isFirstAnswer && probe.answered.size < this.limits.maxPeers) {
					probe.answered.add(packet.instanceId);
				}

				const rtt = isFirstAnswer ? Math.round((now - probe.sentAt) * 100) / 100 : undefined;
				// A reply within 3 bytes of the probe's size may have been cut to fit: do not trust its name and ports.
				const isWhole = bytes.length + 4 <= probe.bytes;
				this.#observe(packet, from, 'reply', rtt, isWhole, source, bytes.length);
				break;
			}

			case 'bye': {
				const peer = this.#peers.get(packet.instanceId);
				if (!peer) {
					this.#drop('unknown-peer', source, from, bytes.length);
					return;
				}

				this.stats.accepted++;
				this.#remove(peer, 'bye');
				break;
			}
		}
	}

	#announce(): void {
		const now = this.#settings.now();
		this.#reportStats();
		this.#settings.send(this.#encode('announce', 0, this.#settings.ports()), 'targets');
		this.#nextAnnounceAt = now + jittered(this.intervalMs, this.#settings.random);
	}

	/** Counters on the bus, once per interval (with the announce) and only when they changed. */
	#reportStats(): void {
		const {stats} = this;
		if (stats.received === this.#reportedReceived) {
			return;
		}

		this.#reportedReceived = stats.received;
		this.#settings.emit({
			type: 'discovery-stats',
			received: stats.received,
			accepted: stats.accepted,
			own: stats.own,
			foreign: stats.foreign,
			dropped: stats.droppedTotal,
			repliesSent: stats.repliesSent,
			peers: this.#peers.size,
			peersEvicted: stats.peersEvicted,
			sources: this.#sources.size,
			sourcesEvicted: stats.sourcesEvicted,
		});
	}

	#sendProbe(): void {
		const now = this.#settings.now();
		this.#probeAttempt++;
		let requestId = this.#settings.requestId();
		while (this.#probes.has(requestId)) {
			requestId = this.#settings.requestId();
		}

		const bytes = this.#encode('probe', requestId, this.#settings.ports());
		this.#probes.set(requestId, {sentAt: now, bytes: bytes.length, answered: new Set()});
		if (this.#probes.size > MAX_OUTSTANDING_PROBES) {
			this.#probes.delete(this.#probes.keys().next().value!);
		}

		this.#settings.send(bytes, 'targets');
		const ref = this.#probeRef;
		this.#settings.emit({type: 'probe-sent', requestId, attempt: this.#probeAttempt, ...(ref ? {ref} : {})});
		const wait = Math.min(this.limits.probeBackoffMs * (2 ** (this.#probeAttempt - 1)), Math.max(this.intervalMs, this.limits.probeBackoffMs));
		this.#nextProbeAt = this.#probeAttempt >= this.limits.probeAttempts ? Number.POSITIVE_INFINITY : now + wait;
	}

	#answer(probe: DiscoveryPacket, to: Endpoint, probeBytes: number): void {
		const reply = fitPacket({kind: 'reply', instanceId: this.instanceId, requestId: probe.requestId, name: this.name, ports: this.#ports()}, probeBytes);
		this.stats.repliesSent++;
		this.#settings.send(encode(reply), to);
	}

	#encode(kind: DiscoveryPacket['kind'], requestId: number, ports: number[]): Buffer {
		return encode({kind, instanceId: this.instanceId, requestId, name: this.name, ports: this.#ports(ports)});
	}

	#ports(ports = this.#settings.ports()): number[] {
		return [...new Set(ports)].filter((port) => Number.isInteger(port) && port > 0 && port < 65_536).sort((a, b) => a - b).slice(0, MAX_PORTS);
	}

	#observe(packet: DiscoveryPacket, from: Endpoint, via: 'announce' | 'probe' | 'reply', rttMs: number | undefined, isWhole: boolean, source: Source, bytes: number): void {
		const now = this.#settings.now();
		const key = endpointKey(from);
		const known = this.#peers.get(packet.instanceId);
		if (known) {
			this.stats.accepted++;
			const changed: Array<'name' | 'ports' | 'address' | 'state' | 'rtt'> = [];
			if (known.address !== from.address || known.port !== from.port) {
				this.#unindex(known);
				known.address = from.address;
				known.port = from.port;
				this.#index(known);
				changed.push('address');
			}

			if (isWhole && known.name !== packet.name) {
				known.name = packet.name;
				changed.push('name');
			}

			if (isWhole && !samePorts(known.ports, packet.ports)) {
				known.ports = packet.ports;
				changed.push('ports');
			}

			if (known.state !== 'fresh') {
				known.state = 'fresh';
				changed.push('state');
			}

			if (rttMs !== undefined) {
				known.rttMs = rttMs;
				changed.push('rtt');
			}

			known.lastSeen = now;
			// Most recently heard last: the LRU order eviction reads.
			this.#peers.delete(known.instanceId);
			this.#peers.set(known.instanceId, known);
			this.#settings.emit({type: 'peer-updated', changed, ...fields(known)});
			return;
		}

		let restartOf: string | undefined;
		if (this.#replaced.has(packet.instanceId)) {
			// The "restarted" instance is alive: two instances share this endpoint.
			this.#replaced.delete(packet.instanceId);
			this.#remember(this.#shared, key);
		} else {
			const previousId = this.#byEndpoint.get(key);
			const previous = previousId === undefined ? undefined : this.#peers.get(previousId);
			if (previous && !this.#shared.has(key)) {
				restartOf = previous.instanceId;
				this.#remove(previous, 'restarted');
				this.#replaced.set(previous.instanceId, key);
				if (this.#replaced.size > RESTART_MEMORY) {
					this.#replaced.delete(this.#replaced.keys().next().value!);
				}
			}
		}

		if (restartOf === undefined) {
			if ((this.#perAddress.get(from.address) ?? 0) >= this.limits.maxPeersPerAddress) {
				this.#drop('peer-limit', source, from, bytes);
				return;
			}

			if (this.#peers.size >= this.limits.maxPeers && !this.#evictOne()) {
				this.#drop('table-full', source, from, bytes);
				return;
			}
		}

		this.stats.accepted++;
		const peer: Peer = {
			instanceId: packet.instanceId,
			name: packet.name,
			address: from.address,
			port: from.port,
			ports: packet.ports,
			state: 'fresh',
			rttMs: rttMs ?? null,
			firstSeen: now,
			lastSeen: now,
		};
		this.#peers.set(peer.instanceId, peer);
		this.#index(peer);
		this.#settings.emit({type: 'peer-discovered', via, ...(restartOf === undefined ? {} : {restartOf}), ...fields(peer)});
	}

	/** Evict the least recently heard peer that is not fresh; false when every peer is fresh. */
	#evictOne(): boolean {
		for (const peer of this.#peers.values()) {
			if (peer.state !== 'fresh') {
				this.stats.peersEvicted++;
				this.#remove(peer, 'evicted');
				return true;
			}
		}

		return false;
	}

	#remove(peer: Peer, reason: 'bye' | 'restarted' | 'evicted' | 'expired'): void {
		this.#peers.delete(peer.instanceId);
		this.#unindex(peer);
		if (reason === 'expired') {
			peer.state = 'expired';
			this.#settings.emit({type: 'peer-expired', ...fields(peer)});
		} else {
			this.#settings.emit({type: 'peer-left', reason, ...fields(peer)});
		}
	}

	#index(peer: Peer): void {
		this.#byEndpoint.set(endpointKey(peer), peer.instanceId);
		this.#perAddress.set(peer.address, (this.#perAddress.get(peer.address) ?? 0) + 1);
	}

	#unindex(peer: Peer): void {
		const key = endpointKey(peer);
		if (this.#byEndpoint.get(key) === peer.instanceId) {
			this.#byEndpoint.delete(key);
		}

		const count = (this.#perAddress.get(peer.address) ?? 1) - 1;
		if (count > 0) {
			this.#perAddress.set(peer.address, count);
		} else {
			this.#perAddress.delete(peer.address);
		}
	}

	#sweep(now: number): void {
		const stale = 1.5 * this.intervalMs;
		const expired = 3.5 * this.intervalMs;
		for (const peer of [...this.#peers.values()]) {
			const silence = now - peer.lastSeen;
			if (silence > expired) {
				this.#remove(peer, 'expired');
			} else if (silence > stale && peer.state === 'fresh') {
				peer.state = 'stale';
				this.#settings.emit({type: 'peer-updated', changed: ['state'], ...fields(peer)});
			}
		}
	}

	#source(address: string, now: number): Source {
		let source = this.#sources.get(address);
		if (source) {
			this.#sources.delete(address);
		} else {
			source = {
				address,
				tokens: this.limits.burst,
				refilledAt: now,
				received: 0,
				dropped: 0,
				pendingLimited: 0,
				pendingBytes: 0,
				pendingPort: 0,
				reportedAt: Number.NEGATIVE_INFINITY,
			};
			if (this.#sources.size >= this.limits.maxSources) {
				const oldest = this.#sources.values().next().value!;
				this.#report(oldest, now); // Its unreported drops are reported before it is forgotten.
				this.#sources.delete(oldest.address);
				this.stats.sourcesEvicted++;
			}
		}

		this.#sources.set(address, source);
		return source;
	}

	/** Token bucket: `burst` at once, `perSecond` sustained. */
	#admit(source: Source, now: number): boolean {
		const elapsed = Math.max(0, now - source.refilledAt) / 1000;
		source.tokens = Math.min(this.limits.burst, source.tokens + (elapsed * this.limits.perSecond));
		source.refilledAt = now;
		if (source.tokens < 1) {
			return false;
		}

		source.tokens--;
		return true;
	}

	#count(reason: string, source: Source): void {
		this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
		this.stats.droppedTotal++;
		source.dropped++;
	}

	#drop(reason: string, source: Source, from: Endpoint, bytes: number): void {
		this.#count(reason, source);
		this.#settings.emit({type: 'packet-dropped', from, reason, bytes, count: 1});
	}

	#report(source: Source, now: number): void {
		if (source.pendingLimited === 0) {
			return;
		}

		this.#settings.emit({
			type: 'packet-dropped',
			from: {address: source.address, port: source.pendingPort},
			reason: 'rate-limited',
			bytes: source.pendingBytes,
			count: source.pendingLimited,
		});
		source.pendingLimited = 0;
		source.reportedAt = now;
	}

	#flushReports(isFinal: boolean): void {
		const now = this.#settings.now();
		for (const source of this.#sources.values()) {
			if (source.pendingLimited > 0 && (isFinal || now - source.reportedAt >= REPORT_INTERVAL_MS)) {
				this.#report(source, now);
			}
		}
	}

	#remember(set: Set<string>, key: string): void {
		set.add(key);
		if (set.size > RESTART_MEMORY) {
			set.delete(set.values().next().value!);
		}
	}
}
