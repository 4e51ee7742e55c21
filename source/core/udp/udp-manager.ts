import type {Bus} from '../bus.js';
import {NetdashError} from '../errors.js';
import {checkHost} from '../ports.js';
import type {Endpoint} from '../events.js';
import {UdpSocket, type RequestOptions, type UdpBindOptions} from './udp-socket.js';

function checkPort(port: number, allowZero: boolean): void {
	if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
		throw new NetdashError('BAD_PORT', `port ${port} is out of range (${allowZero ? 0 : 1}–65535)`);
	}
}

/** `{address, port}` from a host and port given by a user, or undefined when neither is given. */
function destination(host: string | undefined, port: number | undefined): Endpoint | undefined {
	if ((host === undefined || host === '') && port === undefined) {
		return undefined;
	}

	if (!host || port === undefined) {
		throw new NetdashError('BAD_ADDRESS', 'a destination needs both a host and a port');
	}

	checkPort(port, false);
	checkHost(host);
	return {address: host, port};
}

/**
 * Owns every UDP socket of a core (ids `U1`, `U2`, …). Methods throw
 * NetdashError for bad arguments and unknown ids; the core turns that into
 * `command-failed`.
 */
export class UdpManager {
	readonly #sockets = new Map<string, UdpSocket>();
	readonly #bus: Bus;
	readonly #onClosed: (hasFailed: boolean) => void;
	#next = 1;

	/** `onClosed` is called after each socket is gone (the core counts open sockets), true when its bind was refused. */
	constructor(bus: Bus, onClosed: (hasFailed: boolean) => void) {
		this.#bus = bus;
		this.#onClosed = onClosed;
	}

	/** UDP sockets open (binding, bound or connected). */
	get size(): number {
		return this.#sockets.size;
	}

	/** True when `id` is an open UDP socket. */
	has(id: string): boolean {
		return this.#sockets.has(id);
	}

	/** Ids of open UDP sockets, in order of creation. */
	ids(): string[] {
		return [...this.#sockets.keys()];
	}

	/** Bind a new socket; `udp-bound` or `socket-failed` follows. Host `127.0.0.1` by default. */
	bind(host: string | undefined, port: number, options: UdpBindOptions & {ref?: string} = {}): string {
		checkPort(port, true);
		if (host) {
			checkHost(host);
		}

		const id = `U${this.#next++}`;
		const socket = new UdpSocket(this.#bus, {
			...options,
			id,
			host: host === undefined || host === '' ? '127.0.0.1' : host,
			port,
			onClosed: (closed) => {
				this.#sockets.delete(closed.id);
				this.#onClosed(closed.state === 'failed');
			},
		});
		this.#sockets.set(id, socket);
		return id;
	}

	/** Send one datagram; host and port may be left out on a connected socket. */
	send(id: string, host: string | undefined, port: number | undefined, bytes: Buffer, ref?: string): boolean {
		return this.socket(id).send(bytes, destination(host, port), ref);
	}

	/** Connect a socket to one peer. */
	connect(id: string, host: string, port: number, ref?: string): void {
		const to = destination(host, port);
		if (!to) {
			throw new NetdashError('BAD_ADDRESS', 'udp-connect needs a host and a port');
		}

		this.socket(id).connect(to.address, to.port, ref);
	}

	/** Turn SO_BROADCAST on or off. */
	setBroadcast(id: string, isOn: boolean, ref?: string): void {
		this.socket(id).setBroadcast(isOn, ref);
	}

	/** Send a request with retries; returns its id (undefined when refused as too large). */
	request(id: string, host: string | undefined, port: number | undefined, bytes: Buffer, options: RequestOptions = {}, ref?: string): number | undefined {
		return this.socket(id).request(bytes, destination(host, port), options, ref);
	}

	/** Close one socket; `ref` is echoed on `udp-closed`. */
	close(id: string, ref?: string): void {
		this.socket(id).close(ref);
	}

	/** Close every socket. */
	closeAll(): void {
		for (const socket of [...this.#sockets.values()]) {
			if (socket.isOpen) {
				socket.close();
			}
		}
	}

	/** The open socket `id`. */
	socket(id: string): UdpSocket {
		const socket = this.#sockets.get(id);
		if (!socket?.isOpen) {
			const open = [...this.#sockets.keys()];
			throw new NetdashError(
				'UNKNOWN_ID',
				`no open UDP socket ${JSON.stringify(id)}${open.length > 0 ? ` (open: ${open.slice(0, 8).join(', ')}${open.length > 8 ? ', …' : ''})` : ' (none is open)'}`,
			);
		}

		return socket;
	}
}
