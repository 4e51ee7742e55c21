import type {KernelSocket, SocketProtocol} from './types.js';

/*
 * A pure parser of the kernel's socket tables, `/proc/net/{tcp,tcp6,udp,udp6}`
 * (format: net/ipv4/tcp_ipv4.c `get_tcp4_sock`, net/ipv6/tcp_ipv6.c). The
 * reading glue lives in read.ts; tests feed captured text.
 */

/** TCP states by their kernel number (include/net/tcp_states.h), in the names `ss` prints. */
const tcpStates: Record<number, string> = {
	1: 'ESTAB',
	2: 'SYN-SENT',
	3: 'SYN-RECV',
	4: 'FIN-WAIT-1',
	5: 'FIN-WAIT-2',
	6: 'TIME-WAIT',
	7: 'UNCONN',
	8: 'CLOSE-WAIT',
	9: 'LAST-ACK',
	10: 'LISTEN',
	11: 'CLOSING',
	// A request socket of a listener: ss shows it as SYN-RECV too.
	12: 'SYN-RECV',
};

/** The `ss` name of a kernel socket state number (UDP uses the TCP numbers: 1 connected, 7 not). */
export function tcpStateName(state: number): string {
	return tcpStates[state] ?? `UNKNOWN-${state}`;
}

/**
 * An address as the table prints it: IPv4 as one 32-bit word, IPv6 as four,
 * each in the host's byte order (little-endian on every Linux netdash runs on).
 */
export function decodeAddress(hex: string): string {
	const bytes: number[] = [];
	for (let word = 0; word < hex.length; word += 8) {
		for (let byte = 6; byte >= 0; byte -= 2) {
			bytes.push(Number.parseInt(hex.slice(word + byte, word + byte + 2), 16));
		}
	}

	return bytes.length === 4 ? bytes.join('.') : formatIpv6(bytes);
}

/** RFC 5952 text of 16 bytes: the longest run of zero groups becomes `::`, IPv4-mapped keeps its dotted tail (as inet_ntop). */
export function formatIpv6(bytes: readonly number[]): string {
	const groups: number[] = [];
	for (let index = 0; index < 16; index += 2) {
		groups.push((bytes[index]! << 8) | bytes[index + 1]!);
	}

	if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xff_ff) {
		return `::ffff:${bytes.slice(12).join('.')}`;
	}

	let bestStart = -1;
	let bestLength = 1;
	for (let start = 0; start < 8; start++) {
		let length = 0;
		while (start + length < 8 && groups[start + length] === 0) {
			length++;
		}

		if (length > bestLength) {
			bestStart = start;
			bestLength = length;
		}
	}

	const hex = groups.map((group) => group.toString(16));
	if (bestStart < 0) {
		return hex.join(':');
	}

	return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * One row: `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode …`
 * (the fields after inode vary by table and kernel). One regex over the
 * whole text, not a split per line: 10,000 rows are read every refresh.
 */
const rowPattern = /^\s*\d+: ([\dA-F]+):([\dA-F]{4}) ([\dA-F]+):([\dA-F]{4}) ([\dA-F]{2}) ([\dA-F]{8}):([\dA-F]{8}) \S+ \S+\s+(\d+)\s+\d+ (\d+)/gm;

/**
 * Parse one of `/proc/net/{tcp,tcp6,udp,udp6}`. Lines that do not have the
 * expected fields are skipped, never thrown on: a kernel that adds a column
 * must not crash the pane.
 */
export function parseProcNet(text: string, protocol: SocketProtocol, family: 4 | 6): KernelSocket[] {
	const sockets: KernelSocket[] = [];
	const addressLength = family === 4 ? 8 : 32;
	// Most rows share a few addresses (loopback, the wildcard): decode each once.
	const addresses = new Map<string, string>();
	const addressOf = (hex: string): string => {
		let address = addresses.get(hex);
		if (address === undefined) {
			address = decodeAddress(hex);
			addresses.set(hex, address);
		}

		return address;
	};

	for (const match of text.matchAll(rowPattern)) {
		const [, local = '', localPort = '', remote = '', remotePort = '', state = '', tx = '', rx = '', uid = '', inode = ''] = match;
		if (local.length !== addressLength || remote.length !== addressLength) {
			continue;
		}

		const stateNumber = Number.parseInt(state, 16);
		sockets.push({
			protocol,
			family,
			local: {address: addressOf(local), port: Number.parseInt(localPort, 16)},
			remote: {address: addressOf(remote), port: Number.parseInt(remotePort, 16)},
			// UDP uses the TCP numbers: 1 for a connected socket, 7 for an unconnected one.
			state: tcpStates[stateNumber] ?? `UNKNOWN-${stateNumber}`,
			recvQueue: Number.parseInt(rx, 16),
			sendQueue: Number.parseInt(tx, 16),
			uid: Number(uid),
			inode: Number(inode),
		});
	}

	return sockets;
}
