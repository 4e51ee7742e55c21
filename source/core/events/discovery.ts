import type {Endpoint} from './base.js';

/** Bus events of netdash's own peer discovery. Re-exported by ../events.ts, which holds the BusEvent union. */

/** Discovery is running: its socket is bound and the first announce and probe are out. */
export type DiscoveryStarted = {
	type: 'discovery-started';
	port: number;
	/** This run's random instance id (16 hex characters). */
	instanceId: string;
	name: string;
	intervalMs: number;
	/** Where announces and probes go (directed broadcast addresses, or what `--broadcast-address` named). */
	targets: Endpoint[];
};

/** Discovery stopped (after its `bye` went out) or its socket failed. */
export type DiscoveryStopped = {
	type: 'discovery-stopped';
	reason: 'stopped' | 'failed';
	/** Datagrams received on the discovery port over the run. */
	received: number;
	/** Of those, dropped (malformed, rate-limited, refused by a limit). */
	dropped: number;
};

/**
 * Discovery's exact counters, at most once per interval and only when they
 * changed: `received` = `accepted` + `own` + `foreign` + `dropped`.
 */
export type DiscoveryStatsReported = {
	type: 'discovery-stats';
	received: number;
	accepted: number;
	own: number;
	foreign: number;
	dropped: number;
	repliesSent: number;
	/** Peers in the table, and peers evicted from it to stay within its cap. */
	peers: number;
	peersEvicted: number;
	/** Source addresses with rate-limit state, and those forgotten to stay within its cap. */
	sources: number;
	sourcesEvicted: number;
};

/** A discovery probe went out (first try, or a resend with backoff while nobody answers). */
export type ProbeSent = {
	type: 'probe-sent';
	requestId: number;
	attempt: number;
};

/** What the peer table knows about one netdash instance. */
export type PeerFields = {
	instanceId: string;
	/** Its announced name, as sent (escape it for display). */
	name: string;
	/** Where its packets come from. */
	address: string;
	port: number;
	/** TCP ports it offers (its listeners on non-loopback addresses). */
	ports: number[];
	/** `fresh`, `stale` (one announce missed), `expired` (three missed: then removed). */
	state: 'fresh' | 'stale' | 'expired';
	/** Round trip of the last probe it answered, when one was. */
	rttMs: number | null;
	firstSeen: number;
	lastSeen: number;
};

/** A netdash instance appeared. */
export type PeerDiscovered = {
	type: 'peer-discovered';
	/** The packet kind that revealed it. */
	via: 'announce' | 'probe' | 'reply';
	/** When it replaces another instance id from the same address and port: that id (a restart). */
	restartOf?: string;
} & PeerFields;

/** A known peer was heard from again or changed (`changed` lists what: name, ports, address, state, rtt). */
export type PeerUpdated = {
	type: 'peer-updated';
	changed: Array<'name' | 'ports' | 'address' | 'state' | 'rtt'>;
} & PeerFields;

/** A peer missed three announces and was removed. */
export type PeerExpired = {
	type: 'peer-expired';
} & PeerFields;

/** A peer was removed at once: it said `bye`, restarted (new instance id, same address) or was evicted to keep the table bounded. */
export type PeerLeft = {
	type: 'peer-left';
	reason: 'bye' | 'restarted' | 'evicted';
} & PeerFields;
