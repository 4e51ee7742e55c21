/**
 * A UDP socket for a LAN protocol: bound to `0.0.0.0:PORT` with
 * SO_REUSEADDR (so avahi, minidlna or Syncthing on the same host keep their
 * port), joined to a multicast group on every non-loopback IPv4 interface,
 * sending to the group once per interface. Errors become `socket-failed`
 * events, never throws.
 */
import dgram from 'node:dgram';
import type {Bus} from '../../bus.js';
import {errorCode, oneLine} from '../../errors.js';
import type {Endpoint} from '../../events.js';
import {listInterfaces} from '../../interfaces.js';

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
};

/** The non-loopback IPv4 interface addresses, once each. */
export function lanAddresses(): string[] {
	return [...new Set(listInterfaces().filter((info) => !info.isLoopback).map((info) => info.address))];
}

/** One bound socket; `close()` is idempotent. */
export class MulticastSocket {
	readonly #socket: dgram.Socket;
	readonly #options: MulticastSocketOptions;
	readonly #bus: Bus;
	#isOpen = true;
	#isListening = false;
	#interfaces: string[] = [];
	/** Sends in order: the outgoing interface is socket state, so one send must leave before the next changes it. */
	#queue: Promise<void> = Promise.resolve();
	readonly #whenListening: Promise<boolean>;

	constructor(bus: Bus, options: MulticastSocketOptions) {
		this.#bus = bus;
		this.#options = options;
		this.#socket = dgram.createSocket({type: 'udp4', reuseAddr: true});
		this.#whenListening = new Promise((resolve) => {
			this.#socket.on('error', (error) => {
				this.#fail(error);
				resolve(false);
			});
			this.#socket.once('listening', () => {
				this.#isListening = true;
				this.#join();
				resolve(true);
			});
		});
		this.#socket.on('message', (data, remote) => {
			options.onMessage(data, {address: remote.address, port: remote.port});
		});
		this.#socket.bind(options.port, '0.0.0.0');
	}

	/** Resolves true once bound (false when binding failed). */
	async listening(): Promise<boolean> {
		return this.#whenListening;
	}

	/** The interface addresses the group was joined on. */
	get interfaces(): string[] {
		return [...this.#interfaces];
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

			for (const address of this.#interfaces) {
				if (!this.#isOpen) {
					return;
				}

				try {
					this.#socket.setMulticastInterface(address);
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

		for (const address of lanAddresses()) {
			if (this.#options.isMember === false) {
				this.#interfaces.push(address);
				continue;
			}

			try {
				this.#socket.addMembership(group, address);
				this.#interfaces.push(address);
			} catch (error) {
				this.#fail(error);
			}
		}
	}

	#fail(error: unknown): void {
		this.#bus.emit({type: 'socket-failed', target: this.#options.id, code: errorCode(error), message: oneLine(error)});
	}
}
