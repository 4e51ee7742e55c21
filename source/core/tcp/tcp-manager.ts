import net from 'node:net';
import type {Bus} from '../bus.js';
import {defaults, type ConnectOptions, type CoreOptions, type ListenOptions} from '../core-options.js';
import {NetdashError} from '../errors.js';
import type {FramingSpec} from '../framing/index.js';
import {checkHost} from '../ports.js';
import {Reclaimer} from '../reclaim.js';
import {checkTimeout} from '../timeout.js';
import type {Admission} from './admission.js';
import {TcpConnection, type ConnectionInit, type ConnectionLimits} from './connection.js';
import {TcpListener} from './listener.js';
import {configDirectory} from './self-signed.js';
import {FileSends} from './send-file.js';
import {acceptedTls, dialTls, listenTls} from './tls-open.js';

function checkPort(port: number, allowZero: boolean): void {
	if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
		throw new NetdashError('BAD_PORT', `port ${port} is out of range (${allowZero ? 0 : 1}–65535)`);
	}
}

/** What a TcpManager is given besides the core's options. */
export type TcpManagerInit = {
	/** The allow/deny rules and connection limit, read by listeners at each accept. */
	admission: Admission;
	/** A client of a forwarding listener (one with a target): the relay takes its socket (relay/). */
	onRelayClient: (socket: net.Socket, listener: TcpListener) => void;
	/** Called after each listener or connection is gone (the core counts open sockets), true when it ended in a failure. */
	onClosed: (hasFailed: boolean) => void;
};

/**
 * Owns every TCP listener (`L1`, `L2`, …) and connection (`C1`, `C2`, …) of
 * a core, and the files streaming to them. Methods throw NetdashError for
 * bad arguments and unknown ids; the core turns that into `command-failed`.
 */
export class TcpManager {
	readonly #bus: Bus;
	readonly #listeners = new Map<string, TcpListener>();
	readonly #connections = new Map<string, TcpConnection>();
	readonly #limits: ConnectionLimits;
	readonly #reclaimer: Reclaimer;
	readonly #backlog: number;
	readonly #framing: FramingSpec;
	readonly #admission: Admission;
	readonly #files: FileSends;
	readonly #configDirectory: string | undefined;
	readonly #onRelayClient: TcpManagerInit['onRelayClient'];
	readonly #onClosed: TcpManagerInit['onClosed'];
	#nextListener = 1;
	#nextConnection = 1;
	#isReadingPaused = false;

	/** The default of `halfOpen` for listeners and dials that do not choose; changing it leaves open connections theirs. */
	halfOpen: boolean;

