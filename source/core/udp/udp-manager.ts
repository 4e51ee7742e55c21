import type {Bus} from '../bus.js';
import {NetdashError} from '../errors.js';
import {checkHost} from '../ports.js';
import type {Endpoint} from '../events.js';
import {isIPv6} from 'node:net';
import {admitEveryone, type Refusal} from './admission.js';
import {UdpSocket, type RequestOptions, type UdpBindOptions, type UdpInit} from './udp-socket.js';

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
	readonly #refusal: Refusal;
	#next = 1;
	#isHeld = false;

	/**
	 * `onClosed` is called after each socket is gone (the core counts open
	 * sockets), true when its bind was refused; `refusal` is the allow/deny
	 * check every socket applies to each datagram (read at that moment, so
	 * rule changes apply at once).
	 */
	constructor(bus: Bus, onClosed: (hasFailed: boolean) => void, refusal: Refusal = admitEveryone) {
		this.#bus = bus;
		this.#onClosed = onClosed;
		this.#refusal = refusal;
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
	bind(host: string | undefined, port: number, options: UdpBindOptions & Pick<UdpInit, 'onDatagram'> & {ref?: string; onClosed?: (socket: UdpSocket) => void} = {}): string {
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
			refusal: this.#refusal,
			onClosed: (closed) => {
				this.#sockets.delete(closed.id);
				options.onClosed?.(closed);
				this.#onClosed(closed.state === 'failed');
			},
		});
		this.#sockets.set(id, socket);
		socket.setHeld(this.#isHeld);
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

	/**
	 * Send a request with retries; returns its id (undefined when refused as
	 * too large). A plain request without a socket gets one of its own:
	 * bound to any address, connected to the target (so the kernel drops
	 * datagrams from anyone else), and closed once the request is answered or
	 * fails.
	 */
	request(id: string | undefined, host: string | undefined, port: number | undefined, bytes: Buffer, options: RequestOptions = {}, ref?: string): number | undefined {
		if (id !== undefined) {
			return this.socket(id).request(bytes, destination(host, port), options, ref);
		}

		const to = destination(host, port);
		if (!to || !options.isPlain) {
			throw new NetdashError('BAD_COMMAND', 'a request needs a socket, unless it is plain and names a host and port');
		}

		const own = this.socket(this.bind(isIPv6(to.address) ? '::' : '0.0.0.0', 0, ref === undefined ? {} : {ref}));
		own.connect(to.address, to.port, ref);
		// Holding the socket's queue until the request settles makes the close below wait for it.
		const requestId = own.request(bytes, undefined, {...options, isPlain: true, isHolding: true}, ref);
		own.close(ref);
		return requestId;
	}

	/** Close one socket (after the commands given to it before); `ref` is echoed on `udp-closed`. */
	close(id: string, ref?: string): void {
		this.socket(id).close(ref);
	}

	/** Hold or release receiving on every socket, present and future (see UdpSocket.setHeld). */
	setHeld(isHeld: boolean): void {
		this.#isHeld = isHeld;
		for (const socket of this.#sockets.values()) {
			socket.setHeld(isHeld);
		}
	}

	/** Report datagrams dropped while held, per socket, since the last report. */
	reportDrops(): void {
		for (const socket of this.#sockets.values()) {
			socket.reportDrops();
		}
	}

	/** Close every socket, without waiting for requests in flight: they fail first (a request may hold its socket's queue for seconds). */
	closeAll(): void {
		for (const socket of [...this.#sockets.values()]) {
			socket.failRequests(`${socket.id} was closed`);
			if (!socket.isClosing) {
				socket.close();
			}
		}
	}

	/**
	 * The socket `id`, open or with its close under way: a command given
	 * after a close still waits its turn, and fails then (NOT_OPEN), after
	 * `udp-closed`.
	 */
	socket(id: string): UdpSocket {
		const socket = this.#sockets.get(id);
		if (!socket) {
			const open = [...this.#sockets.keys()];
			throw new NetdashError(
				'UNKNOWN_ID',
				`no open UDP socket ${JSON.stringify(id)}${open.length > 0 ? ` (open: ${open.slice(0, 8).join(', ')}${open.length > 8 ? ', …' : ''})` : ' (none is open)'}`,
			);
		}

		return socket;
	}
}
