import type net from 'node:net';
import type tls from 'node:tls';
import type {Bus} from '../bus.js';
import type {CloseReason, Endpoint, Origin} from '../events.js';
import {
	CONNECTION_LOST_CODES,
	NetdashError,
	errorCode,
	explainSocketError,
	formatAddress,
	oneLine,
	type SocketContext,
} from '../errors.js';
import {formatFraming, type Framer, type FramingSpec} from '../framing/index.js';
import type {Reclaimer} from '../reclaim.js';
import {describeTls, resetSocket} from './tls.js';
import type {ConnectionInit, ConnectionTap, ConnectionTls} from './connection-init.js';
import {messageFramer} from './message-framer.js';
import {ConnectionSender} from './connection-sender.js';
import {readShared} from './shared-reads.js';

/**
 * A connection's state, changed only in the named transitions below:
 * connecting → open → half-closed-local | half-closed-remote → closed,
 * and from anywhere to reset or failed.
 */
export type ConnectionState =
	| 'connecting'
	| 'open'
	| 'half-closed-local'
	| 'half-closed-remote'
	| 'closed'
	| 'reset'
	| 'failed';

// How a connection is made lives in connection-init.ts; exported from here too, as before.
export type {ConnectionInit, ConnectionLimits, ConnectionTap, ConnectionTls} from './connection-init.js';

/** Where a socket keeps the connection that owns it, for the shared event handlers. */
const owner = Symbol('netdash.connection');
type OwnedSocket = net.Socket & {[owner]?: TcpConnection};

/** Normalises a `data` chunk: we never set an encoding, but @types/node allows strings. */
function asBuffer(chunk: Buffer | string): Buffer {
	return typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
}

/**
 * Glue between one `net.Socket` and the bus. Every handler is attached in
 * the constructor, before anything can await, because an `error` with no
 * listener kills the process (accepted sockets are not covered by the
 * server's handler). The sending side (queue, pump, pacing, stall
 * watchdog) is its base class, in connection-sender.ts; here are the
 * states, the reading side, and how a connection opens and ends.
 */
export class TcpConnection extends ConnectionSender {
	readonly origin: Origin;
	readonly listener: string | null;
	readonly framing: FramingSpec;
	#state: ConnectionState;
	#bytesIn = 0;
	#isResetByUs = false;
	readonly #isHalfOpen: boolean;
	/** `ref` of the shutdown or close that sent our FIN, echoed on `connection-half-closed`. */
	#shutdownRef: string | undefined;
	/** `ref` of the reset or close that ends the connection, echoed on `connection-closed`. */
	#closeRef: string | undefined;
	/** A code for a close we decided on (IDLE_TIMEOUT), reported with reason `closed`. */
	#closeCode: string | undefined;
	/** True while a relay holds reading (its partner's queue is full): apart from the output hold, so releasing one keeps the other. */
	#isReadingHeldByRelay = false;
	#isReadEnded = false;
	readonly #relay: {id: string; partner: string} | undefined;
	#error: {code: string; message: string} | undefined;
	#connectTimer: NodeJS.Timeout | undefined;
	#closeTimer: NodeJS.Timeout | undefined;
	readonly #framer: Framer | undefined;
	readonly #onClosed: (connection: TcpConnection) => void;
	readonly #reclaimer: Reclaimer;
	/** The dial's target until connected; afterwards the label comes from the socket. */
	#dial: {host: string; port: number} | undefined;
	/** Our end when the listener already knows it (bound to one address): spares a getsockname per accept. */
	readonly #local: Endpoint | undefined;
	/** The dial command's ref, echoed on events until the connection opens (or fails to). */
	#dialRef: string | undefined;
	readonly #tls: ConnectionTls | undefined;

