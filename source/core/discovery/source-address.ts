/**
 * Which discovery sources may be answered. A UDP source address is whatever
 * the sender wrote in its IP header: answering a forged broadcast source
 * sends the reply to every host of the subnet, and each of them (N netdash
 * instances) answers in turn — one 21-byte probe, N replies, N² deliveries.
 * So only a unicast address on the subnet of one of our interfaces is ever
 * answered, and the glue sends those answers from a socket without
 * SO_BROADCAST, so the kernel refuses (EACCES) if this check is ever wrong.
 */
import type {InterfaceInfo} from '../interfaces.js';

/**
 * - `local`: a unicast address on the subnet of one of our interfaces; may be answered.
 * - `remote`: a unicast address on no subnet of ours (routed, or forged); heard, never answered.
 * - `not-unicast`: broadcast, multicast, network, unspecified or class E; dropped unread.
 */
export type SourceKind = 'local' | 'remote' | 'not-unicast';

type Subnet = {network: number; mask: number; broadcast: number; hasEnds: boolean};

/** Dotted-quad IPv4 as an unsigned 32-bit number; undefined for anything else. */
function toU32(address: string): number | undefined {
	const parts = address.split('.');
	if (parts.length !== 4) {
		return undefined;
	}

	let value = 0;
	for (const part of parts) {
		const octet = Number(part);
		if (part === '' || !Number.isInteger(octet) || octet < 0 || octet > 255) {
			return undefined;
		}

		value = (value * 256) + octet;
	}

	return value;
}

function maskOf(prefixLength: number): number {
	return prefixLength === 0 ? 0 : (0xFF_FF_FF_FF << (32 - prefixLength)) >>> 0;
}

/**
 * A classifier for one list of interfaces, its subnets worked out once: it
 * runs on every datagram of a flood, so it does integer arithmetic only.
 */
export function sourceClassifier(interfaces: readonly InterfaceInfo[]): (address: string) => SourceKind {
	const subnets: Subnet[] = [];
	for (const info of interfaces) {
		const address = toU32(info.address);
		if (address === undefined) {
			continue;
		}

		const mask = maskOf(info.prefixLength);
		const network = (address & mask) >>> 0;
		// A /31 or /32 has no network or broadcast address; loopback's 127.255.255.255 counts, though lo lists none.
		subnets.push({network, mask, broadcast: (network | ~mask) >>> 0, hasEnds: info.prefixLength <= 30});
	}

	return (address) => {
		const value = toU32(address);
		// 0/8 (this network), 224/4 (multicast) and 240/4 (class E, with 255.255.255.255) are never a sender's own.
		if (value === undefined || value < 0x01_00_00_00 || value >= 0xE0_00_00_00) {
			return 'not-unicast';
		}

		let isLocal = false;
		for (const subnet of subnets) {
			if (((value & subnet.mask) >>> 0) !== subnet.network) {
				continue;
			}

			if (subnet.hasEnds && (value === subnet.network || value === subnet.broadcast)) {
				return 'not-unicast';
			}

			isLocal = true;
		}

		return isLocal ? 'local' : 'remote';
	};
}

/** What `address` (a datagram's source) is, given this host's interfaces. */
export function classifySource(address: string, interfaces: readonly InterfaceInfo[]): SourceKind {
	return sourceClassifier(interfaces)(address);
}
