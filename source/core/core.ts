import net from 'node:net';
import {Bus} from './bus.js';
import {NetdashError, errorCode, oneLine} from './errors.js';
import {encodeFrame, formatFraming, type FramingSpec} from './framing/index.js';
import {TcpConnection, type ConnectionInit, type ConnectionLimits} from './tcp/connection.js';
import type {RelayStep} from './relay/relay.js';
import {RelayManager, type ForwardTarget} from './relay/relay-manager.js';
import {Reclaimer} from './reclaim.js';
import {checkHost} from './ports.js';
import {TcpListener} from './tcp/listener.js';
import {FileSends} from './tcp/send-file.js';
import {Admission, type AdmissionRules} from './tcp/admission.js';
import {ResourceWatch} from './resources.js';
import {checkTimeout} from './timeout.js';
import {Discovery, type DiscoveryOptions} from './discovery/discovery.js';
import type {DiscoveryStats} from './discovery/protocol.js';
import {refusalOf} from './udp/admission.js';
import {UdpManager} from './udp/udp-manager.js';
import {SystemSockets} from './system/system-sockets.js';
import {destroySocket, type DestroyTarget} from './system/destroy.js';
import type {RequestOptions, UdpBindOptions} from './udp/udp-socket.js';

/** Options of a core; every one has a default. */
export type CoreOptions = {
	/** Dial timeout in ms; the kernel alone would wait ~127 s for a dropped SYN. @default 10000 */
	connectTimeoutMs?: number;
	/** Bytes one connection may hold queued in memory. @default 4 MiB */
	maxQueuedBytes?: number;
	/** Largest piece handed to the kernel at once. @default 64 KiB */
	writeChunkBytes?: number;
	/**
	 * listen(2) backlog. The default asks for as deep an accept queue as the kernel allows:
	 * Linux caps it at net.core.somaxconn (4096 on recent kernels), so raising that sysctl is
	 * enough for bigger bursts. Node's own default, 511, drops bursts (FACTS.md). @default 65535
	 */
	backlog?: number;
	/** Framing for listeners and connections that name none. @default raw */
	framing?: FramingSpec;
	/** Close a connection after this long without traffic either way, in ms (0: never). @default 0 */
	idleTimeoutMs?: number;
	/** Mark a connection `stalled` when its queued bytes have not drained for this long, in ms (0: never). @default 10000 */
	stallTimeoutMs?: number;
	/** Who may connect to listeners. @default everyone, 100 connections per listener */
	admission?: Partial<AdmissionRules>;
	/** How often the stall and resource watch runs, in ms. @default 1000 */
	watchIntervalMs?: number;
	/**
	 * Received bytes between two minor collections that free read buffers (reclaim.ts). Other than 0,
	 * it also sets two V8 flags for the whole process (--expose-gc, --no-allocation-site-pretenuring);
	 * 0 leaves V8 as it was. @default 16 MiB
	 */
	reclaimEveryBytes?: number;
	/**
	 * Keep a connection open after the peer's FIN, so it can still be answered, until it is closed
	 * (`--half-open`). Off, a peer's FIN closes the connection once its queue has drained, as ncat
	 * and socat do. A half-closed connection counts toward the listener's limit until it closes. @default false
	 */
	halfOpen?: boolean;
};

/**
 * A command the core was given, as the `--log` file records it: the verb in
 * the JSON commands' vocabulary (`cmd`), its arguments, and its payload as
 * `data` (written as base64), whichever front end (JSON lines, dashboard)
 * gave it.
 */
export type CommandRecord = {type: 'command'; at: number; cmd: string; data?: Buffer; [field: string]: unknown};

/** Options common to commands. */
export type CommandOptions = {
	/** Echoed on the events the command causes. */
	ref?: string;
};

/** Options of `listen` and `connect`. */
export type OpenOptions = CommandOptions & {
	framing?: FramingSpec;
	/** Half-open for this listener's connections (or this dial); undefined follows the core's default (see {@link CoreOptions.halfOpen}). */
	halfOpen?: boolean;
};

