/**
 * Which discovery sources may be answered. A UDP source address is whatever
 * the sender wrote in its IP header: answering a forged broadcast source
 * sends the reply to every host of the subnet, and each of them (N netdash
 * instances) answers in turn — one 21-byte probe, N replies, N² deliveries.
 * So only a unicast address on the subnet of one of our interfaces is ever
 * answered, and the glue sends those answers from a socket without
 * SO_BROADCAST, so the kernel refuses (EACCES) if this check is ever wrong.
 */
import ipaddr from 'ipaddr.js';
import {broadcastAddress, type InterfaceInfo} from '../interfaces.js';

/**
 * - `local`: a unicast address on the subnet of one of our interfaces; may be answered.
 * - `remote`: a unicast address on no subnet of ours (routed, or forged); heard, never answered.
 * - `not-unicast`: broadcast, multicast, network, unspecified or reserved; dropped unread.
 */
export type SourceKind = 'local' | 'remote' | 'not-unicast';

/** IPv4 ranges (ipaddr.js names) that are never a sender's own address (0/8, 255.255.255.255, 224/4). */
const NEVER_UNICAST = new Set(['unspecified', 'broadcast', 'multicast']);
/** 240/4 (class E) is never assigned; ipaddr.js's `reserved` also holds the documentation nets, which are unicast. */
const CLASS_E = ipaddr.IPv4.parseCIDR('240.0.0.0/4');

/** What `address` (a datagram's source) is, given this host's interfaces. */
export function classifySource(address: string, interfaces: readonly InterfaceInfo[]): SourceKind {
	if (!ipaddr.IPv4.isValidFourPartDecimal(address)) {
		return 'not-unicast'; // The discovery socket is udp4: anything else is not a sender we know how to judge.
	}

	const parsed = ipaddr.IPv4.parse(address);
	if (NEVER_UNICAST.has(parsed.range()) || parsed.match(CLASS_E)) {
		return 'not-unicast';
	}

	let isLocal = false;
	for (const info of interfaces) {
		if (!parsed.match(ipaddr.IPv4.parse(info.address), info.prefixLength)) {
			continue;
		}

		// The subnet's network and broadcast addresses are nobody's (a /31 or /32 has neither).
		// Loopback's 127.255.255.255 counts too, though lo lists no broadcast address.
		if (info.prefixLength <= 30) {
			const network = ipaddr.IPv4.networkAddressFromCIDR(`${info.address}/${info.prefixLength}`).toString();
			if (address === network || address === broadcastAddress(info.address, info.prefixLength)) {
				return 'not-unicast';
			}
		}

		isLocal = true;
	}

	return isLocal ? 'local' : 'remote';
}
