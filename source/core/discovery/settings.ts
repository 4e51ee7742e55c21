/**
 * What the discovery protocol is given and what it counts: its default
 * port and interval, the limits on what strangers can make it hold or do,
 * the world it is injected with, and its exact counters.
 */
import type {Endpoint, EventInput} from '../events.js';
import type {Refusal} from '../udp/admission.js';
import type {SourceKind} from './source-address.js';

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
	/**
	 * Datagrams all sources together may send at once: room for a full table
	 * of 256 peers to answer a probe and announce within the same moment. @default 512
	 */
	globalBurst: number;
	/** Datagrams per second all sources together may send, sustained (256 peers announcing every 5 s send ≈ 51/s). @default 128 */
	globalPerSecond: number;
	/** Challenge probes sent to newcomers refused by a full table, per second (burst: twice as many). @default 4 */
	challengesPerSecond: number;
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
	globalBurst: 512,
	globalPerSecond: 128,
	challengesPerSecond: 4,
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
	/** The allow/deny rules. @default everyone */
	refusal?: Refusal;
	/** What a source address is (see source-address.ts). @default every address is `local` */
	classify?: (address: string) => SourceKind;
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
	/** Dropped, by reason (`denied`, `bad-source`, `rate-limited`, `overloaded`, codec reasons, `unknown-request`, `unknown-peer`, `table-full`, `peer-limit`). */
	dropped: Record<string, number>;
	droppedTotal: number;
	repliesSent: number;
	/** Probes not answered: their source is on none of our subnets (counted in `accepted`: the peer is still heard). */
	unanswered: number;
	/** Challenge probes sent to newcomers refused by a full table. */
	challengesSent: number;
	/** Per-source states dropped to stay within `maxSources`. */
	sourcesEvicted: number;
	/** Peers evicted to stay within `maxPeers`. */
	peersEvicted: number;
};