const defaults = {
	idleTimeoutMs: 0,
	stallTimeoutMs: 10_000,
	watchIntervalMs: 1000,
	connectTimeoutMs: 10_000,
	maxQueuedBytes: 4 * 1024 * 1024,
	writeChunkBytes: 64 * 1024,
	backlog: 65_535,
	reclaimEveryBytes: 16 * 1024 * 1024,
};

function checkPort(port: number, allowZero: boolean): void {
	if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65_535) {
		throw new NetdashError('BAD_PORT', `port ${port} is out of range (${allowZero ? 0 : 1}–65535)`);
	}
}

/**
 * The core: owns every socket and reports all that happens to them on one
 * bus. Commands are verbs; they return at once and their outcome arrives as
 * events. A command that cannot be carried out emits `command-failed` and
 * returns `undefined` / `false` — it never throws.
 */
export class Core {
	/** Where every event is emitted. */
	readonly bus = new Bus();
	readonly #listeners = new Map<string, TcpListener>();
	readonly #connections = new Map<string, TcpConnection>();
	readonly #closeWaiters = new Set<() => void>();
	readonly #limits: ConnectionLimits;
	readonly #reclaimer: Reclaimer;
	readonly #backlog: number;
	readonly #framing: FramingSpec;
	readonly #admission = new Admission();
	readonly #resources: ResourceWatch;
	readonly #watchTimer: NodeJS.Timeout;
	readonly #stallTimeoutMs: number;
	readonly #readingHolds = new Set<string>();
	readonly #files = new FileSends(this.bus);
	/** The listeners' allow/deny rules, applied to every UDP datagram and discovery packet too. */
	readonly #refusal = refusalOf(this.#admission);

