import net from 'node:net';
import type {Bus} from '../bus.js';
import {errorCode, explainSocketError, formatAddress, oneLine} from '../errors.js';
import {formatFraming, type FramingSpec} from '../framing/index.js';
import type {Admission} from './admission.js';

/** A listener's state: `starting` until the kernel has bound it. */
export type ListenerState = 'starting' | 'listening' | 'closed' | 'failed';

/** How a listener was asked for. */
export type ListenerInit = {
	id: string;
	host: string;
	port: number;
	framing: FramingSpec;
	/** listen(2) backlog: the default 511 breaks bursts of connects (see FACTS.md). */
	backlog: number;
	ref?: string;
	/** Who may connect; shared by every listener and changed while running. */
	admission: Admission;
	/** Called for every accepted socket, synchronously, so its handlers are attached before anything else runs. */
	onConnection: (socket: net.Socket, listener: TcpListener) => void;
	/** Called once when the listener stops (closed or failed to start). */
	onClosed: (listener: TcpListener) => void;
};

/**
 * Glue between one `net.Server` and the bus. Accepted sockets are handed to
 * `onConnection` at once; this class only owns the listening socket.
 */
export class TcpListener {
	readonly id: string;
	readonly framing: FramingSpec;
	#state: ListenerState = 'starting';
	#accepted = 0;
	#refused = 0;
	#localEnd: {address: string; port: number} | undefined;
	readonly #server: net.Server;
	readonly #bus: Bus;
	readonly #init: ListenerInit;

	constructor(bus: Bus, init: ListenerInit) {
		this.#bus = bus;
		this.#init = init;
		this.id = init.id;
		this.framing = init.framing;
		// allowHalfOpen: a peer's FIN must not end our side; shutdown() is the user's choice.
		this.#server = net.createServer({allowHalfOpen: true});
		this.#server.on('error', (error) => {
			this.#onError(error);
		});
		this.#server.on('connection', (socket) => {
			// Read the address once, here: a client that reset before we accepted it has none, and
			// admission refuses it (fails closed) rather than letting it past every rule.
			const rule = init.admission.refusal(socket.remoteAddress);
			if (rule) {
				this.#refuse(socket, rule);
				return;
			}

			this.#accepted++;
			init.onConnection(socket, this);
		});
		// Over maxConnections Node closes the socket itself and tells us only through 'drop'.
		this.#server.on('drop', (data) => {
			this.#refused++;
			this.#bus.emit({
				type: 'connection-refused',
				listener: this.id,
				remote: {address: data?.remoteAddress ?? '', port: data?.remotePort ?? 0},
				reason: 'limit',
				rule: `max-conns ${this.#server.maxConnections}`,
			});
		});
		this.applyAdmission();
		this.#server.listen({host: init.host, port: init.port, backlog: init.backlog}, () => {
			this.#onListening();
		});
	}

	/** Current state. */
	get state(): ListenerState {
		return this.#state;
	}

	/**
	 * Our end of every accepted connection when the listener is bound to one
	 * address (not 0.0.0.0 or ::): its own address and port. Undefined before
	 * it listens and for wildcard binds, where each connection has its own.
	 */
	get localEnd(): {address: string; port: number} | undefined {
		return this.#localEnd;
	}

	/** Connections accepted so far. */
	get accepted(): number {
		return this.#accepted;
	}

	/** Clients refused so far (denied or over the limit). */
	get refused(): number {
		return this.#refused;
	}

	/** Take the current connection limit from the admission rules. */
	applyAdmission(): void {
		this.#server.maxConnections = this.#init.admission.rules.maxConnections;
	}

	/** Stop accepting. Connections it accepted stay open. */
	close(): void {
		if (this.#state === 'closed' || this.#state === 'failed') {
			return;
		}

		this.#state = 'closed';
		// The server's own 'close' waits for every accepted connection; the listening socket is gone now.
		this.#server.close();
		this.#bus.emit({type: 'listener-closed', listener: this.id, accepted: this.#accepted});
		this.#init.onClosed(this);
	}

	#refuse(socket: net.Socket, rule: string): void {
		this.#refused++;
		socket.on('error', () => {
			// The refused client may reset first; nothing to report beyond the refusal.
		});
		const remote = {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0};
		// A RST tells the client at once (ncat closes too); no byte of it is read.
		socket.resetAndDestroy();
		this.#bus.emit({type: 'connection-refused', listener: this.id, remote, reason: 'denied', rule});
	}

	#onListening(): void {
		if (this.#state !== 'starting') {
			return;
		}

		this.#state = 'listening';
		const address = this.#server.address() as net.AddressInfo;
		if (address.address !== '0.0.0.0' && address.address !== '::') {
			this.#localEnd = Object.freeze({address: address.address, port: address.port});
		}

		this.#bus.emit({
			type: 'listener-opened',
			listener: this.id,
			address: address.address,
			port: address.port,
			framing: formatFraming(this.framing),
			...(this.#init.ref ? {ref: this.#init.ref} : {}),
		});
	}

	#onError(error: Error): void {
		const code = errorCode(error);
		const address = formatAddress(this.#init.host, this.#init.port);
		const wasListening = this.#state === 'listening';
		this.#bus.emit({
			type: 'socket-failed',
			target: this.id,
			code,
			message: explainSocketError(code, {operation: 'listen', address}, oneLine(error)),
			...(this.#init.ref && !wasListening ? {ref: this.#init.ref} : {}),
		});
		if (this.#state === 'starting') {
			this.#state = 'failed';
			this.#init.onClosed(this);
		}
	}
}
