import {readFileSync} from 'node:fs';

/**
 * The kernel's drop counter of the UDP socket bound to this local port
 * (last column of /proc/net/udp): datagrams lost because its receive
 * buffer was full. Undefined off Linux or when the socket is not found.
 */
export function udpSocketDrops(port: number): number | undefined {
	try {
		const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
		for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
			const fields = line.trim().split(/\s+/);
			if (fields[1]?.endsWith(`:${hexPort}`)) {
				return Number(fields.at(-1));
			}
		}
	} catch {}

	return undefined;
}
