import type {TcpCounters} from './types.js';

/*
 * A pure parser of `ss -tinaeH` (iproute2): the TCP byte counters and rtt
 * from the kernel's socket diagnostics, by socket inode.
 *
 * Why ss and not netlink: sock_diag is a NETLINK_INET_DIAG socket, and Node
 * has no AF_NETLINK (neither `net` nor `dgram` can open one), so reading it
 * directly needs a native addon — a compiler at install and a build per
 * platform for one feature. `ss` is in iproute2, which every Linux with `ip`
 * has; it speaks sock_diag for us, unprivileged, and `-H -n -e -i` give a
 * stable line per socket (`ino:` to join it to /proc/net, then the `-i`
 * fields). The cost is one process per refresh (see the bench), and a
 * machine without ss loses only the counters: the tables come from /proc.
 */

/** Counters of TCP sockets by inode, from the text of `ss -tinaeH`. Sockets without an inode (TIME-WAIT) are left out. */
export function parseSsInfo(text: string): Map<number, TcpCounters> {
	const counters = new Map<number, TcpCounters>();
	let inode = 0;
	for (const line of text.split('\n')) {
		if (line.trim() === '') {
			continue;
		}

		if (!/^\s/.test(line)) {
			// A socket's first line: STATE Recv-Q Send-Q local peer [ino:N sk:… uid:N …]
			const match = / ino:(\d+)/.exec(line);
			inode = match ? Number.parseInt(match[1]!, 10) : 0;
			continue;
		}

		// Its -i line; a counter the kernel has at zero is left out by ss.
		if (inode === 0) {
			continue;
		}

		counters.set(inode, {
			bytesIn: numberField(line, bytesReceived) ?? 0,
			bytesOut: numberField(line, bytesAcked) ?? 0,
			rttMs: numberField(line, rtt),
		});
		inode = 0;
	}

	return counters;
}

const bytesReceived = /\sbytes_received:([\d.]+)/;
const bytesAcked = /\sbytes_acked:([\d.]+)/;
const rtt = /\srtt:([\d.]+)/;

/** The number after ` NAME:` in an ss info line (`rtt:0.03/0.01` gives 0.03), or null. */
function numberField(line: string, pattern: RegExp): number | null {
	const match = pattern.exec(line);
	if (!match) {
		return null;
	}

	const value = Number(match[1]);
	return Number.isFinite(value) ? value : null;
}
