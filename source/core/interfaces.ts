import os from 'node:os';
import ipaddr from 'ipaddr.js';
import {NetdashError} from './errors.js';

/** One IPv4 address of a network interface, with its subnet worked out. */
export type InterfaceInfo = {
	/** Interface name, e.g. `'eth0'`. */
	name: string;
	/** The interface's own address, e.g. `'10.0.0.2'`. */
	address: string;
	/** Dotted netmask, e.g. `'255.255.255.0'`. */
	netmask: string;
	/** Prefix length of the netmask, e.g. `24`. */
	prefixLength: number;
	/** Network address and prefix, e.g. `'10.0.0.0/24'`. */
	cidr: string;
	/**
	 * Directed broadcast of the subnet, e.g. `'10.0.0.255'`. `undefined` for
	 * loopback and for /31 and /32, which have no broadcast address.
	 */
	broadcast: string | undefined;
	/** True for the loopback interface (Node's `internal`). */
	isLoopback: boolean;
};

/**
 * Every IPv4 interface address, in the order the system lists them. IPv6
 * addresses are skipped, and so is an address whose netmask is not
 * contiguous (it has no prefix length, so no subnet).
 *
 * @param source The shape of `os.networkInterfaces()`, for tests. Defaults to the real machine.
 */
export function listInterfaces(source: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): InterfaceInfo[] {
	const result: InterfaceInfo[] = [];
	for (const [name, entries] of Object.entries(source)) {
		for (const entry of entries ?? []) {
			const info = toInterfaceInfo(name, entry);
			if (info) {
				result.push(info);
			}
		}
	}

	return result;
}

/**
 * Directed broadcast address of `address/prefixLength`:
 * `broadcastAddress('10.1.2.3', 20)` is `'10.1.15.255'`. Plain arithmetic:
 * a /32 gives the address itself and a /31 the upper address.
 *
 * @throws NetdashError `BAD_ADDRESS` when the address is not dotted-quad IPv4 or the prefix is not an integer 0..32.
 */
export function broadcastAddress(address: string, prefixLength: number): string {
	assertIpv4(address, prefixLength);
	return ipaddr.IPv4.broadcastAddressFromCIDR(`${address}/${prefixLength}`).toString();
}

/**
 * The interface whose subnet contains `address`, if any. When several
 * subnets contain it the most specific (longest prefix) wins. An
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) is treated as IPv4; anything
 * that is not an IPv4 address gives `undefined`.
 *
 * @param interfaces Defaults to `listInterfaces()`.
 */
export function interfaceFor(address: string, interfaces: InterfaceInfo[] = listInterfaces()): InterfaceInfo | undefined {
	const parsed = parseIpv4(address);
	if (!parsed) {
		return undefined;
	}

	let best: InterfaceInfo | undefined;
	for (const info of interfaces) {
		const network = ipaddr.IPv4.parse(info.address);
		if (parsed.match(network, info.prefixLength) && (!best || info.prefixLength > best.prefixLength)) {
			best = info;
		}
	}

	return best;
}

function toInterfaceInfo(name: string, entry: os.NetworkInterfaceInfo): InterfaceInfo | undefined {
	if (entry.family !== 'IPv4' || !ipaddr.IPv4.isValidFourPartDecimal(entry.address) || !ipaddr.IPv4.isValidFourPartDecimal(entry.netmask)) {
		return undefined;
	}

	const prefixLength = ipaddr.IPv4.parse(entry.netmask).prefixLengthFromSubnetMask();
	if (prefixLength === null) {
		return undefined;
	}

	const isLoopback = entry.internal || ipaddr.IPv4.parse(entry.address).range() === 'loopback';
	const network = ipaddr.IPv4.networkAddressFromCIDR(`${entry.address}/${prefixLength}`).toString();
	// A /31 is a point-to-point link (RFC 3021) and a /32 a single host:
	// neither has a broadcast address, and loopback never forwards one.
	const hasBroadcast = !isLoopback && prefixLength <= 30;
	return {
		name,
		address: entry.address,
		netmask: entry.netmask,
		prefixLength,
		cidr: `${network}/${prefixLength}`,
		broadcast: hasBroadcast ? broadcastAddress(entry.address, prefixLength) : undefined,
		isLoopback,
	};
}

/** Strict dotted-quad IPv4, or the IPv4 inside an IPv4-mapped IPv6 address; `undefined` otherwise. */
function parseIpv4(address: string): ipaddr.IPv4 | undefined {
	if (ipaddr.IPv4.isValidFourPartDecimal(address)) {
		return ipaddr.IPv4.parse(address);
	}

	if (ipaddr.IPv6.isValid(address)) {
		const v6 = ipaddr.IPv6.parse(address);
		return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : undefined;
	}

	return undefined;
}

function assertIpv4(address: string, prefixLength: number): void {
	if (!ipaddr.IPv4.isValidFourPartDecimal(address)) {
		throw new NetdashError('BAD_ADDRESS', `Not an IPv4 address: ${JSON.stringify(address).slice(0, 60)}`);
	}

	if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
		throw new NetdashError('BAD_ADDRESS', `An IPv4 prefix length is a whole number from 0 to 32, not ${String(prefixLength)}`);
	}
}
