import {readdirSync, readFileSync, readlinkSync} from 'node:fs';
import type {Bus} from './bus.js';

/** Reported at this share of the open-files limit; re-armed below `rearmShare`. */
const warnShare = 0.9;
const rearmShare = 0.75;
/** Longest time between two counts of /proc/self/fd while the estimate stays clear of both shares. */
export const RECOUNT_MS = 30_000;

/** The soft RLIMIT_NOFILE from /proc/self/limits, or undefined off Linux. */
export function openFileLimit(): number | undefined {
	try {
		const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
		return line && line[1] !== 'unlimited' ? Number(line[1]) : undefined;
	} catch {
		return undefined;
	}
}

/** Open file descriptors of this process (`Infinity` when none is left even to count them), or undefined off Linux. */
export function openFileCount(): number | undefined {
	try {
		// One of the entries is the directory handle used to read it.
		return readdirSync('/proc/self/fd').length - 1;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EMFILE' || (error as NodeJS.ErrnoException).code === 'ENFILE' ? Number.POSITIVE_INFINITY : undefined;
	}
}

/** The kernel's UDP receive-buffer drop counter (`/proc/net/snmp` Udp RcvbufErrors) for this network namespace. */
export function udpRcvbufErrors(): number | undefined {
	try {
		const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
		const names = lines[0]?.split(/\s+/) ?? [];
		const values = lines[1]?.split(/\s+/) ?? [];
		const index = names.indexOf('RcvbufErrors');
		return index > 0 && values[index] !== undefined ? Number(values[index]) : undefined;
	} catch {
		return undefined;
	}
}

/** One UDP socket of /proc/net/udp or /proc/net/udp6: its local port, inode, and the kernel's drop count. */
type UdpRow = {port: number; inode: string; drops: number};

/** Every UDP socket of this network namespace (empty off Linux). */
function udpTable(): UdpRow[] {
	const rows: UdpRow[] = [];
	for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
		let text: string;
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}

		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
		for (const line of text.split('\n').slice(1)) {
			const fields = line.trim().split(/\s+/);
			const local = fields[1];
			if (!local || fields.length < 13) {
				continue;
			}

			rows.push({port: Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16), inode: fields[9]!, drops: Number(fields.at(-1))});
		}
	}

	return rows;
}

/**
 * The kernel's drop counters of UDP sockets by local port (the last column
 * of /proc/net/udp and /proc/net/udp6): datagrams lost because that
 * socket's receive buffer was full. Ports not found are left out.
 */
export function udpDropsByPort(ports: ReadonlySet<number>, rows: readonly UdpRow[] = udpTable(), except: ReadonlyMap<string, unknown> = new Map()): Map<number, number> {
	const drops = new Map<number, number>();
	for (const row of rows) {
		if (ports.has(row.port) && !except.has(row.inode)) {
			drops.set(row.port, (drops.get(row.port) ?? 0) + row.drops);
		}
	}

	return drops;
}

/**
 * Which of the UDP sockets bound to `ports` are this process's own, by
 * inode: those whose `socket:[N]` is a link in /proc/self/fd. For ports
 * other programs share (5353 with avahi, 1900 with minidlna), where a count
 * by port would add their drops to ours. O(open files), so it runs when the
 * ports change, not at every sample.
 */
