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
 * Watches what the kernel enforces silently. When open files run out, libuv
 * accepts and at once closes new connections and the server hears nothing
 * (FACTS.md); so netdash counts its descriptors against the limit and says
 * so. It also follows the kernel's UDP receive drops.
 */
export class ResourceWatch {
	readonly #bus: Bus;
	readonly #limit = openFileLimit();
	#isWarned = false;
	readonly #dropsAtStart = udpRcvbufErrors();
	#lastDrops = this.#dropsAtStart;

	constructor(bus: Bus) {
		this.#bus = bus;
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

	/** Sample the kernel's UDP receive drops; reports a rise. */
	checkKernelDrops(): void {
		const drops = udpRcvbufErrors();
		if (drops === undefined || this.#lastDrops === undefined || drops === this.#lastDrops) {
			return;
		}

		this.#lastDrops = drops;
		this.#bus.emit({type: 'kernel-drops-changed', rcvbufErrors: drops, sinceStart: drops - (this.#dropsAtStart ?? drops)});
	}
}