	constructor(bus: Bus, socket: net.Socket, init: ConnectionInit) {
		super(bus, socket, init.id, init.limits, init.tap);
		this.#onClosed = init.onClosed;
		this.#reclaimer = init.reclaimer;
		this.origin = init.origin;
		this.listener = init.listener;
		this.framing = init.framing;
		this.#state = init.origin === 'dialed' ? 'connecting' : 'open';
		this.#dial = init.dial;
		this.#local = init.local;
		this.#isHalfOpen = init.isHalfOpen;
		this.#relay = init.relay;
		this.#tls = init.tls;

		this.#framer = messageFramer(bus, this.id, init.framing);

		// Shared handlers that find their connection on the socket: no closures per connection
		// (10,000 connections would hold 50,000 of them).
		(socket as OwnedSocket)[owner] = this;
		socket.on('error', TcpConnection.#handleError);
		// A plain connection reads into the buffer every connection shares (shared-reads.ts); TLS,
		// and a relay's halves (which pass the very chunk on to the other side), keep a buffer per read.
		if (init.tls === undefined && init.tap === undefined && readShared(socket, TcpConnection.#handleRead)) {
			socket.resume();
		} else {
			socket.on('data', TcpConnection.#handleData);
		}

		socket.on('end', TcpConnection.#handleEnd);
		socket.on('finish', TcpConnection.#handleFinish);
		socket.on('close', TcpConnection.#handleClose);
		if (init.tls?.raw) {
			// The TCP socket under TLS may see the error (a peer's RST) while the TLS socket only closes.
			(init.tls.raw as OwnedSocket)[owner] = this;
			init.tls.raw.on('error', TcpConnection.#handleError);
		}

		if (init.limits.idleTimeoutMs > 0) {
			// setTimeout on a socket only emits 'timeout'; closing is ours to do.
			socket.setTimeout(init.limits.idleTimeoutMs);
			socket.on('timeout', () => {
				this.#onIdle();
			});
		}

		if (init.dial) {
			this.#dialRef = init.ref;
			this.#emitDialing(init.dial, init.ref);
			// A TLS dial is open once its handshake is done (and, unless insecure, the peer verified).
			socket.on(init.tls ? 'secureConnect' : 'connect', () => {
				this.#onConnect(init.ref);
			});
			if (init.limits.connectTimeoutMs > 0) {
				this.#connectTimer = setTimeout(() => {
					this.#onConnectTimeout();
				}, init.limits.connectTimeoutMs);
			}
		} else {
			this.#emitOpened(init.ref);
		}
	}

	static #handleError(this: net.Socket, error: Error): void {
		(this as OwnedSocket)[owner]!.#onError(error);
	}

	static #handleData(this: net.Socket, chunk: Buffer | string): void {
		(this as OwnedSocket)[owner]!.#onData(asBuffer(chunk), false);
	}

	static #handleRead(this: net.Socket, length: number, buffer: Buffer): void {
		(this as OwnedSocket)[owner]!.#onSharedRead(buffer.subarray(0, length));
	}

	static #handleEnd(this: net.Socket): void {
		(this as OwnedSocket)[owner]!.#onPeerEnd();
	}

	static #handleFinish(this: net.Socket): void {
		(this as OwnedSocket)[owner]!.#onLocalEnd();
	}

