import {routeMtu} from './route-mtu.js';

/*
 * How big a datagram may be: the most one UDP datagram can carry, the most
 * that crosses an Ethernet link whole, and the warning for one that the
 * route will fragment (a lost fragment loses the whole datagram).
 */

/** Largest UDP payload over IPv4 (65,535 − 20 IP − 8 UDP) and over IPv6 (65,535 − 8). */
export const MAX_DATAGRAM_BYTES = {udp4: 65_507, udp6: 65_527} as const;

/** Largest payload that fits one 1500-byte Ethernet frame unfragmented (IPv4: 1500 − 20 − 8; IPv6: 1500 − 40 − 8). */
export const UNFRAGMENTED_BYTES = {udp4: 1472, udp6: 1452} as const;

/** IP and UDP headers of a datagram: IPv4 20 + 8, IPv6 40 + 8. */
const HEADER_BYTES = {udp4: 28, udp6: 48} as const;

/**
 * The warning for a datagram that will be fragmented on the route to
 * `address`: over its MTU less the IP and UDP headers (65,536 on
 * loopback, so 65,508 bytes there; 1,500 on Ethernet, so 1,472). The
 * route is looked up (once per destination) only for datagrams over
 * 1,232 bytes: every IPv6 link, and in practice every IPv4 one, carries
 * that much whole (IPv6's minimum MTU of 1,280 less headers).
 */
export function fragmentWarning(family: 'udp4' | 'udp6', bytes: number, address: string): string | undefined {
	if (bytes <= 1232) {
		return undefined;
	}

	const mtu = routeMtu(address);
	const limit = mtu - HEADER_BYTES[family];
	return bytes > limit ? `${bytes} bytes will fragment (over ${limit} on the route's ${mtu}-byte MTU); a lost fragment loses all of it` : undefined;
}