	/** `options`: the core's, each missing one at its default (see CoreOptions); bad timeouts throw. */
	constructor(bus: Bus, options: CoreOptions, init: TcpManagerInit) {
		this.#bus = bus;
		this.#limits = {
			connectTimeoutMs: checkTimeout(options.connectTimeoutMs ?? defaults.connectTimeoutMs, 'the connect timeout'),
			maxQueuedBytes: options.maxQueuedBytes ?? defaults.maxQueuedBytes,
			writeChunkBytes: options.writeChunkBytes ?? defaults.writeChunkBytes,
			idleTimeoutMs: checkTimeout(options.idleTimeoutMs ?? defaults.idleTimeoutMs, 'the idle timeout'),
		};
		this.#backlog = options.backlog ?? defaults.backlog;
		this.#reclaimer = new Reclaimer(options.reclaimEveryBytes ?? defaults.reclaimEveryBytes);
		this.#framing = options.framing ?? {kind: 'raw'};
		this.halfOpen = options.halfOpen ?? false;
		this.#configDirectory = options.configDirectory ?? configDirectory();
		this.#admission = init.admission;
		this.#files = new FileSends(bus);
		this.#onRelayClient = init.onRelayClient;
		this.#onClosed = init.onClosed;
	}

	/** The limits every connection is made with (a dial may shorten its connect timeout). */
	get limits(): ConnectionLimits {
		return this.#limits;
	}

	/** Listeners plus connections open. */
	get size(): number {
		return this.#listeners.size + this.#connections.size;
	}

	/** True while any listener is open. */
	get hasListeners(): boolean {
		return this.#listeners.size > 0;
	}

	/** Ids of open connections, in order of creation. */
	connectionIds(): string[] {
		return [...this.#connections.keys()];
	}

	/** Ids of open listeners, in order of creation. */
	listenerIds(): string[] {
		return [...this.#listeners.keys()];
	}

	/** The id the next connection gets (relays dial theirs too). */
	nextConnectionId(): string {
		return `C${this.#nextConnection++}`;
	}

	/** Start a listener; `target` makes it forward each client (relay/). Returns its id. */
	listen(host: string | undefined, port: number, options: ListenOptions, target?: {address: string; port: number}): string {
		checkPort(port, true);
		if (host) {
			checkHost(host);
		}

		const tlsConfig = listenTls(options, this.#configDirectory, this.#limits.connectTimeoutMs);
		const id = `L${this.#nextListener++}`;
		const listener = new TcpListener(this.#bus, {
			...(tlsConfig ? {tls: tlsConfig} : {}),
			id,
			host: host === undefined || host === '' ? '127.0.0.1' : host,
			port,
			framing: options.framing ?? this.#framing,
			backlog: this.#backlog,
			admission: this.#admission,
			...(options.ref ? {ref: options.ref} : {}),
			...(options.halfOpen === undefined ? {} : {isHalfOpen: options.halfOpen}),
			...(target ? {target} : {}),
			onConnection: (socket, from) => {
				if (from.target) {
					this.#onRelayClient(socket, from);
				} else {
					this.#adopt(socket, from);
				}
			},
			onClosed: (closed) => {
				this.#listeners.delete(closed.id);
				this.#onClosed(closed.state === 'failed');
			},
		});
		this.#listeners.set(id, listener);
		return id;
	}

	/** Dial a connection; returns its id. */
	connect(host: string, port: number, options: ConnectOptions): string {
		if (!host) {
			throw new NetdashError('BAD_ADDRESS', 'connect needs a host');
		}

		checkHost(host);
		checkPort(port, false);
		const connectTimeoutMs = checkTimeout(options.connectTimeoutMs ?? this.#limits.connectTimeoutMs, 'a connect timeout');
		const dialed = dialTls(host, port, options);
		const id = `C${this.#nextConnection++}`;
		const socket = dialed?.socket ?? new net.Socket({allowHalfOpen: true});
		this.register(socket, {
			...(dialed ? {tls: dialed.tls} : {}),
			id,
			origin: 'dialed',
			listener: null,
			framing: options.framing ?? this.#framing,
			limits: {...this.#limits, connectTimeoutMs},
			dial: {host, port},
			isHalfOpen: options.halfOpen ?? this.halfOpen,
			...(options.ref ? {ref: options.ref} : {}),
		});
		if (!dialed) {
			socket.connect({host, port});
		}

		return id;
	}

	/** Stream a file to connection `id` (see FileSends). */
	sendFile(id: string, path: string, ref?: string): void {
		this.#files.start(this.connection(id), path, ref);
	}

	/** Resolves when the file streaming to `id` is wholly queued or stopped; undefined when none is. */
	whenFileSent(id: string): Promise<void> | undefined {
		return this.#files.whenDone(id);
	}

	/** Resolves when `bytes` more fit in connection `id`'s queue (see TcpConnection.whenRoom); undefined when they fit now or there is no such connection. */
	whenQueueHasRoom(id: string, bytes: number): Promise<void> | undefined {
		return this.#connections.get(id)?.whenRoom(bytes);
	}

	/** Half-close connection `id`: our FIN goes after what is queued. */
	shutdown(id: string, ref?: string): void {
		const connection = this.connection(id);
		this.#files.stop(id, 'shut down');
		connection.shutdown(ref);
	}

	/** Abort connection `id` with a RST. */
	reset(id: string, ref?: string): void {
		const connection = this.connection(id);
		this.#files.stop(id, 'reset');
		connection.reset(ref);
	}

	/** Close listener `id` (it stops accepting); false when there is no such listener. */
	closeListener(id: string, ref?: string): boolean {
		const listener = this.#listeners.get(id);
		if (listener) {
			listener.close(ref);
			return true;
		}

		return false;
	}

	/** Close connection `id`: FIN, then release. */
	close(id: string, ref?: string): void {
		const connection = this.connection(id);
		this.#files.stop(id, 'closed');
		connection.close(undefined, ref);
	}

	/** Stop every file streaming (before closing everything). */
	stopFiles(reason: string): void {
		this.#files.stopAll(reason);
	}

	/** Listeners stop; connections send FIN after what is queued and are destroyed after `graceMs` at the latest. */
	closeAll(graceMs: number): void {
		for (const listener of [...this.#listeners.values()]) {
			listener.close();
		}

		for (const connection of [...this.#connections.values()]) {
			if (connection.state === 'connecting') {
				connection.reset();
			} else {
				connection.close(graceMs);
			}
		}
	}

	/** Pause or resume reading on every connection, present and future (the core's reading holds). */
	setReadingPaused(isPaused: boolean): void {
		this.#isReadingPaused = isPaused;
		for (const connection of this.#connections.values()) {
			connection.setReadingPaused(isPaused);
		}
	}

	/** Mark connections whose queue has not drained for `stallTimeoutMs` as stalled. */
	checkStalls(now: number, stallTimeoutMs: number): void {
		for (const connection of this.#connections.values()) {
			connection.checkStall(now, stallTimeoutMs);
		}
	}

	#adopt(socket: net.Socket, listener: TcpListener): void {
		this.register(socket, {
			id: `C${this.#nextConnection++}`,
			origin: 'accepted',
			listener: listener.id,
			framing: listener.framing,
			limits: this.#limits,
			isHalfOpen: listener.isHalfOpen ?? this.halfOpen,
			...(listener.isTls ? {tls: acceptedTls(socket)} : {}),
			...(listener.localEnd ? {local: listener.localEnd} : {}),
		});
	}

	/** Make a connection on `socket` and keep it with the others (commands, reading holds, closeAll). */
	register(socket: net.Socket, init: Omit<ConnectionInit, 'onClosed' | 'reclaimer'>): TcpConnection {
		const connection = new TcpConnection(this.#bus, socket, {...init, onClosed: this.#forgetConnection, reclaimer: this.#reclaimer});
		this.#connections.set(connection.id, connection);
		if (this.#isReadingPaused) {
			connection.setReadingPaused(true);
		}

		return connection;
	}

	/** One function for every connection's close, not a closure each. */
	readonly #forgetConnection = (connection: TcpConnection): void => {
		this.#forget(connection);
	};

	#forget(connection: TcpConnection): void {
		this.#connections.delete(connection.id);
		if (connection.listener !== null) {
			this.#listeners.get(connection.listener)?.released();
		}

		this.#onClosed(connection.state !== 'closed');
	}

	/** Open connection `id`, or undefined. */
	find(id: string): TcpConnection | undefined {
		return this.#connections.get(id);
	}

	/** Open connection `id`; throws UNKNOWN_ID naming the open ones. */
	connection(id: string): TcpConnection {
		const connection = this.#connections.get(id);
		if (!connection) {
			const open = [...this.#connections.keys()];
			throw new NetdashError(
				'UNKNOWN_ID',
				`no open connection ${JSON.stringify(id)}${open.length > 0 ? ` (open: ${open.slice(0, 8).join(', ')}${open.length > 8 ? ', …' : ''})` : ' (none is open)'}`,
			);
		}

		return connection;
	}

	/** A connection that takes a send now: open, and not streaming a file. */
	writable(id: string): TcpConnection {
		const connection = this.connection(id);
		if (this.#files.has(id)) {
			throw new NetdashError('BUSY', `${id} is sending a file: send again after sendfile-finished`);
		}

		return connection;
	}
}
