import {udpDropsByPort} from '../../../source/core/resources.js';

/**
 * The kernel's drop counter of the UDP socket bound to this local port
 * (last column of /proc/net/udp): datagrams lost because its receive
 * buffer was full. Undefined off Linux or when the socket is not found.
 */
export function udpSocketDrops(port: number): number | undefined {
	return udpDropsByPort(new Set([port])).get(port);
}
