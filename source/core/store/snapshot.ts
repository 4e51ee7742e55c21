import type {CloseReason, Endpoint, Origin} from '../events.js';
import type {ConnectionState} from '../tcp/connection.js';
import type {LogView} from './log.js';

/** A TCP listener as the panes show it. */
export type ListenerRow = {
	readonly id: string;
	readonly address: string;
	readonly port: number;
	readonly framing: string;
	readonly state: 'listening' | 'closed';
	/** Connections accepted over its life. */
	readonly accepted: number;
	/** Accepted connections still open. */
	readonly open: number;
	readonly openedAt: number;
	readonly closedAt: number | undefined;
};

/** A TCP connection as the panes show it. Counters are exact. */
export type ConnectionRow = {
	readonly id: string;
	readonly origin: Origin;
	readonly listener: string | null;
	readonly framing: string;
	readonly state: ConnectionState;
	/** Our end; undefined while connecting. */
	readonly local: Endpoint | undefined;
	/** The peer (while connecting: the host and port as given). */
	readonly remote: Endpoint;
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Bytes accepted by send and not yet handed to the kernel. */
	readonly queued: number;
	/** Bytes that never left because the connection ended first. */
	readonly unsent: number;
	/** Framed messages received. */
	readonly messagesIn: number;
	/** Bytes per second over the last sample interval. */
	readonly rateIn: number;
	readonly rateOut: number;
	/** Recent rate samples, oldest first (for sparklines). */
	readonly historyIn: readonly number[];
	readonly historyOut: readonly number[];
	/** True when the queue has grown over the last samples: the peer is not reading. */
	readonly isQueueGrowing: boolean;
	readonly openedAt: number;
	readonly closedAt: number | undefined;
	readonly closeReason: CloseReason | undefined;
	/** The last failure on it, if any. */
	readonly error: {readonly code: string; readonly message: string} | undefined;
};

/** A failure or notable fact for the status area. */
export type Notice = {
	readonly seq: number;
	readonly at: number;
	readonly level: 'error' | 'info';
	/** The socket it concerns, when one. */
	readonly target: string | undefined;
	readonly code: string | undefined;
	readonly message: string;
};

/** Totals for the status bar. */
export type Totals = {
	readonly listeners: number;
	readonly connections: number;
	readonly bytesIn: number;
	readonly bytesOut: number;
	readonly rateIn: number;
	readonly rateOut: number;
	/** Log entries evicted over the run (all sockets). */
	readonly evictedEntries: number;
	readonly evictedBytes: number;
	/** Events seen (the bus `seq` of the last one folded). */
	readonly events: number;
	/** Notices evicted from the bounded notice list. */
	readonly evictedNotices: number;
};

/**
 * What the UI renders: immutable, and the same object until the next
 * publish. Rows that did not change keep their identity between snapshots.
 */
export type Snapshot = {
	/** Increases by one per publish. */
	readonly version: number;
	readonly listeners: readonly ListenerRow[];
	readonly connections: readonly ConnectionRow[];
	/** The log of each socket by id. */
	readonly logs: ReadonlyMap<string, LogView>;
	/** Recent failures and notes, oldest first (bounded). */
	readonly notices: readonly Notice[];
	readonly totals: Totals;
};