export function ownUdpInodes(ports: ReadonlySet<number>, rows: readonly UdpRow[] = udpTable()): Set<string> {
	const candidates = new Set(rows.filter((row) => ports.has(row.port)).map((row) => row.inode));
	const own = new Set<string>();
	if (candidates.size === 0) {
		return own;
	}

	let entries: string[];
	try {
		entries = readdirSync('/proc/self/fd');
	} catch {
		return own;
	}

	for (const entry of entries) {
		try {
			const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${entry}`))?.[1];
			if (inode !== undefined && candidates.has(inode)) {
				own.add(inode);
			}
		} catch {
			// Closed meanwhile, or the directory handle used to read it.
		}
	}

	return own;
}

/**
 * Watches what the kernel enforces silently. When open files run out, libuv
 * accepts and at once closes new connections and the server hears nothing
 * (FACTS.md); so netdash counts its descriptors against the limit and says
 * so. It also follows the kernel's UDP receive drops, at its own sockets
 * (what the status bar shows) and namespace-wide.
 */
export class ResourceWatch {
	readonly #bus: Bus;
	readonly #limit: number | undefined;
	readonly #countOpenFiles: () => number | undefined;
	readonly #now: () => number;
	#isWarned = false;
	/** Open files that are not our sockets, at the last count (undefined before the first). */
	#others: number | undefined;
	#countedAt = Number.NEGATIVE_INFINITY;
	readonly #dropsAtStart = udpRcvbufErrors();
	#lastDrops = this.#dropsAtStart;

	/** netdash's own UDP sockets: id → local port. */
	readonly #udpPorts = new Map<string, number>();
	/** Last drops read per port, and what closed sockets had dropped. */
	#lastPortDrops = new Map<number, number>();
	#closedSocketDrops = 0;
	#lastSocketDrops = 0;
	/**
	 * netdash's sockets on ports other programs may share (the LAN protocols': 5353, 1900, 21027;
	 * the discovery port, which another netdash on this host binds too), counted by inode: inode →
	 * drops last read. `#sharedKey` is the ports they were found for.
	 */
	readonly #sharedDrops = new Map<string, number>();
	#sharedKey = '';

	/** `probe` replaces what is read from /proc (tests). */
	constructor(bus: Bus, probe: {limit?: number; countOpenFiles?: () => number | undefined; now?: () => number} = {}) {
		this.#bus = bus;
		this.#limit = 'limit' in probe ? probe.limit : openFileLimit();
		this.#countOpenFiles = probe.countOpenFiles ?? openFileCount;
		this.#now = probe.now ?? Date.now;
		// Our UDP ports are known from the bus: no reach into the sockets.
		bus.subscribe((event) => {
			if (event.type === 'udp-bound') {
				this.#udpPorts.set(event.socket, event.port);
			} else if (event.type === 'udp-closed') {
				const id = event.socket;
				const port = this.#udpPorts.get(id);
				if (port !== undefined) {
					// Its counter goes with the socket: keep what it had dropped.
					this.#closedSocketDrops += this.#lastPortDrops.get(port) ?? 0;
					this.#lastPortDrops.delete(port);
					this.#udpPorts.delete(id);
				}
			}
		}, {borrows: true});
	}

	/**
	 * Sample open files (when anything listens), `ownSockets` being the sockets netdash holds.
	 * Counting /proc/self/fd is O(open files): 18 ms at 17,000, on the thread that reads the
	 * sockets. So it counts when the estimate (what the last count found besides our sockets,
	 * plus our sockets now) crosses a share, and otherwise at most every RECOUNT_MS, for what
	 * else opened files meanwhile.
	 */
	check(ownSockets: number): void {
		// Only worth it once our own sockets could be near the limit, or to re-arm after a warning.
		if (this.#limit === undefined || (!this.#isWarned && ownSockets * 2 < this.#limit)) {
			return;
		}

		const now = this.#now();
		const estimate = this.#others === undefined ? undefined : this.#others + ownSockets;
		const isDue =
			estimate === undefined ||
			now - this.#countedAt >= RECOUNT_MS ||
			(this.#isWarned ? estimate < this.#limit * rearmShare : estimate >= this.#limit * warnShare);
		if (!isDue) {
			return;
		}

		let used = this.#countOpenFiles();
		if (used === undefined) {
			return;
		}

		this.#countedAt = now;
		if (Number.isFinite(used)) {
			this.#others = Math.max(0, used - ownSockets);
		}

		if (!this.#isWarned && used >= this.#limit * warnShare) {
			this.#isWarned = true;
			used = Math.min(used, this.#limit);
			this.#bus.emit({
				type: 'resource-exhausted',
				resource: 'file-descriptors',
				used,
				limit: this.#limit,
				message: `${used} of ${this.#limit} open files in use — new connections are being dropped by the kernel without an error (raise ulimit -n)`,
			});
		} else if (this.#isWarned && used < this.#limit * rearmShare) {
			this.#isWarned = false;
		}
	}

	/**
	 * Sample the kernel's UDP receive drops, at our sockets and namespace-wide; reports a rise.
	 * `sharedPorts`: the local ports of our sockets on ports other programs may share (LAN discovery's, the discovery port).
	 */
	checkKernelDrops(sharedPorts: readonly number[] = []): void {
		const drops = udpRcvbufErrors();
		if (drops === undefined || this.#lastDrops === undefined) {
			return;
		}

		const rows = this.#udpPorts.size > 0 || sharedPorts.length > 0 || this.#sharedDrops.size > 0 ? udpTable() : [];
		this.#followShared(sharedPorts, rows);
		if (this.#udpPorts.size === 0 && this.#sharedDrops.size === 0) {
			// No UDP socket of ours is open: the namespace's drops are other programs' business. Follow
			// the count quietly so a socket opened later reports only what happens while it is open.
			this.#lastDrops = drops;
			return;
		}

		let socketDrops = this.#closedSocketDrops;
		if (this.#udpPorts.size > 0) {
			this.#lastPortDrops = udpDropsByPort(new Set(this.#udpPorts.values()), rows, this.#sharedDrops);
			for (const count of this.#lastPortDrops.values()) {
				socketDrops += count;
			}
		}

		for (const row of rows) {
			if (this.#sharedDrops.has(row.inode)) {
				this.#sharedDrops.set(row.inode, row.drops);
			}
		}

		for (const count of this.#sharedDrops.values()) {
			socketDrops += count;
		}

		if (drops === this.#lastDrops && socketDrops === this.#lastSocketDrops) {
			return;
		}

		this.#lastDrops = drops;
		this.#lastSocketDrops = socketDrops;
		this.#bus.emit({type: 'kernel-drops-changed', socketDrops, rcvbufErrors: drops, sinceStart: drops - (this.#dropsAtStart ?? drops)});
	}

	/**
	 * Find our sockets on the shared ports when those change (LAN discovery started or stopped a
	 * protocol) or one of them is gone; what a closed one had dropped is kept.
	 */
	#followShared(ports: readonly number[], rows: readonly UdpRow[]): void {
		const live = new Set(rows.map((row) => row.inode));
		const key = [...ports].sort((a, b) => a - b).join(' ');
		const isGone = [...this.#sharedDrops.keys()].some((inode) => !live.has(inode));
		if (key === this.#sharedKey && !isGone) {
			return;
		}

		this.#sharedKey = key;
		const own = ports.length === 0 ? new Set<string>() : ownUdpInodes(new Set(ports), rows);
		for (const [inode, count] of this.#sharedDrops) {
			if (!own.has(inode)) {
				this.#closedSocketDrops += count;
				this.#sharedDrops.delete(inode);
			}
		}

		for (const inode of own) {
			if (!this.#sharedDrops.has(inode)) {
				this.#sharedDrops.set(inode, 0);
			}
		}
	}
}
