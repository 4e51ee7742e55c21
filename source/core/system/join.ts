import type {ProcessScan, SocketOwner} from './proc-fd.js';
import type {KernelSocket, SystemSocket, TcpCounters} from './types.js';

/** Who is reading: decides what an unknown owner means. */
export type Reader = {pid: number; uid: number};

/**
 * Join the kernel's tables with the process scan and the TCP counters (pure).
 * `counters` undefined means the diagnostics could not be read at all: every
 * counter is then null, not 0.
 */
export function joinSockets(
	kernel: readonly KernelSocket[],
	scan: ProcessScan,
	counters: ReadonlyMap<number, TcpCounters> | undefined,
	reader: Reader,
	cache?: WeakMap<KernelSocket, {owner: SocketOwner | undefined; tcp: TcpCounters | undefined; scan: ProcessScan; row: SystemSocket}>,
): SystemSocket[] {
	return kernel.map((socket) => {
		const owner = socket.inode === 0 ? undefined : scan.owners.get(socket.inode);
		const tcp = socket.protocol === 'tcp' && socket.inode !== 0 ? counters?.get(socket.inode) : undefined;
		// The same kernel object (sock-diag.ts hands out last dump's when nothing changed), owner and counters: last refresh's row.
		// An unowned socket's reason depends on the scan, except with no inode (TIME-WAIT), where it never changes.
		const cached = cache?.get(socket);
		if (cached && cached.owner === owner && cached.tcp === tcp && (owner !== undefined || socket.inode === 0 || cached.scan === scan)) {
			return cached.row;
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

		cache?.set(socket, {owner, tcp, scan, row});
		return row;
	});
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
