import type net from 'node:net';
import type {CloseReason, Endpoint, Origin} from '../events.js';
import type {FramingSpec} from '../framing/index.js';
import type {Reclaimer} from '../reclaim.js';
import type {TcpConnection} from './connection.js';

/** How a connection is made: its limits, its TLS extras, and the tap a relay listens on (connection.ts re-exports these). */

/** Limits and timers of one connection. */
export type ConnectionLimits = {
	/** Bytes a connection may hold queued in memory; a send past it is refused. */
	maxQueuedBytes: number;
	/** Largest piece handed to the kernel at once; a send is split so counters and the queue move as it drains. */
	writeChunkBytes: number;
	/** Connect timeout for dialed connections, in ms (0: none). */
	connectTimeoutMs: number;
	/** Close after this long without traffic either way, in ms (0: never). */
	idleTimeoutMs: number;
};

/** How a connection was made. */
export type ConnectionInit = {
	id: string;
	origin: Origin;
	listener: string | null;
	framing: FramingSpec;
	limits: ConnectionLimits;
	/** `ref` of the command that made it, echoed on its opening events. */
	ref?: string;
	/**
	 * Keep our side open after the peer's FIN (so we can still answer) until
	 * told to close. Off, a peer's FIN closes the connection once what is
	 * queued has left, as ncat and socat do.
	 */
	isHalfOpen: boolean;
	/**
	 * The socket is a TLSSocket: a dial opens on its handshake (`secureConnect`), and
	 * `connection-opened` carries the session. `isInsecure`: the dial does not verify the peer.
	 */
	tls?: ConnectionTls;
	/** For dialed connections: where to, as the user gave it. */
	dial?: {host: string; port: number};
	/** For accepted connections on a listener bound to one address: that address and port, our end. */
	local?: Endpoint;
	/** Called once, after `connection-closed`. */
	onClosed: (connection: TcpConnection) => void;
	/** Told of every chunk read, to free read buffers early (reclaim.ts). */
	reclaimer: Reclaimer;
	/** For one half of a relay: its id and the other half's id, named on the opening events. */
	relay?: {id: string; partner: string};
	/** Told what happens on the socket after the bus is (a relay's glue, relay/relay.ts). */
	tap?: ConnectionTap;
};

/**
 * What a relay needs to hear from a connection, besides the bus: one object
 * per relay (not closures per connection), called after the event is emitted.
 */
export type ConnectionTap = {
	/** A dial connected. */
	connected(connection: TcpConnection): void;
	/** A chunk arrived from the peer. */
	received(connection: TcpConnection, chunk: Buffer): void;
	/** The peer sent its FIN. */
	peerEnded(connection: TcpConnection): void;
	/** Queued bytes were handed to the kernel. */
	written(connection: TcpConnection, bytes: number): void;
	/** The connection ended (after `connection-closed`). */
	closed(connection: TcpConnection, reason: CloseReason, error: {code: string; message: string} | undefined): void;
};

/** A TLS connection's extras: whether its peer goes unverified, and the TCP socket under it (what a reset resets). */
export type ConnectionTls = {isInsecure: boolean; raw: net.Socket | undefined};
