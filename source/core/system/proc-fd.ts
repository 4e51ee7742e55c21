import {readFileSync, readdirSync, readlinkSync, statSync} from 'node:fs';
import path from 'node:path';

/*
 * The process → socket map, as ss -p and bandwhich build it: every
 * `/proc/PID/fd/N` that links to `socket:[INODE]`. Only root (or the same
 * user) may read another process's fd directory; what could not be read is
 * counted, so a socket without an owner says why instead of being guessed.
 */

/** The process holding a socket. */
export type SocketOwner = {pid: number; process: string};

/** What a scan of /proc found. */
export type ProcessScan = {
	/** The first process found holding each socket inode (a socket shared after fork has several). */
	owners: Map<number, SocketOwner>;
	/** Processes whose fd directory could not be read (another user's, without root). */
	unreadable: number;
	/** The user ids of those processes. */
	unreadableUids: Set<number>;
	/** `hidepid=N` when /proc hides other users' processes altogether. */
	hidepid: string | undefined;
};

/** The socket inode a `/proc/PID/fd/N` link names, or undefined for any other file. */
export function socketInodeOf(link: string): number | undefined {
	// The kernel writes exactly `socket:[%lu]` (fs/proc/fd.c via sockfs_dname).
	if (!link.startsWith('socket:[') || !link.endsWith(']')) {
		return undefined;
	}

	const inode = Number(link.slice(8, -1));
	return Number.isInteger(inode) && inode > 0 ? inode : undefined;
}

/** The `hidepid=` option of the /proc mount in a `/proc/self/mountinfo` text, when other than 0 (off). */
export function hidepidOf(mountinfo: string): string | undefined {
	for (const line of mountinfo.split('\n')) {
		const fields = line.split(' ');
		if (fields[4] !== '/proc') {
			continue;
		}

		const option = /hidepid=(\w+)/.exec(line)?.[1];
		return option === undefined || option === '0' || option === 'off' ? undefined : `hidepid=${option}`;
	}

	return undefined;
}

/**
 * Scan `/proc/PID/fd` of every process for sockets. Synchronous on purpose:
 * one readlink per open file, and the promise API would cost a thread-pool
 * round trip for each of tens of thousands (measured in the bench).
 */
export function scanProcesses(procRoot = '/proc'): ProcessScan {
	const scan: ProcessScan = {owners: new Map(), unreadable: 0, unreadableUids: new Set(), hidepid: undefined};
	try {
		scan.hidepid = hidepidOf(readFileSync(path.join(procRoot, 'self', 'mountinfo'), 'utf8'));
	} catch {
		// No mountinfo: nothing to say about hidepid.
	}

	let entries: string[];
	try {
		entries = readdirSync(procRoot);
	} catch {
		return scan;
	}

	for (const entry of entries) {
		const pid = Number(entry);
		if (!Number.isInteger(pid) || pid <= 0) {
			continue;
		}

		const fdDirectory = path.join(procRoot, entry, 'fd');
		let fds: string[];
		try {
			fds = readdirSync(fdDirectory);
		} catch (error) {
			// ENOENT: the process exited meanwhile. EACCES: another user's.
			if ((error as NodeJS.ErrnoException).code === 'EACCES') {
				scan.unreadable++;
				const uid = uidOf(procRoot, entry);
				if (uid !== undefined) {
					scan.unreadableUids.add(uid);
				}
			}

			continue;
		}

		let name: string | undefined;
		for (const fd of fds) {
			let link: string;
			try {
				link = readlinkSync(path.join(fdDirectory, fd));
			} catch {
				continue; // Closed meanwhile.
			}

			const inode = socketInodeOf(link);
			if (inode === undefined || scan.owners.has(inode)) {
				continue;
			}

			name ??= commandOf(procRoot, entry);
			scan.owners.set(inode, {pid, process: name});
		}
	}

	return scan;
}

/** `/proc/PID/comm` (the name `ps` and `ss -p` show), or the first word of cmdline, or `?`. */
function commandOf(procRoot: string, pid: string): string {
	try {
		const comm = readFileSync(path.join(procRoot, pid, 'comm'), 'utf8').trim();
		if (comm !== '') {
			return comm;
		}
	} catch {
		// Fall back to cmdline.
	}

	try {
		const argv0 = readFileSync(path.join(procRoot, pid, 'cmdline'), 'utf8').split('\0', 1)[0] ?? '';
		return argv0 === '' ? '?' : path.basename(argv0);
	} catch {
		return '?';
	}
}

/** The real uid of a process from `/proc/PID/status`, readable by everyone unless hidepid is on. */
function uidOf(procRoot: string, pid: string): number | undefined {
	try {
		const match = /^Uid:\s+(\d+)/m.exec(readFileSync(path.join(procRoot, pid, 'status'), 'utf8'));
		return match ? Number(match[1]) : undefined;
	} catch {
		return undefined;
	}
}