	readonly #udp = new UdpManager(this.bus, (hasFailed) => {
		this.#hasLastEndFailed = hasFailed;
		this.#notifyClosed();
	}, this.#refusal);

	readonly #discovery = new Discovery(this.bus, () => {
		this.#notifyClosed();
	}, this.#refusal);

	/** Forwards' clients and the connections dialed for them (relay/). */
	readonly #relays = new RelayManager(this.bus, this.#udp, {
		nextConnectionId: () => `C${this.#nextConnection++}`,
		// Both halves of a relay stay open after their peer's FIN: the relay passes the FIN on.
		adopt: (socket, init) => this.#register(socket, {...init, limits: this.#limits, isHalfOpen: true}),
	});

	/** The machine's sockets (not only ours): core/system/. */
	readonly #system = new SystemSockets(this.bus, () => {
		this.#notifyClosed();
	});

	readonly #commandTaps = new Set<(record: CommandRecord) => void>();
	#nextListener = 1;
	#nextConnection = 1;
	#halfOpen: boolean;
	/** How the socket that ended last ended: true for a failure (refused, timed out, reset, bind refused). */
	#hasLastEndFailed = false;

	constructor(options: CoreOptions = {}) {
		// Out-of-range timeouts in options are the caller's bug (the CLI validates flags first): let them throw.
		this.#limits = {
			connectTimeoutMs: checkTimeout(options.connectTimeoutMs ?? defaults.connectTimeoutMs, 'the connect timeout'),
			maxQueuedBytes: options.maxQueuedBytes ?? defaults.maxQueuedBytes,
			writeChunkBytes: options.writeChunkBytes ?? defaults.writeChunkBytes,
			idleTimeoutMs: checkTimeout(options.idleTimeoutMs ?? defaults.idleTimeoutMs, 'the idle timeout'),
		};
		this.#backlog = options.backlog ?? defaults.backlog;
		this.#reclaimer = new Reclaimer(options.reclaimEveryBytes ?? defaults.reclaimEveryBytes);
		this.#framing = options.framing ?? {kind: 'raw'};
		this.#stallTimeoutMs = options.stallTimeoutMs ?? defaults.stallTimeoutMs;
		this.#halfOpen = options.halfOpen ?? false;
		// Bad rules in options are the caller's bug (the CLI validates flags first): let it throw.
		this.#admission.set(options.admission ?? {});
		this.#resources = new ResourceWatch(this.bus);
		this.#watchTimer = setInterval(() => {
			this.#watch();
		}, options.watchIntervalMs ?? defaults.watchIntervalMs);
		this.#watchTimer.unref();
	}

	/**
	 * Watch every command the core is given, before it runs (so a record
	 * comes before the events it causes). Returns an unsubscribe.
	 */
	onCommand(tap: (record: CommandRecord) => void): () => void {
		this.#commandTaps.add(tap);
		return () => {
			this.#commandTaps.delete(tap);
		};
	}

	/** The admission rules in force. */
	get admission(): AdmissionRules {
		return this.#admission.rules;
	}

	/**
	 * Change who may connect, while running: `allow` / `deny` CIDR lists
	 * (deny wins when both match) and the per-listener connection limit.
	 * Open connections are not touched; the rules apply to the next accept,
	 * and to the next datagram on every UDP socket and on discovery.
	 */
	setAdmission(rules: Partial<AdmissionRules>, options: CommandOptions = {}): boolean {
		this.#noteCommand('admission', {...rules, ...options});
		return (
			this.#run(options.ref, () => {
				// Listeners read the rules at each accept.
				this.#admission.set(rules);

				const {allow, deny, maxConnections} = this.#admission.rules;
				this.bus.emit({type: 'admission-changed', allow, deny, maxConnections, ...(options.ref ? {ref: options.ref} : {})});
				return true;
			}) ?? false
		);
	}

	/** The default of `halfOpen` for listeners and dials that do not choose (see {@link CoreOptions.halfOpen}). */
	get halfOpen(): boolean {
		return this.#halfOpen;
	}

	/**
	 * Change the default of `halfOpen`, while running: it applies to
	 * connections accepted or dialed from now on, unless their listen or
	 * connect chose. Open connections keep theirs. `half-open-changed` follows.
	 */
	setHalfOpen(isOn: boolean, options: CommandOptions = {}): boolean {
		this.#halfOpen = isOn;

		this.bus.emit({type: 'half-open-changed', isHalfOpen: isOn, ...(options.ref ? {ref: options.ref} : {})});
		return true;
	}

	/** True when the socket that ended last ended in a failure (refused, timed out, reset, a refused bind): the CLI's exit code 1. */
	get hasLastEndFailed(): boolean {
		return this.#hasLastEndFailed;
	}

	/** Resolves when no socket is open (at once when none is). */
	async whenAllClosed(): Promise<void> {
		return this.#whenAllClosed();
	}

	/** Sockets still open: listeners plus connections. */
	get openSockets(): number {
		return this.#listeners.size + this.#connections.size + this.#udp.size + (this.#discovery.isOpen ? 1 : 0) + (this.#system.isBusy ? 1 : 0);
	}

	/** Start a TCP listener. Host `127.0.0.1` by default; `0.0.0.0` / `::` mean every interface; port 0 picks an ephemeral port. */
	listen(host: string | undefined, port: number, options: OpenOptions = {}): string | undefined {
		this.#noteCommand('listen', {host, port, ...options});
		return this.#listen(host, port, options);
	}

	/**
	 * Forward `host:port` (host 127.0.0.1 by default) to `target`, as `ssh -L`:
	 * each client gets its own connection to the target, relayed byte for
	 * byte (relay/). Returns the listener's id; each client is relay `R1`, ….
	 */
	forward(host: string | undefined, port: number, target: ForwardTarget, options: OpenOptions = {}): string | undefined {
		this.#noteCommand('forward', {host, port, target, ...options});
		return this.#run(options.ref, () => this.#listen(host, port, options, this.#relays.target(target)));
	}

	/**
	 * Forward UDP `host:port` to `target`: each client address gets its own socket (source port) towards the target;
	 * a session idle for `idleMs` (default: the idle timeout, else 60 s) expires (relay/udp-forward.ts). Returns the forward's socket id.
	 */
	forwardUdp(host: string | undefined, port: number, target: ForwardTarget, options: CommandOptions & {idleMs?: number} = {}): string | undefined {
		this.#noteCommand('forward-udp', {host, port, target, ...options});
		return this.#run(options.ref, () => this.#relays.forwardUdp(host, port, target, {...options, fallbackIdleMs: this.#limits.idleTimeoutMs}));
	}

	/** Steer relay `id`: intercept a direction, release or drop a held chunk, inject bytes (relay/relay.ts). */
	steer(id: string, step: RelayStep, options: CommandOptions = {}): boolean {
		const {type, ...fields} = step;
		this.#noteCommand(type, {relay: id, ...fields, data: undefined, ...options}, 'data' in step ? step.data : undefined);
		return this.#udpCommand(options, () => this.#relays.steer(id, step, options.ref));
	}

	#listen(host: string | undefined, port: number, options: OpenOptions, target?: {address: string; port: number}): string | undefined {
		return this.#run(options.ref, () => {
			checkPort(port, true);
			if (host) {
				checkHost(host);
			}

			const id = `L${this.#nextListener++}`;
			const listener = new TcpListener(this.bus, {
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
						this.#relays.accept(socket, from);
					} else {
						this.#adopt(socket, from);
					}
				},
				onClosed: (closed) => {
					this.#listeners.delete(closed.id);
					this.#hasLastEndFailed = closed.state === 'failed';
					this.#notifyClosed();
				},
			});
			this.#listeners.set(id, listener);
			return id;
		});
	}

	/** Dial a TCP connection. */
	connect(host: string, port: number, options: OpenOptions & {connectTimeoutMs?: number} = {}): string | undefined {
		this.#noteCommand('connect', {host, port, ...options});
		return this.#run(options.ref, () => {
			if (!host) {
				throw new NetdashError('BAD_ADDRESS', 'connect needs a host');
			}

			checkHost(host);
			checkPort(port, false);
			const connectTimeoutMs = checkTimeout(options.connectTimeoutMs ?? this.#limits.connectTimeoutMs, 'a connect timeout');
			const id = `C${this.#nextConnection++}`;
			const socket = new net.Socket({allowHalfOpen: true});
			this.#register(socket, {
				id,
				origin: 'dialed',
				listener: null,
				framing: options.framing ?? this.#framing,
				limits: {...this.#limits, connectTimeoutMs},
				dial: {host, port},
				isHalfOpen: options.halfOpen ?? this.#halfOpen,
				...(options.ref ? {ref: options.ref} : {}),
			});
			socket.connect({host, port});
			return id;
		});
	}

	/** Queue bytes on a connection. With `framed`, the connection's framing wraps them first (a line gets its LF, u16/u32 their length). */
	send(id: string, bytes: Buffer, options: CommandOptions & {framed?: boolean} = {}): boolean {
		this.#noteCommand('send', {connection: id, ...options}, bytes);
		return (
			this.#run(
				options.ref,
				() => {
					const connection = this.#connection(id);
					if (this.#files.has(id)) {
						throw new NetdashError('BUSY', `${id} is sending a file: send again after sendfile-finished`);
					}

					connection.send(options.framed ? encodeFrame(connection.framing, bytes) : bytes, options.ref);
					return true;
				},
				id,
			) ?? false
		);
	}

	/**
	 * Stream a file to a connection: read a piece at a time, each only when
	 * the queue has room, so any size streams in bounded memory at the peer's
	 * pace. `sendfile-started`, then `sendfile-finished` once it is all
	 * queued (or `sendfile-failed`); `send` waits until then.
	 */
	sendFile(id: string, path: string, options: CommandOptions = {}): boolean {
		return this.#command(id, options, (connection) => {
			this.#files.start(connection, path, options.ref);
		});
	}

	/** Resolves when the file streaming to `id` is wholly queued or stopped; undefined when none is. */
	whenFileSent(id: string): Promise<void> | undefined {
		return this.#files.whenDone(id);
	}

	/** Resolves when `bytes` more fit in connection `id`'s queue (see TcpConnection.whenRoom); undefined when they fit now or there is no such connection. */
	whenQueueHasRoom(id: string, bytes: number): Promise<void> | undefined {
		return this.#connections.get(id)?.whenRoom(bytes);
	}

	/** Half-close a connection: our FIN goes after what is queued; we keep reading. */
	shutdown(id: string, options: CommandOptions = {}): boolean {
		this.#noteCommand('shutdown', {id, ...options});
		return this.#command(id, options, (connection) => {
			this.#files.stop(id, 'shut down');
			connection.shutdown(options.ref);
		});
	}

	/** Abort a connection with a RST. */
	reset(id: string, options: CommandOptions = {}): boolean {
		this.#noteCommand('reset', {id, ...options});
		return this.#command(id, options, (connection) => {
			this.#files.stop(id, 'reset');
			connection.reset(options.ref);
		});
	}

	/** Close a listener (it stops accepting) or a connection (FIN, then release). */
	close(id: string, options: CommandOptions = {}): boolean {
		this.#noteCommand('close', {id, ...options});
		const listener = this.#listeners.get(id);
		if (listener) {
			listener.close(options.ref);
			return true;
		}

		if (this.#udp.has(id)) {
			return this.#udpCommand(options, () => {
				this.#udp.close(id, options.ref);
			});
		}

		return this.#command(id, options, (connection) => {
			this.#files.stop(id, 'closed');
			connection.close(undefined, options.ref);
		});
	}

	/**
	 * Close everything gracefully: listeners stop, connections send FIN after
	 * what is queued and are destroyed after `graceMs` at the latest.
	 * Resolves when every socket is gone.
	 */
	async closeAll(graceMs = 1500): Promise<void> {
		this.#files.stopAll('closing everything');
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

		this.#udp.closeAll();
		// Peers remove us at once on our bye instead of waiting three intervals.
		void this.#discovery.stop();
		this.#system.stop();
		await this.#whenAllClosed();
	}

	/** Bind a UDP socket (ids `U1`, `U2`, …). Host `127.0.0.1` by default, `0.0.0.0` for every interface; port 0 picks a free port. */
	udpBind(host: string | undefined, port: number, options: UdpBindOptions & CommandOptions = {}): string | undefined {
		this.#noteCommand('udp', {host, port, ...options});
		return this.#run(options.ref, () => this.#udp.bind(host, port, options));
	}

	/**
	 * Send one datagram (host and port may be left out on a connected socket).
	 * Over the route's MTU less headers (1472 bytes on Ethernet) it is sent with a `warning`; over 65,507 (IPv4) it is
	 * refused as `socket-failed` EMSGSIZE, like the kernel's own EMSGSIZE.
	 */
	udpSend(id: string, host: string | undefined, port: number | undefined, bytes: Buffer, options: CommandOptions = {}): boolean {
		this.#noteCommand('sendto', {socket: id, host, port, ...options}, bytes);
		return this.#run(options.ref, () => this.#udp.send(id, host, port, bytes, options.ref)) ?? false;
	}

	/** Connect a UDP socket: it then sends only to host:port and the kernel drops datagrams from anyone else. */
	udpConnect(id: string, host: string, port: number, options: CommandOptions = {}): boolean {
		this.#noteCommand('udp-connect', {socket: id, host, port, ...options});
		return this.#udpCommand(options, () => {
			this.#udp.connect(id, host, port, options.ref);
		});
	}

	/** Turn SO_BROADCAST on or off on a UDP socket (sending to a broadcast address without it fails with EACCES). */
	setBroadcast(id: string, isOn: boolean, options: CommandOptions = {}): boolean {
		this.#noteCommand('broadcast', {socket: id, on: isOn, ...options});
		return this.#udpCommand(options, () => {
			this.#udp.setBroadcast(id, isOn, options.ref);
		});
	}

	/**
	 * Send a request with a random id (see udp/request.ts) and resend it with
	 * exponential backoff until a reply carrying the id arrives
	 * (`request-completed`) or retries run out (`request-failed`). Returns the
	 * request id. `isPlain`: no header, and the target's first datagram
	 * answers; without a socket id, a socket of its own is opened for it.
	 */
	udpRequest(id: string | undefined, host: string | undefined, port: number | undefined, bytes: Buffer, options: RequestOptions & CommandOptions = {}): number | undefined {
		this.#noteCommand('request', {socket: id, host, port, ...options}, bytes);
		return this.#run(options.ref, () => this.#udp.request(id, host, port, bytes, options, options.ref));
	}

	/** Ids of open UDP sockets, in order of creation. */
	udpSocketIds(): string[] {
		return this.#udp.ids();
	}

	/** Start discovery: bind the discovery port, announce, probe, keep a peer table. */
	startDiscovery(options: DiscoveryOptions = {}): boolean {
		this.#noteCommand('discover', {...options});
		return this.#udpCommand(options, () => {
			this.#discovery.start(options);
		});
	}

	/** Probe for peers now. */
	probe(options: CommandOptions = {}): boolean {
		this.#noteCommand('probe', {...options});
		return this.#udpCommand(options, () => {
			this.#discovery.probe(options.ref);
		});
	}

	/** Say bye to peers and stop discovery; `discovery-stopped` follows. */
	stopDiscovery(options: CommandOptions = {}): boolean {
		this.#noteCommand('stop-discovery', {...options});
		return this.#udpCommand(options, () => {
			this.#discovery.assertRunning();
			void this.#discovery.stop(options.ref);
		});
	}

	/** Read every socket of the machine once: `system-sockets` follows. */
	listSystemSockets(options: CommandOptions = {}): void {
		this.#noteCommand('sockets', {...options});
		this.#system.list(options.ref);
	}

	/** Refresh the machine's sockets every `intervalMs`, emitting `system-sockets-changed`, until unwatched. */
	watchSystemSockets(intervalMs: number, options: CommandOptions = {}): boolean {
		this.#noteCommand('watch-sockets', {intervalMs, ...options});
		return this.#run(options.ref, () => {
			this.#system.watch(intervalMs, options.ref);
			return true;
		}) ?? false;
	}

	/** Refresh the machine's sockets while the System pane is shown; call what it returns when hidden. */
	viewSystemSockets(intervalMs = 1000): () => void {
		return this.#system.view(intervalMs);
	}

	/** Destroy another program's TCP socket (`ss -K`, root); a refusal is a `command-failed`. Resolves true when the kernel destroyed it. */
	async destroySystemSocket(socket: DestroyTarget, options: CommandOptions = {}): Promise<boolean> {
		return destroySocket(socket).then(() => true, (error: unknown) => this.#run(options.ref, () => {
			throw error;
		}) ?? false);
	}

	/** Milliseconds between refreshes of the machine's sockets (of the running watch, or the last). */
	get systemSocketsIntervalMs(): number {
		return this.#system.intervalMs;
	}

	/** True while the machine's sockets are refreshed (a watch, or the System pane shown). */
	get isWatchingSystemSockets(): boolean {
		return this.#system.isWatching;
	}

	/** Stop watching the machine's sockets. */
	unwatchSystemSockets(options: CommandOptions = {}): boolean {
		this.#noteCommand('unwatch-sockets', {...options});
		return this.#run(options.ref, () => {
			this.#system.unwatch();
			return true;
		}) ?? false;
	}

	/** Exact discovery counters of the current (or last) run. */
	get discoveryStats(): Readonly<DiscoveryStats> | undefined {
		return this.#discovery.stats;
	}

	#udpCommand(options: CommandOptions, action: () => void): boolean {
		return (
			this.#run(options.ref, () => {
				action();
				return true;
			}) ?? false
		);
	}

	/**
	 * Hold or release reading on every connection, present and future: the
	 * way a slow consumer (a full stdout pipe in `--json`, a slow `--log`
	 * disk) pushes back on peers through TCP flow control instead of growing
	 * memory. Reading stays paused while any holder holds it. Queued sends
	 * wait too (each piece sent is an event to write), and UDP sockets drop
	 * and count what they receive (`datagrams-dropped`): UDP has no flow
	 * control to push back with.
	 */
	holdReading(holder: string, isHeld: boolean): void {
		const wasPaused = this.#readingHolds.size > 0;
		if (isHeld) {
			this.#readingHolds.add(holder);
		} else {
			this.#readingHolds.delete(holder);
		}

		const isPaused = this.#readingHolds.size > 0;
		if (isPaused !== wasPaused) {
			for (const connection of this.#connections.values()) {
				connection.setReadingPaused(isPaused);
			}

			this.#udp.setHeld(isPaused);
		}
	}

	/** Stop the core's own timers (sockets are closed by closeAll). */
	dispose(): void {
		clearInterval(this.#watchTimer);
	}

	/** Once a second: stalled queues, and open files near the limit while anything listens. */
	#watch(): void {
		const now = Date.now();
		if (this.#stallTimeoutMs > 0) {
			for (const connection of this.#connections.values()) {
				connection.checkStall(now, this.#stallTimeoutMs);
			}
		}

		// Counting /proc/self/fd is O(open files): only worth it once our own sockets could be near the limit.
		if (this.#listeners.size > 0 && this.openSockets * 2 >= this.#resources.limit) {
			this.#resources.check();
		}

		this.#resources.checkKernelDrops();
		this.#udp.reportDrops();
	}

	/** Ids of open connections, in order of creation. */
	connectionIds(): string[] {
		return [...this.#connections.keys()];
	}

	/** Ids of open listeners, in order of creation. */
	listenerIds(): string[] {
		return [...this.#listeners.keys()];
	}

	#adopt(socket: net.Socket, listener: TcpListener): void {
		this.#register(socket, {
			id: `C${this.#nextConnection++}`,
			origin: 'accepted',
			listener: listener.id,
			framing: listener.framing,
			limits: this.#limits,
			isHalfOpen: listener.isHalfOpen ?? this.#halfOpen,
			...(listener.localEnd ? {local: listener.localEnd} : {}),
		});
	}

	/** Make a connection on `socket` and keep it with the others (commands, reading holds, closeAll). */
	#register(socket: net.Socket, init: Omit<ConnectionInit, 'onClosed' | 'reclaimer'>): TcpConnection {
		const connection = new TcpConnection(this.bus, socket, {...init, onClosed: this.#forgetConnection, reclaimer: this.#reclaimer});
		this.#connections.set(connection.id, connection);
		if (this.#readingHolds.size > 0) {
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

		this.#hasLastEndFailed = connection.state !== 'closed';
		this.#notifyClosed();
	}

	#notifyClosed(): void {
		if (this.openSockets === 0) {
			for (const resolve of this.#closeWaiters) {
				resolve();
			}

			this.#closeWaiters.clear();
		}
	}

	async #whenAllClosed(): Promise<void> {
		if (this.openSockets === 0) {
			return;
		}

		await new Promise<void>((resolve) => {
			this.#closeWaiters.add(resolve);
		});
	}

	#connection(id: string): TcpConnection {
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

	#command(id: string, options: CommandOptions, action: (connection: TcpConnection) => void): boolean {
		return (
			this.#run(
				options.ref,
				() => {
					action(this.#connection(id));
					return true;
				},
				id,
			) ?? false
		);
	}

	#noteCommand(cmd: string, fields: Record<string, unknown>, data?: Buffer): void {
		if (this.#commandTaps.size === 0) {
			return;
		}

		// Undefined fields are left out, as JSON.stringify would; the payload rides as data (base64 in the file).
		const record: CommandRecord = {type: 'command', at: Date.now(), cmd};
		for (const [name, value] of Object.entries(fields)) {
			if (value === undefined) {
				continue;
			}

			// In the JSON commands' own terms: framing as text, times in seconds (`timeout`, `interval`), `echo` for isEcho.
			if (name === 'framing') {
				record[name] = formatFraming(value as FramingSpec);
			} else if (name === 'connectTimeoutMs') {
				record['timeout'] = (value as number) / 1000;
			} else if (name.endsWith('Ms') && typeof value === 'number') {
				record[name.slice(0, -2)] = value / 1000;
			} else if (/^is[A-Z]/.test(name)) {
				record[name[2]!.toLowerCase() + name.slice(3)] = value;
			} else {
				record[name] = value;
			}
		}

		if (data !== undefined) {
			record.data = data;
		}

		for (const tap of this.#commandTaps) {
			try {
				tap(record);
			} catch (error) {
				this.bus.emit({type: 'subscriber-failed', message: `a command watcher failed on ${cmd}: ${oneLine(error)}`});
			}
		}
	}

	/** Runs a command; any failure becomes a `command-failed` event (naming `target`, the socket it was for), never a throw. */
	#run<T>(ref: string | undefined, action: () => T, target?: string): T | undefined {
		try {
			return action();
		} catch (error) {
			this.bus.emit({type: 'command-failed', ref: ref ?? null, code: errorCode(error), message: oneLine(error), ...(target === undefined ? {} : {target})});
			return undefined;
		}
	}
}

/** Make a core. */
export function createCore(options?: CoreOptions): Core {
	return new Core(options);
}
