import type {Endpoint} from './base.js';

/** Bus events of The machine's sockets (System pane). Re-exported by ../events.ts, which holds the BusEvent union. */

// System pane (issue 14): the machine's sockets, as core/system/ reads them.

/** A socket's transport. */
export type SocketProtocol = 'tcp' | 'udp';

/**
 * One socket of the machine as the kernel's table lists it
 * (`/proc/net/{tcp,tcp6,udp,udp6}`), before the process and the counters are
 * joined to it.
 */
export type KernelSocket = {
	protocol: SocketProtocol;
	/** 4 or 6: which table listed it (an IPv4-mapped address can sit in the IPv6 one). */
	family: 4 | 6;
	local: Endpoint;
	/** `0.0.0.0:0` / `:::0` for a listener or an unconnected UDP socket. */
	remote: Endpoint;
	/** In `ss` names: `ESTAB`, `SYN-SENT`, `LISTEN`, `TIME-WAIT`, `UNCONN`, … */
	state: string;
	/** Bytes not yet read by the program (on a TCP listener: connections waiting in the accept queue). */
	recvQueue: number;
	/** Bytes not yet acknowledged by the peer (TCP) or not yet sent (UDP). */
	sendQueue: number;
	/** The owner's user id. */
	uid: number;
	/** The socket's inode; 0 when no file holds it any more (TIME-WAIT, orphaned FIN-WAIT). */
	inode: number;
};

/** One socket of the machine with its process and counters: a row of `system-sockets`. */
export type SystemSocket = KernelSocket & {
	/** The process holding it, or null when that cannot be read (see `whyUnknown`). */
	pid: number | null;
	/** Its command name (`/proc/PID/comm`), or `?` when the process is unknown. */
	process: string;
	/** Why the process is unknown (another user's process, TIME-WAIT, …); absent when it is known. */
	whyUnknown?: string;
	/** TCP payload bytes received; null for UDP and when the socket diagnostics cannot be read. */
	bytesIn: number | null;
	/** TCP payload bytes acknowledged by the peer; null for UDP and when the diagnostics cannot be read. */
	bytesOut: number | null;
	/** TCP smoothed rtt in ms; null when unknown. */
	rttMs: number | null;
	/** True when netdash itself holds it. */
	isOwn: boolean;
};

/** A socket in a `system-sockets-changed` event: with rates since the previous refresh. */
export type SystemSocketRates = SystemSocket & {
	/** Bytes per second received since the previous refresh; null when unknown (UDP, first sight, no ss). */
	rateIn: number | null;
	/** Bytes per second acknowledged since the previous refresh; null when unknown. */
	rateOut: number | null;
};

/** Every TCP and UDP socket of the machine, read once (`{"cmd":"sockets"}`). */
export type SystemSocketsListed = {
	type: 'system-sockets';
	sockets: SystemSocket[];
	/** What this reading could not show, one sentence each (no `ss`, other users' processes, not Linux); empty when nothing is missing. */
	missing: string[];
	/** Wall time the reading took, ms. */
	tookMs: number;
};

/**
 * What changed among the machine's sockets since the previous refresh of a
 * watch (`watch-sockets`); the first lists every socket as opened. Emitted
 * only when something changed. A socket is known by its 4-tuple, so
 * `ESTAB` → `TIME-WAIT` is a change of one socket.
 */
export type SystemSocketsChanged = {
	type: 'system-sockets-changed';
	opened: SystemSocketRates[];
	/** Sockets whose state, queues, counters, owner or rates changed. */
	changed: SystemSocketRates[];
	/** Sockets gone since the previous refresh, as last seen. */
	closed: SystemSocketRates[];
	/** Sockets on the machine now. */
	total: number;
	/** Milliseconds since the previous refresh (0 on the first): what the rates are over. */
	intervalMs: number;
	missing: string[];
	tookMs: number;
};
