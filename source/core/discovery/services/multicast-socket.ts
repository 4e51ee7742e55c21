/**
 * A UDP socket for a LAN protocol: bound to `0.0.0.0:PORT` (or `[::]:PORT`)
 * with SO_REUSEADDR (so avahi, minidlna or Syncthing on the same host keep
 * their port), joined to a multicast group on every non-loopback interface
 * of its family, sending to the group once per interface. Errors become
 * `socket-failed` events, never throws.
 */
import dgram from 'node:dgram';
import os from 'node:os';
import type {Bus} from '../../bus.js';
import {errorCode, oneLine} from '../../errors.js';
import type {Endpoint} from '../../events.js';
import {listInterfaces} from '../../interfaces.js';
import {askBurstBuffer} from '../../udp/receive-buffer.js';

/** What the socket is for. */
export type MulticastSocketOptions = {
	/** The id `socket-failed` names (`mdns`, `ssdp`, `syncthing`). */
	id: string;
	port: number;
	/** The group to join and send to, if any (Syncthing listens to broadcasts only). */
	group?: string;
	/** False for a socket that only sends to the group (SSDP's search socket, port 0, hears its unicast answers). @default true */
	isMember?: boolean;
	/** The group's port, when it is not the bound one. @default port */
	groupPort?: number;
	/** Multicast TTL. @default 255 (RFC 6762 §11) */
	ttl?: number;
	/** Called for every datagram. */
	onMessage: (data: Buffer, from: Endpoint) => void;
	/** IPv6: bind `[::]` (IPv6 only), join per interface that has a link-local address. @default 4 */
	family?: 4 | 6;
};

/** An interface the group is joined on: what events show, and what the socket calls take. */
type Joined = {label: string; token: string};

/** The non-loopback IPv4 interface addresses, once each. */
export function lanAddresses(): string[] {
	return [...new Set(listInterfaces().filter((info) => !info.isLoopback).map((info) => info.address))];
}

/**
 * The interfaces where IPv6 is up: each non-loopback one with a link-local
 * address (`fe80::…%eth0`), which is what link-local multicast (ff02::) needs.
 */
export function lanLinkLocals(source: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): Array<{name: string; address: string}> {
	const found = new Map<string, string>();
	for (const [name, entries] of Object.entries(source)) {
		const linkLocal = (entries ?? []).find((entry) => entry.family === 'IPv6' && !entry.internal && /^fe[89ab]/i.test(entry.address));
		if (linkLocal) {
			found.set(name, linkLocal.address);
		}
	}

	return [...found].map(([name, address]) => ({name, address}));
}

function joinable(family: 4 | 6): Joined[] {
	// IPv6 names an interface by its scope (`::%eth0`); IPv4 by its address.
	return family === 6 ? lanLinkLocals().map(({name, address}) => ({label: `${address}%${name}`, token: `::%${name}`})) : lanAddresses().map((address) => ({label: address, token: address}));
}

/** One bound socket; `close()` is idempotent. */
export class MulticastSocket {
	readonly #socket: dgram.Socket;
	readonly #options: MulticastSocketOptions;
	readonly #bus: Bus;
	#isOpen = true;
	#isListening = false;
	#interfaces: Joined[] = [];
	/** Sends in order: the outgoing interface is socket state, so one send must leave before the next changes it. */
	#queue: Promise<void> = Promise.resolve();
	readonly #whenListening: Promise<boolean>;

	constructor(bus: Bus, options: MulticastSocketOptions) {
		this.#bus = bus;
		this.#options = options;
		const isIpv6 = options.family === 6;
		this.#socket = dgram.createSocket({...(isIpv6 ? {type: 'udp6', ipv6Only: true} : {type: 'udp4'}), reuseAddr: true});
		this.#whenListening = new Promise((resolve) => {
			this.#socket.on('error', (error) => {
				this.#fail(error);
				resolve(false);
			});
			this.#socket.once('listening', () => {
				askBurstBuffer(this.#socket);
				this.#isListening = true;
				this.#join();
				resolve(true);
			});
		});
		this.#socket.on('message', (data, remote) => {
			options.onMessage(data, {address: remote.address, port: remote.port});
		});
		this.#socket.bind(options.port, isIpv6 ? '::' : '0.0.0.0');
	}

	/** Resolves true once bound (false when binding failed). */
	async listening(): Promise<boolean> {
		return this.#whenListening;
	}

	/** The local port once bound (undefined before, after failing, and once closed). */
	get port(): number | undefined {
		if (!this.#isOpen || !this.#isListening) {
			return undefined;
		}

		try {
			return this.#socket.address().port;
		} catch {
			// Closed by the system meanwhile (ERR_SOCKET_DGRAM_NOT_RUNNING): read from a timer, never to throw there.
			return undefined;
		}
	}

	/** The interface addresses the group was joined on (`fe80::…%eth0` for IPv6). */
	get interfaces(): string[] {
		return this.#interfaces.map((joined) => joined.label);
	}

	/** Send `data` to the group on every joined interface (or to `to`, unicast). */
	send(data: Buffer, to?: Endpoint): void {
		this.#queue = this.#queue.then(async () => {
			if (!this.#isOpen || !this.#isListening) {
				return;
			}

			if (to) {
				await this.#sendOne(data, to);
				return;
			}

			for (const joined of this.#interfaces) {
				if (!this.#isOpen) {
					return;
				}

				try {
					this.#socket.setMulticastInterface(joined.token);
				} catch (error) {
					this.#fail(error);
					continue;
				}

				await this.#sendOne(data, {address: this.#options.group!, port: this.#options.groupPort ?? this.#options.port});
			}
		});
	}

	/** Resolves after every queued send left. */
	async drained(): Promise<void> {
		return this.#queue;
	}

	/** Close the socket. */
	close(): void {
		if (!this.#isOpen) {
			return;
		}

		this.#isOpen = false;
		try {
			this.#socket.close();
		} catch {
			// Never bound, or already closed.
		}
	}

	async #sendOne(data: Buffer, to: Endpoint): Promise<void> {
		await new Promise<void>((resolve) => {
			// A callback, always: without one dgram drops EMSGSIZE / EACCES silently.
			this.#socket.send(data, to.port, to.address, (error) => {
				if (error) {
					this.#fail(error);
				}

				resolve();
			});
		});
	}

	#join(): void {
		const {group} = this.#options;
		if (group === undefined) {
			return;
		}

		try {
			// RFC 6762 §11: 255, so a receiver can tell link-local senders; loopback stays on so a responder on this host hears the queries.
			this.#socket.setMulticastTTL(this.#options.ttl ?? 255);
		} catch (error) {
			this.#fail(error);
		}

		for (const joined of joinable(this.#options.family ?? 4)) {
			if (this.#options.isMember === false) {
				this.#interfaces.push(joined);
				continue;
			}

			try {
				this.#socket.addMembership(group, joined.token);
				this.#interfaces.push(joined);
			} catch (error) {
				this.#fail(error);
			}
		}
	}

	#fail(error: unknown): void {
		this.#bus.emit({type: 'socket-failed', target: this.#options.id, code: errorCode(error), message: oneLine(error)});
	}
}

/** The local ports of those of `sockets` that are bound. */
export function boundPorts(...sockets: Array<MulticastSocket | undefined>): number[] {
	return sockets.map((socket) => socket?.port).filter((port) => port !== undefined);
}