/**
 * The process → socket map kept between refreshes: a refresh lists /proc
 * and each /proc/PID/fd (names only) and reads links only for fds it has
 * not seen, or whose socket has left the kernel's tables (its number may
 * now be a new socket's). With 10,000 sockets of one process, that is one
 * readdir instead of 10,000 readlinks a refresh.
 */
export class ProcessTable {
	readonly #procRoot: string;
	/** Per process: its name and, per fd name, the socket inode it linked to (0: not a socket). */
	readonly #processes = new Map<number, {owner: SocketOwner | undefined; fds: Map<string, number>; count: number}>();
	#scan: ProcessScan = {owners: new Map(), unreadable: 0, unreadableUids: new Set(), hidepid: undefined};

	constructor(procRoot = '/proc') {
		this.#procRoot = procRoot;
	}

	/** The map as of the last refresh. */
	get scan(): ProcessScan {
		return this.#scan;
	}

	/**
	 * Bring the map up to date. `isLive(inode)` says whether a socket is still
	 * in the kernel's tables; `isFull` forgets what was known and reads every link.
	 */
	refresh(isLive: (inode: number) => boolean, mode: 'quick' | 'list' | 'full' = 'list'): ProcessScan {
		if (mode === 'full') {
			this.#processes.clear();
		}

		const scan: ProcessScan = {owners: new Map(), unreadable: 0, unreadableUids: new Set(), hidepid: undefined};
		try {
			scan.hidepid = hidepidOf(readFileSync(path.join(this.#procRoot, 'self', 'mountinfo'), 'utf8'));
		} catch {
			// No mountinfo: nothing to say about hidepid.
		}

		let entries: string[];
		try {
			entries = readdirSync(this.#procRoot);
		} catch {
			this.#scan = scan;
			return scan;
		}

		const seen = new Set<number>();
		for (const entry of entries) {
			const pid = Number(entry);
			if (!Number.isInteger(pid) || pid <= 0) {
				continue;
			}

			// Plain concatenation: path.join per process and per fd showed in the profile.
			const fdDirectory = `${this.#procRoot}/${entry}/fd`;
			const before = this.#processes.get(pid);
			if (mode === 'quick' && before && this.#isUnchanged(fdDirectory, before, isLive)) {
				seen.add(pid);
				for (const inode of before.fds.values()) {
					if (inode !== 0 && !scan.owners.has(inode)) {
						scan.owners.set(inode, before.owner!);
					}
				}

				continue;
			}

			let names: string[];
			try {
				names = readdirSync(fdDirectory);
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code === 'EACCES') {
					scan.unreadable++;
					const uid = uidOf(this.#procRoot, entry);
					if (uid !== undefined) {
						scan.unreadableUids.add(uid);
					}
				}

				continue;
			}

			seen.add(pid);
			let known = this.#processes.get(pid);
			if (!known) {
				known = {owner: undefined, fds: new Map(), count: 0};
				this.#processes.set(pid, known);
			}

			const fds = new Map<string, number>();
			for (const fd of names) {
				const before = known.fds.get(fd);
				let inode = before;
				// A new fd, or one whose socket closed (the number may be a new socket's now): read its link.
				if (inode === undefined || (inode !== 0 && !isLive(inode))) {
					try {
						inode = socketInodeOf(readlinkSync(`${fdDirectory}/${fd}`)) ?? 0;
					} catch {
						continue; // Closed meanwhile.
					}
				}

				fds.set(fd, inode);
				if (inode !== 0 && !scan.owners.has(inode)) {
					// One owner object per process, kept across refreshes: rows joined to it are reused while it holds them (join.ts).
					known.owner ??= {pid, process: commandOf(this.#procRoot, entry)};
					scan.owners.set(inode, known.owner);
				}
			}

			known.fds = fds;
			known.count = names.length;
		}

		for (const pid of this.#processes.keys()) {
			if (!seen.has(pid)) {
				this.#processes.delete(pid);
			}
		}

		this.#scan = scan;
		return scan;
	}

	/**
	 * A quick look, for 'quick' refreshes: as many fds as last time (the
	 * size the kernel gives /proc/PID/fd since Linux 6.2; 0 before, which
	 * never matches) and every socket it held still open. An fd of a file
	 * turned socket escapes this; the reader then lists (read.ts).
	 */
	#isUnchanged(fdDirectory: string, known: {fds: Map<string, number>; count: number}, isLive: (inode: number) => boolean): boolean {
		let size: number;
		try {
			size = statSync(fdDirectory).size;
		} catch {
			return false;
		}

		if (size === 0 || size !== known.count) {
			return false;
		}

		for (const inode of known.fds.values()) {
			if (inode !== 0 && !isLive(inode)) {
				return false;
			}
		}

		return true;
	}
}

