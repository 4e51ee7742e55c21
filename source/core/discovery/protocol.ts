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
 * - Hostile input, in the order it is checked: the allow/deny rules
 *   (`datagram-refused`); the source address (broadcast, multicast and
 *   network addresses are dropped as `bad-source`: see source-address.ts);
 *   a token from the source's bucket and one from the global bucket
 *   (limiter.ts: a flood is dropped before it is even decoded); then the
 *   codec. Drops are counted exactly and reported per reason at most once
 *   a second. Probes are answered only when the source is a unicast
 *   address on one of our subnets.
 * - The peer table holds `maxPeers` and at most `maxPeersPerAddress` per
 *   address. A peer is verified once it answered one of our probes (it
 *   received our random request id at its address). When the table is full
 *   the least recently seen non-fresh peer is evicted; if every peer is
 *   fresh, a verified newcomer displaces the least recently seen unverified
 *   peer, and an unverified one is refused (`table-full`) and sent a
 *   challenge probe (at most `challengesPerSecond`), whose reply verifies
 *   it. So a flood of forged announces can fill the table but cannot keep
 *   real newcomers out, and cannot push out verified live peers.
 */
import type {Endpoint, PeerFields} from '../events.js';
import {RefusalReports} from '../udp/admission.js';
import {decode, encode, encodingLength, hasMagic, MAX_PORTS, MIN_PACKET_BYTES, type DiscoveryPacket} from './codec.js';
import {DropReports, FloodLimiter, TokenBucket, type DropSummary} from './limiter.js';
import {PeerTable, type Sighting} from './peer-table.js';
import {defaultLimits, type DiscoveryLimits, type DiscoveryStats, type ProtocolSettings} from './settings.js';

export {DEFAULT_DISCOVERY_PORT, DEFAULT_INTERVAL_MS, defaultLimits, type DiscoveryLimits, type DiscoveryStats, type ProtocolSettings} from './settings.js';

/** A probe sent to one newcomer's address: only a reply from that address counts. */
type Challenge = {address: string; sentAt: number; bytes: number};

type OutstandingProbe = {
	sentAt: number;
	/** Size of the probe: a reply at least this size minus 3 may have been cut to fit. */
	bytes: number;
	/** Instance ids that answered it (the first answer times the round trip). */
	answered: Set<string>;
};

