import dns from 'node:dns';
import {isIP} from 'node:net';
import type {Endpoint} from '../events.js';

/**
 * Name lookups for UDP sockets, done so that commands keep their order: an
 * address is used at once, and only a name waits for the resolver.
 */

/**
 * A `lookup` for `dgram.createSocket` that answers IP literals at once:
 * node:dgram's default answers even those on a later tick, which would let
 * a later command (`broadcast on`, `close`) overtake a send.
 */
export function lookupLiteralsAtOnce(hostname: string, family: number, callback: (error: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
	const literal = isIP(hostname);
	if (literal === 0) {
		dns.lookup(hostname, family, callback);
	} else {
		callback(null, hostname, literal);
	}
}

/**
 * `to` with its host as an address: `to` itself when it is one already (or
 * undefined: a connected socket's peer), else a Promise of the looked-up
 * address, which rejects as the resolver does (ENOTFOUND …).
 */
export function resolveEndpoint(to: Endpoint | undefined, family: 'udp4' | 'udp6'): Endpoint | undefined | Promise<Endpoint> {
	if (to === undefined || isIP(to.address) !== 0) {
		return to;
	}

	return dns.promises.lookup(to.address, {family: family === 'udp6' ? 6 : 4}).then((found) => ({address: found.address, port: to.port}));
}
