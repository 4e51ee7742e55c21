import type {SystemSocket, SystemSocketRates} from './types.js';

/*
 * Changes between two refreshes of the machine's sockets (pure): which
 * opened, which changed (state, queues, counters, owner, rates) and which
 * closed, with byte rates over the time between them.
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

/** One refresh as kept for the next diff. */
export type SocketTable = Map<string, SystemSocketRates>;

/** What changed between two refreshes. */
export type SocketChanges = {
	opened: SystemSocketRates[];
	changed: SystemSocketRates[];
	closed: SystemSocketRates[];
	/** The table to diff the next refresh against. */
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

/** Diff a refresh (`sockets`) against the previous one, `elapsedMs` later. */
export function diffSockets(previous: SocketTable, sockets: readonly SystemSocket[], elapsedMs: number): SocketChanges {
	const seconds = elapsedMs / 1000;
	const table: SocketTable = new Map();
	const opened: SystemSocketRates[] = [];
	const changed: SystemSocketRates[] = [];
	for (const socket of sockets) {
		let key = socketKey(socket);
		if (table.has(key)) {
			// A closed socket whose program still holds the fd, beside the TIME-WAIT that took over its tuple.
			key = `${key}|${socket.inode}`;
		}

		const before = previous.get(key);
		// Unchanged and quiet (the same bytes, so a rate of 0 or unknown, as before): the previous row itself, no new object.
		// A rate first known (null → 0) is no change; a busy socket going quiet (X → 0) is.
		if (before && isSame(socket, before) && (before.rateIn ?? 0) === 0 && (before.rateOut ?? 0) === 0) {
			table.set(key, before);
			continue;
		}

		const row: SystemSocketRates = {...socket, rateIn: rate(socket.bytesIn, before?.bytesIn, seconds), rateOut: rate(socket.bytesOut, before?.bytesOut, seconds)};
		table.set(key, row);
		if (!before) {
			opened.push(row);
		} else if (!isSame(socket, before) || (row.rateIn ?? 0) !== (before.rateIn ?? 0) || (row.rateOut ?? 0) !== (before.rateOut ?? 0)) {
			changed.push(row);
		}
	}

	const closed: SystemSocketRates[] = [];
	for (const [key, row] of previous) {
		if (!table.has(key)) {
			closed.push(row);
		}
	}

	return {opened, changed, closed, table};
}
