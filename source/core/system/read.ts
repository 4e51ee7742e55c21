import {readFileSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {childProcess} from '../builtin.js';
import {joinSockets, newJoinCache, type JoinCache} from './join.js';
import {ProcessTable, type ProcessScan} from './proc-fd.js';
import {parseProcNet} from './proc-net.js';
import {parseSsInfo} from './ss-info.js';
import {SockDiagReader, type SockDiagDump} from './sock-diag.js';
import type {KernelSocket, SocketProtocol, SystemSocket, TcpCounters} from './types.js';

/** One reading of the machine's sockets. */
export type SystemSocketsReading = {
	sockets: SystemSocket[];
	/** What this reading could not show, one sentence each (no ss, other users' processes, not Linux). */
	missing: string[];
	/** Wall time the reading took, ms. */
	tookMs: number;
	/** performance.now() when the kernel was asked: rates are over the time between two of these, not between two ends of a reading (a slow process scan would skew them). */
	startedAt?: number;
};

/** Where to read from; the defaults are the machine's. */
export type ReadOptions = {
	/** @default '/proc' */
	procRoot?: string;
	/** The `ss` to run. @default 'ss' (from PATH) */
	ssCommand?: string;
	/** @default process.platform */
	platform?: NodeJS.Platform;
	/**
	 * The python3 that runs the sock_diag helper (sock-diag.ts); null reads
	 * /proc/net and ss instead. @default 'python3' when procRoot is /proc, else null
	 */
	python?: string | null;
};

const tables: ReadonlyArray<[string, SocketProtocol, 4 | 6]> = [
	['tcp', 'tcp', 4],
	['tcp6', 'tcp', 6],
	['udp', 'udp', 4],
	['udp6', 'udp', 6],
];

/** ss prints ~1 KiB per TCP socket with -i (padded): room for 50,000 sockets. */
const maxSsOutputBytes = 64 * 1024 * 1024;

/**
 * Run `ss -tinaeH`: the counters by inode, or why they cannot be had. Never rejects.
 * TIME-WAIT sockets have no inode and no counters, but ss pads a blank info line for
 * each: leaving them out cut its output from 4 MB to 6 kB on a machine with 6,000 of them.
 */
async function readCounters(ssCommand: string): Promise<Map<number, TcpCounters> | string> {
	return new Promise((resolve) => {
		childProcess().execFile(ssCommand, ['-tinaeH', 'exclude', 'time-wait'], {maxBuffer: maxSsOutputBytes, timeout: 10_000, encoding: 'latin1'}, (error, stdout) => {
			if (error) {
				const code = (error as NodeJS.ErrnoException).code;
				resolve(code === 'ENOENT'
					? 'TCP bytes and rtt: `ss` (iproute2) is not installed'
					: `TCP bytes and rtt: ss failed (${String(error.message).split('\n', 1)[0]})`);
				return;
			}

			resolve(parseSsInfo(stdout));
		});
	});
}

/** A full /proc scan at least this often, even when no new socket asks for one. */
const fullScanEvery = 10;

/**
 * Read every TCP and UDP socket of the machine (of this network namespace)
 * with its process and counters, once. Never rejects: each source that is
 * missing becomes a sentence in `missing`.
 */
export async function readSystemSockets(options: ReadOptions = {}): Promise<SystemSocketsReading> {
	return createSystemSocketReader(options)();
}

/**
 * A reader for repeated refreshes. The process map (proc-fd.ts
 * ProcessTable) is brought up to date only when a socket appears that it
 * has not accounted for, and every 10th refresh (an fd handed to another
 * process by fork or SCM_RIGHTS); an update looks again only at processes
 * whose fd count changed or whose sockets closed. Sockets still unknown
 * after that (of a process gone already, another user's, or an fd number
 * that held a file and now a socket) have every fd directory listed at
 * most every 5th refresh and every link read at most every 10th: on a
 * busy machine short-lived programs open sockets every second, and
 * listing 10,000 fds each time for them cost more than all the rest.
 */
export function createSystemSocketReader(options: ReadOptions = {}): (() => Promise<SystemSocketsReading>) & {close(): void} {
	const table = new ProcessTable(options.procRoot ?? '/proc');
	let scan: ProcessScan | undefined;
	/** Inodes in the tables whose process the last update did not find. */
	let unowned = new Set<number>();
	let sinceUpdate = 0;
	let sinceFullRead = 0;
	let sinceList = 0;
	const python = options.python === undefined ? ((options.procRoot ?? '/proc') === '/proc' ? 'python3' : null) : options.python;
	const diag = python === null ? undefined : new SockDiagReader(python);
	const joined = newJoinCache();
	const read = async () => {
		const reading = await readOnce(options, diag, joined, (kernel) => {
			const isKnown = (socket: KernelSocket) => socket.inode === 0 || scan!.owners.has(socket.inode) || unowned.has(socket.inode);
			sinceFullRead++;
			sinceList++;
			if (scan === undefined || ++sinceUpdate >= fullScanEvery || !kernel.every(isKnown)) {
				const live = new Set<number>();
				for (const socket of kernel) {
					live.add(socket.inode);
				}

				const isLive = (inode: number) => live.has(inode);
				// First only the processes whose fd count changed or whose sockets closed, then every fd directory, then (rarely) every link.
				scan = table.refresh(isLive, 'quick');
				sinceUpdate = 0;
				if (sinceList >= 5 && !kernel.every(isKnown)) {
					scan = table.refresh(isLive, 'list');
					sinceList = 0;
				}

				if (sinceFullRead >= fullScanEvery && !kernel.every(isKnown)) {
					scan = table.refresh(isLive, 'full');
					sinceFullRead = 0;
				}

				unowned = new Set();
				for (const socket of kernel) {
					if (socket.inode !== 0 && !scan.owners.has(socket.inode)) {
						unowned.add(socket.inode);
					}
				}
			}

			return scan;
		});
		return reading;
	};

	// The sock_diag helper is stopped with the watch; the next read starts it again.
	return Object.assign(read, {
		close() {
			diag?.close();
		},
	});
}

/** Let the event loop run what is waiting (a key, a frame) before the next step of a reading. */
async function yieldToKeys(): Promise<void> {
	return new Promise((resolve) => {
		setImmediate(resolve);
	});
}

/** The sockets and counters from sock_diag, or undefined when it cannot be read (the caller falls back). */
async function fromSockDiag(diag: SockDiagReader | undefined): Promise<SockDiagDump | undefined> {
	try {
		return await diag?.dump();
	} catch {
		return undefined;
	}
}

async function readOnce(options: ReadOptions, diag: SockDiagReader | undefined, joined: JoinCache, scanFor: (kernel: KernelSocket[]) => ProcessScan): Promise<SystemSocketsReading> {
	const started = performance.now();
	const procRoot = options.procRoot ?? '/proc';
	const missing: string[] = [];
	if ((options.platform ?? process.platform) !== 'linux') {
		return {sockets: [], missing: [`every socket: the machine's socket tables are read from /proc/net, which ${options.platform ?? process.platform} does not have (Linux only)`], tookMs: 0};
	}

	const dump = await fromSockDiag(diag);
	let kernel: KernelSocket[];
	let counters: Map<number, TcpCounters> | Array<TcpCounters | undefined> | string;
	let scan: ProcessScan;
	if (dump) {
		kernel = dump.sockets;
		// Keys typed meanwhile are answered between the steps of a big reading, not after all of it.
		await yieldToKeys();
		scan = scanFor(kernel);
		counters = dump.counters;
	} else {
		// Counters first: ss runs in its own process while this one reads /proc.
		const counting = readCounters(options.ssCommand ?? 'ss');
		kernel = [];
		for (const [file, protocol, family] of tables) {
			try {
				kernel.push(...parseProcNet(readFileSync(path.join(procRoot, 'net', file), 'utf8'), protocol, family));
			} catch (error) {
				missing.push(`${protocol.toUpperCase()} over IPv${family}: /proc/net/${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
			}
		}

		scan = scanFor(kernel);
		counters = await counting;
	}

	if (typeof counters === 'string') {
		missing.push(counters);
	}

	if (scan.hidepid) {
		missing.push(`other users' processes: /proc is mounted with ${scan.hidepid}; their sockets show ?`);
	} else if (scan.unreadable > 0) {
		const uids = [...scan.unreadableUids].sort((a, b) => a - b).join(', ');
		missing.push(`other users' processes: ${scan.unreadable} processes' /proc/PID/fd are readable only by root${uids ? ` (uid ${uids})` : ''}; their sockets show ?`);
	}

	await yieldToKeys();
	const reader = {pid: process.pid, uid: process.getuid?.() ?? 0};
	const sockets = joinSockets(kernel, scan, typeof counters === 'string' ? undefined : counters, reader, joined);
	return {sockets, missing, tookMs: Math.round((performance.now() - started) * 10) / 10, startedAt: started};
}
