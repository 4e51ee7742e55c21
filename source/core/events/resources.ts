/** Bus events of Limits the process runs into: file descriptors, kernel drops, outputs that fell behind. Re-exported by ../events.ts, which holds the BusEvent union. */

/** The process is at or near a resource limit the kernel would otherwise enforce silently (open files: libuv accepts and drops connections without an error). */
export type ResourceExhausted = {
	type: 'resource-exhausted';
	resource: 'file-descriptors';
	used: number;
	limit: number;
	message: string;
};

/**
 * After a quiet second, netdash asked V8 to hand back the memory it grew for
 * a burst (memory-return.ts): the young generation's committed bytes and
 * the process's RSS before and after, and how long the pause took.
 */
export type MemoryReturned = {
	type: 'memory-returned';
	youngBefore: number;
	youngAfter: number;
	rssBefore: number;
	rssAfter: number;
	ms: number;
};

/** The kernel dropped UDP datagrams for a full receive buffer since the last sample. */
export type KernelDropsChanged = {
	type: 'kernel-drops-changed';
	/** Datagrams dropped at netdash's own sockets since it started (the `drops` column of /proc/net/udp). */
	socketDrops: number;
	/** The network namespace's total since boot (`/proc/net/snmp` RcvbufErrors): other programs' sockets count too. */
	rcvbufErrors: number;
	/** Rise of `rcvbufErrors` since netdash started. */
	sinceStart: number;
};

/**
 * An output with a capped queue (stdout in `--json`, the `--log` file) was
 * so far behind that events were left out rather than held in memory;
 * written once it drains. The `seq` numbers of the events left out are
 * missing from that output.
 */
export type OutputShed = {
	type: 'output-shed';
	output: 'stdout' | 'log' | 'pcap';
	/** Events left out. */
	events: number;
	firstSeq: number;
	lastSeq: number;
	/** Events left out, by type. */
	types: Record<string, number>;
};
