import type {Endpoint} from './base.js';

/** Bus events of UDP sockets: binding, datagrams, requests. Re-exported by ../events.ts, which holds the BusEvent union. */

/** A UDP socket is bound (ids `U1`, `U2`, …). */
export type UdpBound = {
	type: 'udp-bound';
	socket: string;
	address: string;
	port: number;
	/** True when it may send to broadcast addresses (SO_BROADCAST). */
	isBroadcast: boolean;
	/** True when it answers every request (see `udpRequest`) with a reply carrying the same id. */
	isEcho: boolean;
};

/** A UDP socket was connected: it now sends only there, and the kernel drops datagrams from anyone else. */
export type UdpConnected = {
	type: 'udp-connected';
	socket: string;
	remote: Endpoint;
};

/** SO_BROADCAST was turned on or off on a UDP socket. */
export type UdpBroadcastChanged = {
	type: 'udp-broadcast-changed';
	socket: string;
	isBroadcast: boolean;
};

/** One datagram arrived, whole. `data` is the datagram; `--json` prints it as `base64`. */
export type DatagramReceived = {
	type: 'datagram-received';
	socket: string;
	from: Endpoint;
	bytes: number;
	data: Buffer;
};

/**
 * Datagrams from a source the allow/deny rules refuse were dropped unread
 * (no `datagram-received`, no echo, no discovery reply). `socket` is a UDP
 * socket id or `discovery`. The first is reported at once, then at most one
 * event per rule per second per socket, `count` saying how many it stands for.
 */
export type DatagramRefused = {
	type: 'datagram-refused';
	socket: string;
	/** The (last) refused source. */
	from: Endpoint;
	/** The rule that matched, e.g. `deny 10.0.0.0/8`. */
	rule: string;
	/** Size of the (last) datagram. */
	bytes: number;
	/** Datagrams this event stands for. */
	count: number;
};

/** The kernel took one datagram (it may still be lost on the way: UDP never says). */
export type DatagramSent = {
	type: 'datagram-sent';
	socket: string;
	to: Endpoint;
	bytes: number;
	data: Buffer;
	/** Set when the datagram is larger than the route's MTU carries: "… will fragment (over N on the route's M-byte MTU); a lost fragment loses all of it". */
	warning?: string;
	/** For a request (see `request-completed`): its id and which attempt this is (1, 2, …). */
	requestId?: number;
	attempt?: number;
};

/** A UDP socket is closed. Counters are exact. */
export type UdpClosed = {
	type: 'udp-closed';
	socket: string;
	datagramsIn: number;
	datagramsOut: number;
	bytesIn: number;
	bytesOut: number;
	/** Datagrams dropped while netdash's output was backed up (see `datagrams-dropped`). */
	dropped: number;
};

/**
 * Datagrams a UDP socket received and dropped, unread, because netdash's
 * output (stdout, the `--log` file) was backed up: counted like the
 * kernel's own drops instead of queued in memory. At most once per watch
 * interval per socket, when the count rose.
 */
export type DatagramsDropped = {
	type: 'datagrams-dropped';
	socket: string;
	reason: 'backpressure';
	/** Dropped since the last such event. */
	count: number;
	/** Dropped since the socket was bound. */
	total: number;
};

/** A reply carrying a request's id arrived. */
export type RequestCompleted = {
	type: 'request-completed';
	socket: string;
	requestId: number;
	/** Round trip of the attempt the reply answers (the reply echoes the attempt number). */
	rttMs: number;
	/** Attempts sent, the answered one included. */
	attempts: number;
	from: Endpoint;
};

/** A request got no reply after all its attempts, or could not be sent. */
export type RequestFailed = {
	type: 'request-failed';
	socket: string;
	requestId: number;
	attempts: number;
	to: Endpoint;
	message: string;
};

/** A reply that matches no request in flight was ignored (counted on the socket). */
export type ReplyIgnored = {
	type: 'reply-ignored';
	socket: string;
	from: Endpoint;
	requestId: number;
	/** `unknown`: never asked (or long forgotten); `duplicate`: the request was already answered. */
	reason: 'unknown' | 'duplicate';
};