/** Probes remembered for their replies. */
const MAX_OUTSTANDING_PROBES = 32;
/** Challenges remembered for their replies. */
const MAX_CHALLENGES = 64;

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
		unanswered: 0,
		challengesSent: 0,
		sourcesEvicted: 0,
		peersEvicted: 0,
	};

	readonly #table: PeerTable;
	readonly #limiter: FloodLimiter;
	readonly #drops: DropReports;
	readonly #refusals: RefusalReports;
	readonly #challengeBucket: TokenBucket;
	readonly #probes = new Map<number, OutstandingProbe>();
	readonly #challenges = new Map<number, Challenge>();
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
		const now = settings.now();
		this.#limiter = new FloodLimiter(this.limits, now);
		this.#challengeBucket = new TokenBucket(2 * this.limits.challengesPerSecond, this.limits.challengesPerSecond, now);
		this.#drops = new DropReports((reason, summary) => {
			this.#emitDrop(reason, summary);
		});
		this.#refusals = new RefusalReports('discovery', settings.emit, settings.now);
		this.#table = new PeerTable({...this.limits, intervalMs: this.intervalMs, now: settings.now, emit: settings.emit});
	}

	/** Peers in the table now. */
	get peerCount(): number {
		return this.#table.size;
	}

	/** Source addresses with state now. */
	get sourceCount(): number {
		return this.#limiter.size;
	}

	/** A copy of the peer table, least recently heard first. */
	peers(): PeerFields[] {
		return this.#table.peers();
	}

	/** Instance ids of peers that proved their address by answering a probe. */
	verifiedPeers(): string[] {
		return this.#table.verifiedPeers();
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
		this.#drops.flush(this.#settings.now(), true);
		this.#refusals.flush(true);
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

		this.#table.sweep(now);
		this.#drops.flush(now, false);
		this.#refusals.flush();
		const forgetAfter = Math.max(30_000, 4 * this.intervalMs);
		for (const [id, probe] of this.#probes) {
			if (now - probe.sentAt > forgetAfter) {
				this.#probes.delete(id);
			}
		}

		for (const [id, challenge] of this.#challenges) {
			if (now - challenge.sentAt > forgetAfter) {
				this.#challenges.delete(id);
			}
		}
	}

	/** One datagram that arrived on the discovery port. Never throws. */
	receive(bytes: Buffer, from: Endpoint): void {
		const now = this.#settings.now();
		this.stats.received++;
		const rule = this.#settings.refusal?.(from.address);
		if (rule !== undefined) {
			// Before any bucket: a denied flood must not use up the tokens of everyone else.
			this.#count('denied');
			this.#refusals.refuse(from, bytes.length, rule);
			return;
		}

		const kind = this.#settings.classify?.(from.address) ?? 'local';
		if (kind === 'not-unicast') {
			// A broadcast or multicast "source" is forged: heard as a peer, it would be answered by every instance.
			this.#drop('bad-source', from, bytes.length);
			return;
		}

		const verdict = this.#limiter.admit(from.address, now, this.#table.isVerifiedAddress(from.address));
		this.stats.sourcesEvicted = this.#limiter.sourcesEvicted;
		if (verdict !== 'ok') {
			this.#drop(verdict, from, bytes.length);
			return;
		}

		if (!hasMagic(bytes)) {
			this.stats.foreign++;
			this.#drops.add('foreign', from, bytes.length, now, Buffer.from(bytes.subarray(0, this.limits.foreignBytes)));
			return;
		}

		const result = decode(bytes);
		if (!result.ok) {
			this.#drop(result.reason, from, bytes.length);
			return;
		}

		const {packet} = result;
		if (packet.instanceId === this.instanceId) {
			this.stats.own++;
			return;
		}

		const isLocal = kind === 'local';
		switch (packet.kind) {
			case 'announce': {
				this.#observe({packet, from, via: 'announce', rttMs: undefined, isWhole: true, isVerified: false}, bytes.length, isLocal);
				break;
			}

			case 'probe': {
				if (isLocal) {
					this.#answer(packet, from, bytes.length);
				} else {
					this.stats.unanswered++;
				}

				this.#observe({packet, from, via: 'probe', rttMs: undefined, isWhole: true, isVerified: false}, bytes.length, isLocal);
				break;
			}

			case 'reply': {
				this.#onReply(packet, from, bytes.length, now, isLocal);
				break;
			}

			case 'bye': {
				if (this.#table.bye(packet.instanceId)) {
					this.stats.accepted++;
				} else {
					this.#drop('unknown-peer', from, bytes.length);
				}

				break;
			}
		}
	}

	/** A reply to our broadcast probe, or to a challenge sent to its address: either way, proof of the address. */
	#onReply(packet: DiscoveryPacket, from: Endpoint, bytes: number, now: number, isLocal: boolean): void {
		const probe = this.#probes.get(packet.requestId);
		const challenge = probe ? undefined : this.#challenges.get(packet.requestId);
		if (challenge?.address === from.address) {
			this.#challenges.delete(packet.requestId);
			const rtt = Math.round((now - challenge.sentAt) * 100) / 100;
			this.#observe({packet, from, via: 'reply', rttMs: rtt, isWhole: bytes + 4 <= challenge.bytes, isVerified: true}, bytes, isLocal);
			return;
		}

		if (!probe) {
			this.#drop('unknown-request', from, bytes);
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
		const isWhole = bytes + 4 <= probe.bytes;
		this.#observe({packet, from, via: 'reply', rttMs: rtt, isWhole, isVerified: true}, bytes, isLocal);
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
			peers: this.#table.size,
			peersEvicted: stats.peersEvicted,
			sources: this.#limiter.size,
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

	/** Hand a sighting to the table; a refusal is a drop, and a newcomer refused by a full table is challenged. */
	#observe(sighting: Sighting, bytes: number, isLocal: boolean): void {
		const verdict = this.#table.observe(sighting);
		this.stats.peersEvicted = this.#table.evicted;
		if (verdict === 'ok') {
			this.stats.accepted++;
			return;
		}

		this.#drop(verdict, sighting.from, bytes);
		if (verdict === 'table-full' && sighting.via !== 'reply' && isLocal) {
			this.#challenge(sighting.from, bytes);
		}
	}

	/**
	 * A unicast probe to a newcomer the full table refused: its reply proves
	 * its address and lets it displace an unverified peer. No larger than the
	 * datagram that caused it (no amplification) and rate-limited (a flood of
	 * forged announces must not become a flood of probes to forged addresses).
	 */
	#challenge(to: Endpoint, triggerBytes: number): void {
		const now = this.#settings.now();
		if (!this.#challengeBucket.take(now)) {
			return;
		}

		let requestId = this.#settings.requestId();
		while (this.#probes.has(requestId) || this.#challenges.has(requestId)) {
			requestId = this.#settings.requestId();
		}

		const probe = encode(fitPacket({kind: 'probe', instanceId: this.instanceId, requestId, name: this.name, ports: this.#ports()}, triggerBytes));
		this.#challenges.set(requestId, {address: to.address, sentAt: now, bytes: probe.length});
		if (this.#challenges.size > MAX_CHALLENGES) {
			this.#challenges.delete(this.#challenges.keys().next().value!);
		}

		this.stats.challengesSent++;
		this.#settings.send(probe, to);
	}

	#count(reason: string): void {
		this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
		this.stats.droppedTotal++;
	}

	#drop(reason: string, from: Endpoint, bytes: number): void {
		this.#count(reason);
		this.#drops.add(reason, from, bytes, this.#settings.now());
	}

	#emitDrop(reason: string, {from, bytes, count, data}: DropSummary): void {
		if (reason === 'foreign') {
			this.#settings.emit({type: 'foreign-datagram', from, bytes, data: data ?? Buffer.alloc(0), count});
		} else {
			this.#settings.emit({type: 'packet-dropped', from, reason, bytes, count});
		}
	}
}
