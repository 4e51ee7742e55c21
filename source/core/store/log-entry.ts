/** What one log entry is, and how its numbers are kept in a log's columns (socket-log.ts). */

/** Which way bytes went, or a note about the socket (opened, failed, …). */
export type LogDirection = 'in' | 'out' | 'note';

/** One row of a socket's log: a chunk, a framed message, a datagram, or a note. */
export type LogEntry = {
	/** The bus `seq` of the event it came from. */
	readonly seq: number;
	readonly at: number;
	readonly direction: LogDirection;
	/** `chunk` (raw stream bytes), `message` (framed), `datagram`, or `note`. */
	readonly kind: 'chunk' | 'message' | 'datagram' | 'note';
	/** Size on the wire; `data` holds at most the first `logEntryBytes` of it. */
	readonly bytes: number;
	/** A copy of the first bytes (never the socket's own buffer, which would pin 64 KiB per chunk). */
	readonly data: Buffer | undefined;
	/** For notes: the text; for datagrams: the peer (`10.0.0.2:5000`). */
	readonly text?: string;
	/** For notes: true when it reports a failure. */
	readonly isError?: boolean;
	/** For a message of line framing: it ended in CRLF (else LF; the terminator is not in `data`). */
	readonly isCrlf?: boolean;
	/** In a relay's log: which way the bytes were going (what the client sent goes to the server). */
	readonly toward?: 'server' | 'client';
};

/** A read-only window on one socket's log as it was at publish time. */
export type LogView = {
	/** Entries kept, oldest first. */
	readonly length: number;
	/** Entries of this log evicted so far to stay within the byte budget. */
	readonly evicted: number;
	/** Bytes of those evicted entries (wire size). */
	readonly evictedBytes: number;
	/** Entry `index` (0 is the oldest kept). */
	at(index: number): LogEntry | undefined;
	/** Entries from `start` to `end` (exclusive), like Array.prototype.slice. */
	slice(start?: number, end?: number): LogEntry[];
};

/** Bytes of bookkeeping charged per entry, so many tiny entries are bounded too. */
export const ENTRY_OVERHEAD = 96;

/** Numbers kept per entry in a log's `nums` column: */
export const STRIDE = 6;
export const SEQ = 0;
export const AT = 1;
/** Wire bytes. */
export const BYTES = 2;
/** Where the entry's copy starts in the ring (absolute: bytes written before it), or the ring's mark then for entries without data. */
export const MARK = 3;
/** Bytes copied into the ring, or -1 for none (notes). */
export const LENGTH = 4;
/** Direction, kind and isError (see `flagsOf`). */
export const FLAGS = 5;

export const directions: readonly LogDirection[] = ['in', 'out', 'note'];
export const kinds: ReadonlyArray<LogEntry['kind']> = ['chunk', 'message', 'datagram', 'note'];

export function flagsOf(direction: LogDirection, kind: LogEntry['kind'], isError: boolean, isCrlf = false, toward?: 'server' | 'client'): number {
	return directions.indexOf(direction) + kinds.indexOf(kind) * 4 + (isError ? 16 : 0) + (isCrlf ? 32 : 0) + (toward === 'server' ? 64 : toward === 'client' ? 128 : 0);
}
