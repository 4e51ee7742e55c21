import type {SystemSocket, SystemSocketRates} from './types.js';

/*
 * Changes between two refreshes of the machine's sockets: which opened,
 * which changed (state, queues, counters, owner, rates) and which closed,
 * with byte rates over the time between them.
 *
 * The table is brought up to date in place, and costs in proportion to
 * what changed: a reading lists the sockets in the kernel's order, which
 * holds from one refresh to the next, and hands out the very row object
 * of last time for a socket that did not change (join.ts). So each socket
 * is first compared, by identity, with the one at its place last time; a
 * socket found there marks its entry and costs no lookup and no object.
 * With 10,000 idle sockets, building a new table each second cost more
 * than the kernel's dump (bench 'system').
 */

/** Keys already worked out, by row object (a row reused between refreshes keeps its key). */
const keys = new WeakMap<SystemSocket, string>();

/** A socket's identity across refreshes: its 4-tuple, so ESTAB → TIME-WAIT (new inode 0) is one socket changing. */
export function socketKey(socket: SystemSocket): string {
	let key = keys.get(socket);
	if (key === undefined) {
		key = tupleKey(socket);
		keys.set(socket, key);
	}

	return key;
}

function tupleKey(socket: SystemSocket): string {
	const tuple = `${socket.protocol}|${socket.local.address}|${socket.local.port}|${socket.remote.address}|${socket.remote.port}`;
	// Listeners and unconnected UDP sockets may share a local address (SO_REUSEPORT): their inodes tell them apart.
	return socket.remote.port === 0 ? `${tuple}|${socket.inode}` : tuple;
}

/** A socket as last shown: the row, the reading's row it was made from (or last found the same as), and the refresh that saw it. */
type Entry = {row: SystemSocketRates; source: SystemSocket; seen: number};

/** The table of one watch, kept from refresh to refresh and updated by diffSockets. */
export type SocketTable = {
	readonly entries: Map<string, Entry>;
	/** Last refresh's sockets and their entries, by place. */
	sockets: readonly SystemSocket[];
	placed: Entry[];
	/** Counts refreshes: an entry whose `seen` is not this one is closed. */
	refresh: number;
	/** Sockets shown now. */
	readonly size: number;
};

/** An empty table, for a watch's first refresh. */
export function newSocketTable(): SocketTable {
	const entries = new Map<string, Entry>();
	return {
		entries,
		sockets: [],
		placed: [],
		refresh: 0,
		get size() {
			return entries.size;
		},
	};
}

/** What changed between two refreshes. */
export type SocketChanges = {
	opened: SystemSocketRates[];
	changed: SystemSocketRates[];
	closed: SystemSocketRates[];
	/** The table, brought up to date: diff the next refresh against it. */
	table: SocketTable;
};

function rate(now: number | null, before: number | null | undefined, seconds: number): number | null {
	if (now === null || before === null || before === undefined || now < before || seconds <= 0) {
		return null;
	}

	return Math.round((now - before) / seconds);
}

/** True when a socket differs from its previous sight in what a row shows (rttMs and whyUnknown aside: they follow these). */
function isSame(socket: SystemSocket, before: SystemSocketRates): boolean {
	return (
		socket.state === before.state
		&& socket.recvQueue === before.recvQueue
		&& socket.sendQueue === before.sendQueue
		&& socket.bytesIn === before.bytesIn
		&& socket.bytesOut === before.bytesOut
		&& socket.pid === before.pid
		&& socket.process === before.process
		&& socket.inode === before.inode
	);
}

/** Bring `table` up to date with a refresh (`sockets`) made `elapsedMs` after the last one, and say what changed. */
export function diffSockets(table: SocketTable, sockets: readonly SystemSocket[], elapsedMs: number): SocketChanges {
	const seconds = elapsedMs / 1000;
	const {entries} = table;
	const refresh = ++table.refresh;
	const last = table.sockets;
	const lastPlaced = table.placed;
	// Filled by push, in order: a packed array.
	const placed: Entry[] = [];
	const opened: SystemSocketRates[] = [];
	const changed: SystemSocketRates[] = [];
	let kept = 0;
	for (let index = 0; index < sockets.length; index++) {
		const socket = sockets[index]!;
		// At its place last time, and not yet taken by an earlier socket of this refresh: its entry, with no lookup.
		let entry = last[index] === socket ? lastPlaced[index] : undefined;
		if (entry?.seen === refresh) {
			entry = undefined;
		}

		let key: string | undefined;
		if (entry === undefined) {
			key = socketKey(socket);
			entry = entries.get(key);
			if (entry?.seen === refresh) {
				// A closed socket whose program still holds the fd, beside the TIME-WAIT that took over its tuple.
				key = `${key}|${socket.inode}`;
				entry = entries.get(key);
				while (entry?.seen === refresh) {
					key += '|';
					entry = entries.get(key);
				}
			}
		}

		// Unchanged and quiet (the same bytes, so a rate of 0 or unknown, as before): the row shown stays, no new object.
		// A rate first known (null → 0) is no change; a busy socket going quiet (X → 0) is.
		const before = entry?.row;
		if (entry && (before!.rateIn ?? 0) === 0 && (before!.rateOut ?? 0) === 0 && (entry.source === socket || isSame(socket, before!))) {
			entry.source = socket;
			entry.seen = refresh;
			placed.push(entry);
			kept++;
			continue;
		}

		const row: SystemSocketRates = {...socket, rateIn: rate(socket.bytesIn, before?.bytesIn, seconds), rateOut: rate(socket.bytesOut, before?.bytesOut, seconds)};
		if (entry) {
			entry.row = row;
			entry.source = socket;
			entry.seen = refresh;
			kept++;
		} else {
			entry = {row, source: socket, seen: refresh};
			entries.set(key!, entry);
		}

		placed.push(entry);
		if (!before) {
			opened.push(row);
		} else if (!isSame(socket, before) || (row.rateIn ?? 0) !== (before.rateIn ?? 0) || (row.rateOut ?? 0) !== (before.rateOut ?? 0)) {
			changed.push(row);
		}
	}

	const closed: SystemSocketRates[] = [];
	// Every entry of last time seen again: nothing closed, and no walk over the table.
	if (kept + opened.length !== entries.size) {
		for (const [key, entry] of entries) {
			if (entry.seen !== refresh) {
				closed.push(entry.row);
				entries.delete(key);
			}
		}
	}

	table.sockets = sockets;
	table.placed = placed;
	return {opened, changed, closed, table};
}