	static #handleClose(this: net.Socket): void {
		(this as OwnedSocket)[owner]!.#onClose();
	}

	/** Current state. */
	override get state(): ConnectionState {
		return this.#state;
	}

	/** True until the connection has ended (closed, reset or failed). */
	override get isOpen(): boolean {
		return this.#state !== 'closed' && this.#state !== 'reset' && this.#state !== 'failed';
	}

	/** Bytes received, exact. */
	get bytesIn(): number {
		return this.#bytesIn;
	}

	/** True once the peer's FIN arrived. */
	get isReadEnded(): boolean {
		return this.#isReadEnded;
	}

	/** Its relay and the other half, when it is one half of a relay. */
	get relay(): {id: string; partner: string} | undefined {
		return this.#relay;
	}

	/** Hold or release reading for a relay (see {@link ConnectionTap}); apart from {@link setReadingPaused}. */
	setRelayReadingHeld(isHeld: boolean): void {
		this.#isReadingHeldByRelay = isHeld;
		this.#applyReading();
	}

	#applyReading(): void {
		if (this.isSendingHeld || this.#isReadingHeldByRelay) {
			this.socket.pause();
		} else {
			this.socket.resume();
		}
	}

	/**
	 * Stop or restart reading (the kernel's buffer then fills and TCP flow
	 * control slows the peer) and handing queued bytes to the kernel (each
	 * piece sent is a `data-sent` event for the output that is behind).
	 */
	setReadingPaused(isPaused: boolean): void {
		this.isSendingHeld = isPaused;
		this.#applyReading();
		if (!isPaused) {
			this.pump();
		}
	}

	/** True when a peer's FIN leaves our side open (see {@link ConnectionInit.isHalfOpen}). */
	get isHalfOpen(): boolean {
		return this.#isHalfOpen;
	}

	/** Half-close: send our FIN after what is queued, and keep reading. */
	shutdown(ref?: string): void {
		if (!this.isOpen || this.isWriteEnded) {
			throw new NetdashError('NOT_WRITABLE', `${this.id} cannot shut down: ${this.whyNotWritable()}`);
		}

		this.#shutdownRef = ref;
		this.endAfterQueue(() => {
			this.socket.end();
		});
	}

	/**
	 * Abort with a RST: the peer sees ECONNRESET; queued bytes are dropped (and counted as unsent).
	 * `code` is reported on `connection-closed` (a relay names why it reset, e.g. RELAYED_RESET).
	 */
	reset(ref?: string, code?: string): void {
		if (!this.isOpen) {
			throw new NetdashError('NOT_OPEN', `${this.id} is already ${this.#state}`);
		}

		this.#closeRef ??= ref;
		this.#closeCode ??= code;
		this.#isResetByUs = true;
		if (this.#state === 'connecting' && !this.#tls) {
			this.socket.destroy();
		} else {
			// A TLS socket cannot send a RST (its handle is the TLS wrap): its TCP socket does, even
			// mid-handshake, once the TCP connect is done.
			resetSocket(this.socket, this.#tls?.raw);
		}
	}

	/**
	 * Close like close(2): send FIN after what is queued, stop reading, and
	 * release the socket. If the queue has not drained within `graceMs`,
	 * the socket is destroyed and what is left is counted as unsent.
	 */
	close(graceMs = 2000, ref?: string): void {
		if (!this.isOpen) {
			throw new NetdashError('NOT_OPEN', `${this.id} is already ${this.#state}`);
		}

		this.#closeRef ??= ref;
		if (!this.isWriteEnded) {
			this.#shutdownRef = ref;
		}

		if (this.#state === 'connecting') {
			this.socket.destroy();
			return;
		}

		this.endAfterQueue(() => {
			this.socket.end(() => {
				this.socket.destroy();
			});
		});
		this.#closeTimer ??= setTimeout(() => {
			this.socket.destroy();
		}, graceMs);
		this.#closeTimer.unref();
	}

	#onIdle(): void {
		if (!this.isOpen || this.#closeCode) {
			return;
		}

		this.#closeCode = 'IDLE_TIMEOUT';
		this.socket.destroy();
	}

	#emitDialing(dial: {host: string; port: number}, ref: string | undefined): void {
		this.bus.emit({
			type: 'connection-dialing',
			connection: this.id,
			remote: {address: dial.host, port: dial.port},
			framing: formatFraming(this.framing),
			isHalfOpen: this.#isHalfOpen,
			...this.#relayFields(),
			...(ref ? {ref} : {}),
		});
	}

	#relayFields(): {relay?: string; partner?: string} {
		return this.#relay ? {relay: this.#relay.id, partner: this.#relay.partner} : {};
	}

	/** `host:port` of the peer for messages; built only when a message needs it. */
	#label(): string {
		return this.#dial
			? formatAddress(this.#dial.host, this.#dial.port)
			: formatAddress(this.socket.remoteAddress ?? '?', this.socket.remotePort ?? 0);
	}

	#emitOpened(ref: string | undefined): void {
		const socket = this.socket;
		this.bus.emit({
			type: 'connection-opened',
			connection: this.id,
			listener: this.listener,
			origin: this.origin,
			local: this.#local ?? {address: socket.localAddress ?? '', port: socket.localPort ?? 0},
			remote: {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0},
			framing: formatFraming(this.framing),
			isHalfOpen: this.#isHalfOpen,
			...this.#relayFields(),
			...(this.#tls ? {tls: describeTls(socket as tls.TLSSocket, this.origin === 'accepted', this.#tls.isInsecure, this.#label())} : {}),
			...(ref ? {ref} : {}),
		});
	}

	#onConnect(ref: string | undefined): void {
		clearTimeout(this.#connectTimer);
		this.#state = 'open';
		queueMicrotask(() => {
			this.pump();
		});
		this.#dial = undefined;
		this.#emitOpened(ref);
		this.#dialRef = undefined;
		this.tap?.connected(this);
	}

	#onConnectTimeout(): void {
		// The connect timeout covers a TLS handshake too: once TCP is up, it is the handshake that hangs.
		const code = this.#tls?.raw && !this.#tls.raw.connecting ? 'ERR_TLS_HANDSHAKE_TIMEOUT' : 'ETIMEDOUT';
		this.#error = {
			code,
			message: explainSocketError(code, {operation: 'connect', address: this.#label(), timeoutMs: this.limits.connectTimeoutMs}),
		};
		this.#emitFailed();
		this.socket.destroy();
	}

	/**
	 * A read into the shared buffer: handed out as it is while every bus subscriber only borrows
	 * received bytes (Bus.lendsReceivedBytes), else copied first, as a `data` event's own buffer.
	 */
	#onSharedRead(bytes: Buffer): void {
		if (this.bus.lendsReceivedBytes) {
			this.#onData(bytes, true);
		} else {
			this.#onData(Buffer.from(bytes), false);
		}
	}

	/** `isBorrowed`: the chunk's memory is the shared read buffer, reused once this returns. */
	#onData(chunk: Buffer, isBorrowed: boolean): void {
		this.#bytesIn += chunk.length;
		this.bus.emit({type: 'data-received', connection: this.id, bytes: chunk.length, data: chunk});
		this.#framer?.push(chunk, isBorrowed);
		if (!isBorrowed) {
			// Only a buffer of its own is left for the collector (reclaim.ts).
			this.#reclaimer.received(chunk.length);
		}

		this.tap?.received(this, chunk);
	}

	#onPeerEnd(): void {
		if (this.#state === 'open') {
			this.#state = 'half-closed-remote';
		}

		this.#isReadEnded = true;
		// No more bytes will come to finish the message the framer holds: say so, or they vanish unseen.
		const partial = this.#framer?.buffered ?? 0;
		if (partial > 0) {
			this.bus.emit({type: 'message-partial', connection: this.id, bytes: partial});
		}

		this.bus.emit({type: 'connection-half-closed', connection: this.id, by: 'remote'});
		if (!this.#isHalfOpen) {
			this.#closeAfterPeer();
		}

		this.tap?.peerEnded(this);
	}

	/**
	 * The peer sent its FIN and we do not stay half-open: send what is
	 * queued, then our FIN. With both directions ended the socket closes
	 * itself. Without this, a client that connects, sends and closes leaves
	 * a CLOSE-WAIT socket counted against --max-conns forever.
	 */
	#closeAfterPeer(): void {
		if (!this.isOpen || this.isWriteEnded) {
			return; // Our FIN is already on its way (shutdown or close): the socket closes when it is out.
		}

		this.endAfterQueue(() => {
			this.socket.end();
		});
	}

	#onLocalEnd(): void {
		if (this.#state === 'open') {
			this.#state = 'half-closed-local';
		}

		const ref = this.#shutdownRef;
		this.bus.emit({type: 'connection-half-closed', connection: this.id, by: 'local', ...(ref ? {ref} : {})});
	}

	#onError(error: Error): void {
		if (this.#error) {
			return; // The first error is the cause; later ones are echoes of it.
		}

		const code = errorCode(error);
		const operation: SocketContext['operation'] = this.#state === 'connecting' ? 'connect' : 'receive';
		// Node hangs the peer's certificate on a wrong-host error: its names say which host it is for.
		const names = (error as Error & {cert?: {subjectaltname?: string}}).cert?.subjectaltname;
		this.#error = {code, message: explainSocketError(code, {operation, address: this.#label(), ...(names ? {certificateNames: names} : {})}, oneLine(error))};
		this.#emitFailed();
	}

	protected override fail(error: unknown, operation: SocketContext['operation']): void {
		if (!this.#error) {
			const code = errorCode(error);
			this.#error = {code, message: explainSocketError(code, {operation, address: this.#label()}, oneLine(error))};
			this.#emitFailed();
		}

		this.socket.destroy();
	}

	#emitFailed(): void {
		const ref = this.#dialRef;
		this.bus.emit({type: 'socket-failed', target: this.id, code: this.#error?.code ?? 'UNKNOWN', message: this.#error?.message ?? '', ...(ref ? {ref} : {})});
	}

	#onClose(): void {
		clearTimeout(this.#connectTimer);
		clearTimeout(this.#closeTimer);
		let reason: CloseReason = 'closed';
		if (this.#isResetByUs || (this.#error && CONNECTION_LOST_CODES.has(this.#error.code))) {
			reason = 'reset';
		} else if (this.#error) {
			reason = 'failed';
		}

		this.#state = reason;
		this.wakeRoomWaiters();
		this.bus.emit({
			type: 'connection-closed',
			connection: this.id,
			reason,
			bytesIn: this.#bytesIn,
			bytesOut: this.bytesOut,
			unsent: this.unsent,
			...(this.#error ? {code: this.#error.code} : this.#closeCode ? {code: this.#closeCode} : {}),
			...(this.#closeRef ? {ref: this.#closeRef} : this.#dialRef ? {ref: this.#dialRef} : {}),
		});
		this.tap?.closed(this, reason, this.#error);
		this.#onClosed(this);
	}
}
