import net from 'node:net';
import type tls from 'node:tls';
import type {Bus} from '../bus.js';
import {errorCode, explainSocketError, formatAddress, oneLine} from '../errors.js';
import {formatFraming, type FramingSpec} from '../framing/index.js';
import type {Admission} from './admission.js';
import {explainHandshakeError, rawSocketOf, resetSocket, summarizePem, tlsModule, type CertificateSummary, type TlsServerConfig} from './tls.js';

/**
 * How long a client over the connection limit waits for a slot before it is
 * refused. A client that sends and closes at once is released a loop turn or
 * two after its FIN is read; accepts come in batches before those reads, so a
 * fast sequential client would otherwise be refused while every connection
 * it made is already closing.
 */
export const LIMIT_WAIT_MS = 1000;

/** Clients that may wait at once, beyond the limit: a burst of quick clients fits, and held descriptors stay bounded. */
const MAX_WAITING = 1024;

/** A client waiting for a slot under the limit. */
type Waiting = {socket: net.Socket; remote: {address: string; port: number}; timer: NodeJS.Timeout};

/** A waiting client's socket error (its reset): it is reported as the refusal, when its wait ends. */
function ignoreError(): void {
	// Nothing to do until then.
}

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
	/** Whether its connections stay half-open after the peer's FIN; undefined: the core's default at the time of the FIN. */
	isHalfOpen?: boolean;
	/** A forward's target: every accepted client is relayed to a connection dialed there (relay/). */
	target?: {address: string; port: number};
	/**
	 * Serve TLS with this certificate: connections are handed over once their
	 * handshake is done. A promise while netdash's own certificate is being
	 * made: the listener binds once it is, and fails (`socket-failed`) if it cannot be.
	 */
	tls?: TlsServerConfig | Promise<TlsServerConfig>;
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
	/** Half-open choice of its own (see {@link ListenerInit.isHalfOpen}). */
	readonly isHalfOpen: boolean | undefined;
	/** A forward's target, as given (see {@link ListenerInit.target}). */
	readonly target: {address: string; port: number} | undefined;
	#state: ListenerState = 'starting';
	#accepted = 0;
	#refused = 0;
	/** Connections it accepted that are still open (the core calls {@link released} as each closes). */
	#open = 0;
	/** Clients over the limit waiting for a slot, oldest first (at most MAX_WAITING). */
	readonly #waiting: Waiting[] = [];
	#localEnd: {address: string; port: number} | undefined;
	/** Undefined until it starts: a TLS listener waiting for its certificate has no server yet. */
	#server: net.Server | undefined;
	readonly #bus: Bus;
	readonly #init: ListenerInit;
	/** The certificate it serves, when TLS. */
	#certificate: CertificateSummary | undefined;
	/** TCP sockets refused before their TLS handshake: their TLS sockets' errors are not news. */
	readonly #refusedRaw = new WeakSet<net.Socket>();

	constructor(bus: Bus, init: ListenerInit) {
		this.#bus = bus;
		this.#init = init;
		this.id = init.id;
		this.framing = init.framing;
		this.isHalfOpen = init.isHalfOpen;
		this.target = init.target;
		if (init.tls instanceof Promise) {
			init.tls
				.then((config) => {
					// Closed while its certificate was being made: it never starts.
					if (this.#state === 'starting') {
						this.#start(config);
					}
				})
				.catch((error: unknown) => {
					// The certificate could not be made (a NetdashError saying why): reported as a bind failure is.
					if (this.#state === 'starting') {
						this.#fail(errorCode(error), oneLine(error));
					}
				});
		} else {
			this.#start(init.tls);
		}
	}

	/** Make the server and bind it. */
	#start(tlsConfig: TlsServerConfig | undefined): void {
		const init = this.#init;
		// allowHalfOpen: Node must not end our side on the peer's FIN by itself; the connection does,
		// after its queue has drained, unless it is half-open (TcpConnection).
		const server = tlsConfig ? this.#tlsServer(tlsConfig) : net.createServer({allowHalfOpen: true});
		this.#server = server;
		server.on('error', (error) => {
			this.#onError(error);
		});
		// The limit is counted here, not with server.maxConnections: Node drops over its limit before
		// 'connection', so a denied client would be reported as over the limit. Rules come first.
		// With TLS the rules apply again once the handshake is done ('secureConnection'), as they may have
		// changed meanwhile, and before any byte is read.
		server.on(tlsConfig ? 'secureConnection' : 'connection', (socket: net.Socket) => {
			// Read the address once, here: a client that reset before we accepted it has none, and
			// admission refuses it (fails closed) rather than letting it past every rule.
			const rule = init.admission.refusal(socket.remoteAddress);
			if (rule) {
				this.#refuse(socket, 'denied', rule);
				return;
			}

			if (this.#open >= init.admission.rules.maxConnections) {
				this.#wait(socket);
				return;
			}

			this.#admit(socket);
		});
		server.listen({host: init.host, port: init.port, backlog: init.backlog}, () => {
			this.#onListening(server);
		});
	}

	/** A TLS server for `config`, turning away denied clients before their handshake and reporting failed handshakes. */
	#tlsServer(config: TlsServerConfig): tls.Server {
		const init = this.#init;
		const server = tlsModule().createServer({
			allowHalfOpen: true,
			cert: config.cert,
			key: config.key,
			...(config.alpn ? {ALPNProtocols: config.alpn} : {}),
			// A client mid-handshake is not yet counted against the limit: bound how long it may hold a socket.
			...(config.handshakeTimeoutMs ? {handshakeTimeout: config.handshakeTimeoutMs} : {}),
		});
		this.#certificate = summarizePem(config.cert);
		// The rules come before the handshake too: a denied client costs no key operation and never
		// sees our certificate. Node's own 'connection' handler then wraps a socket already reset.
		server.prependListener('connection', (raw: net.Socket) => {
			const rule = init.admission.refusal(raw.remoteAddress);
			if (rule) {
				this.#refusedRaw.add(raw);
				this.#refuse(raw, 'denied', rule);
			}
		});
		// A client that fails its handshake (a plain-text client, or one that rejects our certificate)
		// never becomes a connection: say why, on the listener. Without a handler Node drops it silently.
		server.on('tlsClientError', (error, socket) => {
			const raw = rawSocketOf(socket);
			// A client refused before its handshake was reported as refused already.
			if (raw === undefined || !this.#refusedRaw.has(raw)) {
				this.#onHandshakeFailed(error, socket);
			}
		});
		return server;
	}

	/** True when it serves TLS. */
	get isTls(): boolean {
		return this.#init.tls !== undefined;
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

	/** Connections it accepted that are still open: what counts against the limit. */
	get open(): number {
		return this.#open;
	}

	/** One of its connections closed: it no longer counts against the limit, and a waiting client may take its slot. */
	released(): void {
		this.#open--;
		while (this.#waiting.length > 0 && this.#open < this.#init.admission.rules.maxConnections && this.#state === 'listening') {
			const waiting = this.#waiting.shift()!;
			clearTimeout(waiting.timer);
			waiting.socket.removeListener('error', ignoreError);
			if (waiting.socket.destroyed) {
				this.#refuseWaiting(waiting);
			} else {
				this.#admit(waiting.socket);
			}
		}
	}

	#admit(socket: net.Socket): void {
		this.#accepted++;
		this.#open++;
		this.#init.onConnection(socket, this);
	}

	/**
	 * Over the limit: hold the client (not read, not counted) for up to
	 * {@link LIMIT_WAIT_MS} in case a slot frees, then refuse it. At most
	 * {@link MAX_WAITING} wait; more are refused at once.
	 */
	#wait(socket: net.Socket): void {
		if (this.#waiting.length >= MAX_WAITING) {
			this.#refuse(socket, 'limit', this.#limitRule());
			return;
		}

		socket.on('error', ignoreError);
		const waiting: Waiting = {
			socket,
			remote: {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0},
			timer: setTimeout(() => {
				const index = this.#waiting.indexOf(waiting);
				if (index !== -1) {
					this.#waiting.splice(index, 1);
					this.#refuseWaiting(waiting);
				}
			}, LIMIT_WAIT_MS),
		};
		this.#waiting.push(waiting);
	}

	#refuseWaiting(waiting: Waiting): void {
		this.#refused++;
		resetSocket(waiting.socket);
		this.#bus.emit({type: 'connection-refused', listener: this.id, remote: waiting.remote, reason: 'limit', rule: this.#limitRule()});
	}

	/** Stop accepting. Connections it accepted stay open. `ref` is echoed on `listener-closed`. */
	close(ref?: string): void {
		if (this.#state === 'closed' || this.#state === 'failed') {
			return;
		}

		this.#state = 'closed';
		for (const waiting of this.#waiting.splice(0)) {
			clearTimeout(waiting.timer);
			this.#refuseWaiting(waiting);
		}

		// The server's own 'close' waits for every accepted connection; the listening socket is gone now.
		this.#server?.close();
		this.#bus.emit({type: 'listener-closed', listener: this.id, accepted: this.#accepted, ...(ref ? {ref} : {})});
		this.#init.onClosed(this);
	}

	/** The rule a client over the limit is refused by, as connection-refused names it. */
	#limitRule(): string {
		return `max-conns ${this.#init.admission.rules.maxConnections}`;
	}

	#refuse(socket: net.Socket, reason: 'denied' | 'limit', rule: string): void {
		this.#refused++;
		socket.on('error', () => {
			// The refused client may reset first; nothing to report beyond the refusal.
		});
		const remote = {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0};
		// A RST tells the client at once (ncat closes too); no byte of it is read (on TLS, none after the
		// handshake). A TLS socket is reset through its TCP socket: resetAndDestroy() on it throws.
		resetSocket(socket);
		this.#bus.emit({type: 'connection-refused', listener: this.id, remote, reason, rule});
	}

	#onListening(server: net.Server): void {
		if (this.#state !== 'starting') {
			return;
		}

		this.#state = 'listening';
		const address = server.address() as net.AddressInfo;
		if (address.address !== '0.0.0.0' && address.address !== '::') {
			this.#localEnd = Object.freeze({address: address.address, port: address.port});
		}

		this.#bus.emit({
			type: 'listener-opened',
			listener: this.id,
			address: address.address,
			port: address.port,
			framing: formatFraming(this.framing),
			...(this.#certificate ? {tls: {certificate: this.#certificate}} : {}),
			...(this.isHalfOpen === undefined ? {} : {isHalfOpen: this.isHalfOpen}),
			...(this.target ? {target: this.target} : {}),
			...(this.#init.ref ? {ref: this.#init.ref} : {}),
		});
	}

	#onHandshakeFailed(error: Error, socket: tls.TLSSocket): void {
		const code = errorCode(error);
		const address = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
		this.#bus.emit({
			type: 'tls-handshake-failed',
			listener: this.id,
			remote: {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0},
			code,
			message: `TLS handshake with ${address} failed: ${explainHandshakeError(code, oneLine(error))}`,
		});
		// Node leaves the socket open after some of these (a handshake timeout): it never became a connection, so end it.
		socket.destroy();
	}

	#onError(error: Error): void {
		const code = errorCode(error);
		const address = formatAddress(this.#init.host, this.#init.port);
		this.#fail(code, explainSocketError(code, {operation: 'listen', address}, oneLine(error)));
	}

	/** A failure of the server, or before it (its certificate could not be made): reported, and the end of a listener still starting. */
	#fail(code: string, message: string): void {
		const wasListening = this.#state === 'listening';
		this.#bus.emit({
			type: 'socket-failed',
			target: this.id,
			code,
			message,
			...(this.#init.ref && !wasListening ? {ref: this.#init.ref} : {}),
		});
		if (this.#state === 'starting') {
			this.#state = 'failed';
			this.#init.onClosed(this);
		}
	}
}
