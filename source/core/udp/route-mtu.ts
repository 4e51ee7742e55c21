import {readFileSync} from 'node:fs';
import {isIP} from 'node:net';
import {childProcess} from '../builtin.js';

/** The MTU assumed when the route cannot be read: one Ethernet frame. */
export const DEFAULT_MTU = 1500;

/** Destinations whose MTU is remembered: a cache, so `ip` runs once per destination, not per datagram. */
const cacheSize = 256;
const cache = new Map<string, number>();

/** The MTU of an interface from /sys/class/net, or undefined. */
function interfaceMtu(name: string): number | undefined {
	if (!/^[\w.@:-]+$/.test(name)) {
		return undefined;
	}

	try {
		const mtu = Number(readFileSync(`/sys/class/net/${name}/mtu`, 'utf8').trim());
		return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
	} catch {
		return undefined;
	}
}

/**
 * Parses one line of `ip -o route get ADDRESS`: the route's own MTU when it
 * has one (`mtu 1400`, `mtu lock 1400`), else its interface's (`dev lo`:
 * 65,536 on loopback).
 */
export function mtuFromRoute(line: string, readInterfaceMtu: (name: string) => number | undefined = interfaceMtu): number | undefined {
	const own = /\bmtu (?:lock )?(\d+)/.exec(line);
	if (own) {
		return Number(own[1]);
	}

	const dev = /\bdev (\S+)/.exec(line);
	return dev ? readInterfaceMtu(dev[1]!) : undefined;
}

/**
 * The MTU of the route to `address` as the kernel would pick it (local and
 * loopback destinations go through `lo`), read with `ip route get` once per
 * destination and cached. Falls back to the loopback interface for
 * 127.0.0.0/8 and ::1, and to 1,500 when the route cannot be read.
 */
export function routeMtu(address: string): number {
	const known = cache.get(address);
	if (known !== undefined) {
		return known;
	}

	let mtu: number | undefined;
	// Only an IP address goes to `ip` (a name is resolved by dgram itself; nothing starting with '-' gets through).
	if (isIP(address) !== 0) {
		try {
			const line = childProcess().execFileSync('ip', ['-o', 'route', 'get', address], {encoding: 'utf8', timeout: 1000, stdio: ['ignore', 'pipe', 'ignore']});
			mtu = mtuFromRoute(line);
		} catch {
			// No `ip` (iproute2), or no route: below.
		}
	}

	if (mtu === undefined && (address.startsWith('127.') || address === '::1' || address === 'localhost')) {
		mtu = interfaceMtu('lo');
	}

	mtu ??= DEFAULT_MTU;
	if (cache.size >= cacheSize) {
		cache.delete(cache.keys().next().value!);
	}

	cache.set(address, mtu);
	return mtu;
}
