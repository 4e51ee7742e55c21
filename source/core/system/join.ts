import type {ProcessScan, SocketOwner} from './proc-fd.js';
import type {KernelSocket, SystemSocket, TcpCounters} from './types.js';

/** Who is reading: decides what an unknown owner means. */
export type Reader = {pid: number; uid: number};

/** What a join keeps for the next: rows by kernel object, and last time's input and rows by place. */
export type JoinCache = {
	readonly bySocket: WeakMap<KernelSocket, {owner: SocketOwner | undefined; tcp: TcpCounters | undefined; scan: ProcessScan; row: SystemSocket}>;
	kernel: readonly KernelSocket[];
	scan: ProcessScan | undefined;
	tcps: Array<TcpCounters | undefined>;
	rows: SystemSocket[];
};

export function newJoinCache(): JoinCache {
	return {bySocket: new WeakMap(), kernel: [], scan: undefined, tcps: [], rows: []};
}

/**
 * Join the kernel's tables with the process scan and the TCP counters (pure
 * but for the cache). The counters come by inode (from ss) or by place in
 * `kernel` (from sock_diag); undefined means the diagnostics could not be
 * read at all: every counter is then null, not 0.
 *
 * With a cache, a socket that is the same kernel object as last time
 * (sock-diag.ts hands out last dump's when nothing changed), with the same
 * owner and counters, gets last refresh's row: first checked at its place
 * in last time's list (the kernel's order holds), then by object.
 */
export function joinSockets(
	kernel: readonly KernelSocket[],
	scan: ProcessScan,
	counters: ReadonlyMap<number, TcpCounters> | ReadonlyArray<TcpCounters | undefined> | undefined,
	reader: Reader,
	cache?: JoinCache,
): SystemSocket[] {
	// Filled by push, in order: packed arrays (Array.from({length}) costs more than the whole loop).
	const rows: SystemSocket[] = [];
	const tcps: Array<TcpCounters | undefined> = [];
	// The same scan: every owner is as it was, so a socket at its place needs no owner lookup.
	const isSameScan = cache !== undefined && cache.scan === scan;
	// By inode (from ss), or by place in `kernel` (from sock_diag).
	const byPlace = Array.isArray(counters) ? counters as ReadonlyArray<TcpCounters | undefined> : undefined;
	const byInode = byPlace === undefined ? counters as ReadonlyMap<number, TcpCounters> | undefined : undefined;
	for (let index = 0; index < kernel.length; index++) {
		const socket = kernel[index]!;
		const tcp = socket.protocol === 'tcp' && socket.inode !== 0 ? (byPlace ? byPlace[index] : byInode?.get(socket.inode)) : undefined;
		tcps.push(tcp);
		if (isSameScan && cache.kernel[index] === socket && cache.tcps[index] === tcp) {
			rows.push(cache.rows[index]!);
			continue;
		}

		const owner = socket.inode === 0 ? undefined : scan.owners.get(socket.inode);
		// An unowned socket's reason depends on the scan, except with no inode (TIME-WAIT), where it never changes.
		const cached = cache?.bySocket.get(socket);
		if (cached && cached.owner === owner && cached.tcp === tcp && (owner !== undefined || socket.inode === 0 || cached.scan === scan)) {
			rows.push(cached.row);
			continue;
		}

		const row: SystemSocket = {
			...socket,
			pid: owner?.pid ?? null,
			process: owner?.process ?? '?',
			bytesIn: tcp?.bytesIn ?? null,
			bytesOut: tcp?.bytesOut ?? null,
			rttMs: tcp?.rttMs ?? null,
			isOwn: owner?.pid === reader.pid,
		};
		if (!owner) {
			row.whyUnknown = whyUnknown(socket, scan, reader);
		}

		cache?.bySocket.set(socket, {owner, tcp, scan, row});
		rows.push(row);
	}

	if (cache) {
		cache.kernel = kernel;
		cache.scan = scan;
		cache.tcps = tcps;
		cache.rows = rows;
	}

	return rows;
}

/** Why no process could be named for a socket: the reason the pane and JSON give instead of a guess. */
function whyUnknown(socket: KernelSocket, scan: ProcessScan, reader: Reader): string {
	if (socket.inode === 0) {
		return `no process holds it any more (${socket.state}: the kernel finishes the close alone)`;
	}

	if (socket.uid !== reader.uid && reader.uid !== 0) {
		if (scan.hidepid) {
			return `owned by uid ${socket.uid}: /proc is mounted with ${scan.hidepid}, which hides other users' processes`;
		}

		if (scan.unreadable > 0) {
			return `owned by uid ${socket.uid}: another user's /proc/PID/fd is readable only by root or that user`;
		}
	}

	return 'no readable /proc/PID/fd holds it (it may have opened or closed during the scan, or belong to another namespace)';
}
