import type {SystemSocket, SystemSocketRates} from './types.js';

/*
 * Changes between two refreshes of the machine's sockets (pure): which
 * opened, which changed (state, queues, counters, owner, rates) and which
 * closed, with byte rates over the time between them.
 */

/** A socket's identity across refreshes: its 4-tuple, so ESTAB → TIME-WAIT (new inode 0) is one socket changing. */
export function socketKey(socket: SystemSocket): string {
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

const watched = ['state', 'recvQueue', 'sendQueue', 'bytesIn', 'bytesOut', 'pid', 'process', 'inode'] as const;

/** True when a row differs from its previous sight; a rate first known (null → 0) is no change, a busy socket going quiet (X → 0) is. */
function hasChanged(row: SystemSocketRates, before: SystemSocketRates): boolean {
	return watched.some((field) => row[field] !== before[field]) || (row.rateIn ?? 0) !== (before.rateIn ?? 0) || (row.rateOut ?? 0) !== (before.rateOut ?? 0);
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
		const row: SystemSocketRates = {...socket, rateIn: rate(socket.bytesIn, before?.bytesIn, seconds), rateOut: rate(socket.bytesOut, before?.bytesOut, seconds)};
		table.set(key, row);
		if (!before) {
			opened.push(row);
		} else if (hasChanged(row, before)) {
			changed.push(row);
		}
	}

	const closed = [...previous].filter(([key]) => !table.has(key)).map(([, row]) => row);
	return {opened, changed, closed, table};
}
