import type {Endpoint} from '../events.js';
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

function endpointOf(field: string): Endpoint {
	const [address = '', port = '0'] = field.split(':');
	return {address: decodeAddress(address), port: Number.parseInt(port, 16)};
}

/**
 * Parse one of `/proc/net/{tcp,tcp6,udp,udp6}`. Lines that do not have the
 * expected fields are skipped, never thrown on: a kernel that adds a column
 * must not crash the pane.
 */
export function parseProcNet(text: string, protocol: SocketProtocol, family: 4 | 6): KernelSocket[] {
	const sockets: KernelSocket[] = [];
	const addressLength = family === 4 ? 8 : 32;
	for (const line of text.split('\n')) {
		// sl local rem st tx:rx tr:when retrnsmt uid timeout inode …
		const fields = line.trim().split(/\s+/);
		if (fields.length < 10 || !/^\d+:$/.test(fields[0]!)) {
			continue;
		}

		const [, local = '', remote = '', state = '', queues = '', , , uid = '', , inode = ''] = fields;
		const [tx = '', rx = ''] = queues.split(':');
		if (local.indexOf(':') !== addressLength || remote.indexOf(':') !== addressLength) {
			continue;
		}

		const stateNumber = Number.parseInt(state, 16);
		sockets.push({
			protocol,
			family,
			local: endpointOf(local),
			remote: endpointOf(remote),
			// UDP uses the TCP numbers: 1 for a connected socket, 7 for an unconnected one.
			state: tcpStates[stateNumber] ?? `UNKNOWN-${stateNumber}`,
			recvQueue: Number.parseInt(rx, 16) || 0,
			sendQueue: Number.parseInt(tx, 16) || 0,
			uid: Number.parseInt(uid, 10) || 0,
			inode: Number.parseInt(inode, 10) || 0,
		});
	}

	return sockets;
}
