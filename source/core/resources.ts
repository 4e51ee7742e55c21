import {readdirSync, readFileSync} from 'node:fs';
import type {Bus} from './bus.js';

/** Reported at this share of the open-files limit; re-armed below `rearmShare`. */
const warnShare = 0.9;
const rearmShare = 0.75;

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

/**
 * The kernel's drop counters of UDP sockets by local port (the last column
 * of /proc/net/udp and /proc/net/udp6): datagrams lost because that
 * socket's receive buffer was full. Ports not found are left out.
 */
export function udpDropsByPort(ports: ReadonlySet<number>): Map<number, number> {
	const drops = new Map<number, number>();
	for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
		let text: string;
		try {
			text = readFileSync(file, 'utf8');
		} catch {
			continue;
		}

		for (const line of text.split('\n').slice(1)) {
			const fields = line.trim().split(/\s+/);
			const local = fields[1];
			if (!local) {
				continue;
			}

			const port = Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16);
			if (ports.has(port)) {
				drops.set(port, (drops.get(port) ?? 0) + Number(fields.at(-1)));
			}
		}
	}

	return drops;
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
	readonly #limit = openFileLimit();
	#isWarned = false;
	readonly #dropsAtStart = udpRcvbufErrors();
	#lastDrops = this.#dropsAtStart;

	/** netdash's own UDP sockets: id → local port. */
	readonly #udpPorts = new Map<string, number>();
	/** Last drops read per port, and what closed sockets had dropped. */
	#lastPortDrops = new Map<number, number>();
	#closedSocketDrops = 0;
	#lastSocketDrops = 0;

	constructor(bus: Bus) {
		this.#bus = bus;
		// Our UDP ports are known from the bus: no reach into the sockets.
		bus.subscribe((event) => {
			if (event.type === 'udp-bound') {
				this.#udpPorts.set(event.socket, event.port);
			} else if (event.type === 'discovery-started') {
				this.#udpPorts.set('discovery', event.port);
			} else if (event.type === 'udp-closed' || event.type === 'discovery-stopped') {
				const id = event.type === 'udp-closed' ? event.socket : 'discovery';
				const port = this.#udpPorts.get(id);
				if (port !== undefined) {
					// Its counter goes with the socket: keep what it had dropped.
					this.#closedSocketDrops += this.#lastPortDrops.get(port) ?? 0;
					this.#lastPortDrops.delete(port);
					this.#udpPorts.delete(id);
				}
			}
		});
	}

	/** The open-files limit (Infinity when unknown). */
	get limit(): number {
		return this.#limit ?? Number.POSITIVE_INFINITY;
	}

	/** Sample open files (when anything listens). */
	check(): void {
		if (this.#limit === undefined) {
			return;
		}

		let used = openFileCount();
		if (used === undefined) {
			return;
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

	/** Sample the kernel's UDP receive drops, at our sockets and namespace-wide; reports a rise. */
	checkKernelDrops(): void {
		const drops = udpRcvbufErrors();
		if (drops === undefined || this.#lastDrops === undefined) {
			return;
		}

		if (this.#udpPorts.size === 0) {
			// No UDP socket of ours is open: the namespace's drops are other programs' business. Follow
			// the count quietly so a socket opened later reports only what happens while it is open.
			this.#lastDrops = drops;
			return;
		}

		let socketDrops = this.#closedSocketDrops;
		if (this.#udpPorts.size > 0) {
			this.#lastPortDrops = udpDropsByPort(new Set(this.#udpPorts.values()));
			for (const count of this.#lastPortDrops.values()) {
				socketDrops += count;
			}
		}

		if (drops === this.#lastDrops && socketDrops === this.#lastSocketDrops) {
			return;
		}

		this.#lastDrops = drops;
		this.#lastSocketDrops = socketDrops;
		this.#bus.emit({type: 'kernel-drops-changed', socketDrops, rcvbufErrors: drops, sinceStart: drops - (this.#dropsAtStart ?? drops)});
	}
}
