import {Bus} from './bus.js';
import {NetdashError, errorCode, oneLine} from './errors.js';
import {encodeFrame} from './framing/index.js';
import type {RelayStep} from './relay/relay.js';
import {RelayManager, type ForwardTarget} from './relay/relay-manager.js';
import {Admission, type AdmissionRules} from './tcp/admission.js';
import {TcpManager} from './tcp/tcp-manager.js';
import {MemoryReturn} from './memory-return.js';
import {ResourceWatch} from './resources.js';
import {Discovery, type DiscoveryOptions} from './discovery/discovery.js';
import {LanDiscovery, type LanOptions} from './discovery/lan.js';
import {BroadcastProbes, type BroadcastProbeOptions} from './discovery/probe/broadcast-probe.js';
import type {DiscoveryStats} from './discovery/protocol.js';
import {refusalOf} from './udp/admission.js';
import {UdpManager} from './udp/udp-manager.js';
import {SystemSockets} from './system/system-sockets.js';
import {destroySocket, type DestroyTarget} from './system/destroy.js';
import type {RequestOptions, UdpBindOptions} from './udp/udp-socket.js';
import type {RuleSpec} from './respond/rule.js';
import type {ScheduleTiming} from './schedule/schedules.js';
import type {SaveDirection} from './save/saves.js';
import {Workbench} from './workbench/workbench.js';
import {commandRecord, defaults, type CommandOptions, type CommandRecord, type ConnectOptions, type CoreOptions, type ListenOptions, type OpenOptions} from './core-options.js';

// The options and command types live in core-options.ts; they are exported from here as before.
export type {CommandOptions, CommandRecord, ConnectOptions, CoreOptions, ListenOptions, OpenOptions} from './core-options.js';

/**
 * The core: owns every socket and reports all that happens to them on one
 * bus. Commands are verbs; they return at once and their outcome arrives as
 * events. A command that cannot be carried out emits `command-failed` and
 * returns `undefined` / `false` — it never throws.
 */
export class Core {
	/** Where every event is emitted. */
	readonly bus = new Bus();
	readonly #closeWaiters = new Set<() => void>();
	readonly #admission = new Admission();
	/** TCP listeners and connections (tcp/). */
	readonly #tcp: TcpManager;
	readonly #resources: ResourceWatch;
	readonly #memoryReturn: MemoryReturn | undefined;
	readonly #watchTimer: NodeJS.Timeout;
	readonly #stallTimeoutMs: number;
	readonly #readingHolds = new Set<string>();
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
		nextConnectionId: () => this.#tcp.nextConnectionId(),
		// Both halves of a relay stay open after their peer's FIN: the relay passes the FIN on.
		adopt: (socket, init) => this.#tcp.register(socket, {...init, limits: this.#tcp.limits, isHalfOpen: true}),
	});

	/** The machine's sockets (not only ours): core/system/. */
	readonly #system = new SystemSockets(this.bus, () => {
		this.#notifyClosed();
	});
	readonly #lan = new LanDiscovery(this.bus, this.#refusal);
	readonly #probes = new BroadcastProbes(this.bus, this.#refusal);

	/** Auto-replies, timed sends and raw saves (workbench/), given only the socket verbs they need. */
	readonly #workbench = new Workbench(this.bus, {
		writable: (id) => this.#tcp.writable(id),
		open: (id) => this.#tcp.connection(id),
		find: (id) => this.#tcp.find(id),
		maxQueuedBytes: () => this.#tcp.limits.maxQueuedBytes,
		sendTo: (id, to, bytes) => this.#udp.send(id, to.address, to.port, bytes),
		holdReading: (holder, isHeld) => {
			this.holdReading(holder, isHeld);
		},
	});

	readonly #commandTaps = new Set<(record: CommandRecord) => void>();
	/** How the socket that ended last ended: true for a failure (refused, timed out, reset, bind refused). */
	#hasLastEndFailed = false;
	readonly #readOnly: string | undefined;

	constructor(options: CoreOptions = {}) {
		// Out-of-range timeouts in options are the caller's bug (the CLI validates flags first): let them throw.
		this.#tcp = new TcpManager(this.bus, options, {
			admission: this.#admission,
			onRelayClient: (socket, listener) => {
				this.#relays.accept(socket, listener);
			},
			onClosed: (hasFailed) => {
				this.#hasLastEndFailed = hasFailed;
				this.#notifyClosed();
			},
		});
		this.#stallTimeoutMs = options.stallTimeoutMs ?? defaults.stallTimeoutMs;
		this.#readOnly = options.readOnly;
		// Bad rules in options are the caller's bug (the CLI validates flags first): let it throw.
		this.#admission.set(options.admission ?? {});
		this.#resources = new ResourceWatch(this.bus);
		this.#memoryReturn = options.returnMemory === false ? undefined : new MemoryReturn(this.bus, options.returnMemory);
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
		return this.#tcp.halfOpen;
	}

	/**
	 * Change the default of `halfOpen`, while running: it applies to
	 * connections accepted or dialed from now on, unless their listen or
	 * connect chose. Open connections keep theirs. `half-open-changed` follows.
	 */
	setHalfOpen(isOn: boolean, options: CommandOptions = {}): boolean {
		if (this.#run(options.ref, () => true) === undefined) {
			return false;
		}

		this.#tcp.halfOpen = isOn;

		this.bus.emit({type: 'half-open-changed', isHalfOpen: isOn, ...(options.ref ? {ref: options.ref} : {})});
		return true;
	}

	/** True when the socket that ended last ended in a failure (refused, timed out, reset, a refused bind): the CLI's exit code 1. */
	get hasLastEndFailed(): boolean {
		return this.#hasLastEndFailed;
	}

	/** Resolves when no socket is open (at once when none is). */
	async whenAllClosed(): Promise<void> {
		if (this.openSockets === 0) {
			return;
		}

		await new Promise<void>((resolve) => {
			this.#closeWaiters.add(resolve);
		});
	}

	/** Sockets still open: listeners plus connections. */
	get openSockets(): number {
		return this.#tcp.size + this.#udp.size + (this.#discovery.isOpen ? 1 : 0) + (this.#system.isBusy ? 1 : 0) + (this.#lan.isOpen ? 1 : 0) + this.#probes.size;
	}

	/** Start a TCP listener. Host `127.0.0.1` by default; `0.0.0.0` / `::` mean every interface; port 0 picks an ephemeral port. */
	listen(host: string | undefined, port: number, options: ListenOptions = {}): string | undefined {
		this.#noteCommand('listen', {host, port, ...options});
		return this.#run(options.ref, () => this.#tcp.listen(host, port, options));
	}

	/**
	 * Forward `host:port` (host 127.0.0.1 by default) to `target`, as `ssh -L`:
	 * each client gets its own connection to the target, relayed byte for
	 * byte (relay/). Returns the listener's id; each client is relay `R1`, ….
	 */
	forward(host: string | undefined, port: number, target: ForwardTarget, options: OpenOptions = {}): string | undefined {
		this.#noteCommand('forward', {host, port, target, ...options});
		return this.#run(options.ref, () => this.#tcp.listen(host, port, options, this.#relays.target(target)));
	}

	/**
	 * Forward UDP `host:port` to `target`: each client address gets its own socket (source port) towards the target;
	 * a session idle for `idleMs` (default: the idle timeout, else 60 s) expires (relay/udp-forward.ts). Returns the forward's socket id.
	 */
	forwardUdp(host: string | undefined, port: number, target: ForwardTarget, options: CommandOptions & {idleMs?: number} = {}): string | undefined {
		this.#noteCommand('forward-udp', {host, port, target, ...options});
		return this.#run(options.ref, () => this.#relays.forwardUdp(host, port, target, {...options, fallbackIdleMs: this.#tcp.limits.idleTimeoutMs}));
	}

	/** Steer relay `id`: intercept a direction, release or drop a held chunk, inject bytes (relay/relay.ts). */
	steer(id: string, step: RelayStep, options: CommandOptions = {}): boolean {
		const {type, ...fields} = step;
		this.#noteCommand(type, {relay: id, ...fields, data: undefined, ...options}, 'data' in step ? step.data : undefined);
		return this.#command(undefined, options, () => this.#relays.steer(id, step, options.ref));
	}

	/** Dial a TCP connection. */
	connect(host: string, port: number, options: ConnectOptions = {}): string | undefined {
		this.#noteCommand('connect', {host, port, ...options});
		return this.#run(options.ref, () => this.#tcp.connect(host, port, options));
	}

	/** Queue bytes on a connection. With `framed`, the connection's framing wraps them first (a line gets its LF, u16/u32 their length). */
	send(id: string, bytes: Buffer, options: CommandOptions & ScheduleTiming & {framed?: boolean} = {}): boolean {
		this.#noteCommand('send', {connection: id, ...options}, bytes);
		return (
			this.#run(
				options.ref,
				() => {
					const connection = this.#tcp.writable(id);
					const payload = options.framed ? encodeFrame(connection.framing, bytes) : bytes;
					if (options.everyMs === undefined && options.count === undefined) {
						connection.send(payload, options.ref);
					} else {
						this.#workbench.schedule(id, payload, options, options.ref);
					}

					return true;
				},
				id,
			) ?? false
		);
	}

	// Workbench (issue 17): routing to workbench/.

	/** Stop a timed or repeated send (`schedule-finished`). */
	cancelSchedule(id: string, options: CommandOptions = {}): boolean {
		return this.#routed('cancel', {schedule: id, ...options}, () => this.#workbench.cancelSchedule(id, options.ref));
	}

	/** List the running schedules (`schedules-listed`). */
	listSchedules(options: CommandOptions = {}): boolean {
		return this.#routed('schedules', options, () => this.#workbench.listSchedules(options.ref));
	}

	/** Add an auto-reply rule (`rule-added`; see respond/responder.ts); returns its id. */
	respond(spec: RuleSpec, options: CommandOptions = {}): string | undefined {
		this.#noteCommand('respond', {...spec, ...options});
		return this.#run(options.ref, () => this.#workbench.respond(spec, options.ref));
	}

	/** Pause, resume or remove a rule (`rule-changed`). */
	changeRule(id: string, action: 'pause' | 'resume' | 'remove', options: CommandOptions = {}): boolean {
		return this.#routed('rule', {rule: id, action, ...options}, () => this.#workbench.changeRule(id, action, options.ref));
	}

	/** List the rules with their counts (`rules-listed`). */
	listRules(options: CommandOptions = {}): boolean {
		return this.#routed('rules', options, () => this.#workbench.listRules(options.ref));
	}

	/** Write what connection `id` receives (`in`) or sends (`out`) from now on to `path`, raw, until it closes (`save-finished` with the byte count). */
	save(id: string, path: string, direction: SaveDirection = 'in', options: CommandOptions = {}): boolean {
		return this.#routed('save', {connection: id, path, direction, ...options}, () => this.#workbench.save(id, path, direction, options.ref), id);
	}

	/**
	 * Stream a file to a connection: read a piece at a time, each only when
	 * the queue has room, so any size streams in bounded memory at the peer's
	 * pace. `sendfile-started`, then `sendfile-finished` once it is all
	 * queued (or `sendfile-failed`); `send` waits until then.
	 */
	sendFile(id: string, path: string, options: CommandOptions = {}): boolean {
		return this.#command(id, options, () => this.#tcp.sendFile(id, path, options.ref));
	}

	/** Resolves when the file streaming to `id` is wholly queued or stopped; undefined when none is. */
	whenFileSent(id: string): Promise<void> | undefined {
		return this.#tcp.whenFileSent(id);
	}

	/** Resolves when `bytes` more fit in connection `id`'s queue (see TcpConnection.whenRoom); undefined when they fit now or there is no such connection. */
	whenQueueHasRoom(id: string, bytes: number): Promise<void> | undefined {
		return this.#tcp.whenQueueHasRoom(id, bytes);
	}

	/** Half-close a connection: our FIN goes after what is queued; we keep reading. */
	shutdown(id: string, options: CommandOptions = {}): boolean {
		return this.#routed('shutdown', {id, ...options}, () => this.#tcp.shutdown(id, options.ref), id);
	}

	/** Abort a connection with a RST. */
	reset(id: string, options: CommandOptions = {}): boolean {
		return this.#routed('reset', {id, ...options}, () => this.#tcp.reset(id, options.ref), id);
	}

	/** Close a listener (it stops accepting) or a connection (FIN, then release). */
	close(id: string, options: CommandOptions = {}): boolean {
		this.#noteCommand('close', {id, ...options});
		if (this.#tcp.closeListener(id, options.ref)) {
			return true;
		}

		if (this.#udp.has(id)) {
			return this.#command(undefined, options, () => this.#udp.close(id, options.ref));
		}

		return this.#command(id, options, () => this.#tcp.close(id, options.ref));
	}

	/**
	 * Close everything gracefully: listeners stop, connections send FIN after
	 * what is queued and are destroyed after `graceMs` at the latest.
	 * Resolves when every socket is gone.
	 */
	async closeAll(graceMs = 1500): Promise<void> {
		this.#tcp.stopFiles('closing everything');
		this.#workbench.stop();
		this.#tcp.closeAll(graceMs);

		this.#udp.closeAll();
		// Peers remove us at once on our bye instead of waiting three intervals.
		void this.#discovery.stop();
		this.#system.stop();
		this.#lan.stop();
		this.#probes.closeAll();
		await this.whenAllClosed();
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
		return this.#routed('udp-connect', {socket: id, host, port, ...options}, () => this.#udp.connect(id, host, port, options.ref));
	}

	/** Turn SO_BROADCAST on or off on a UDP socket (sending to a broadcast address without it fails with EACCES). */
	setBroadcast(id: string, isOn: boolean, options: CommandOptions = {}): boolean {
		return this.#routed('broadcast', {socket: id, on: isOn, ...options}, () => this.#udp.setBroadcast(id, isOn, options.ref));
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
		return this.#routed('discover', {...options}, () => this.#discovery.start(options));
	}

	/** Browse the LAN protocols (mDNS, SSDP, Syncthing) beside netdash's own: `service-*` events follow. */
	browseServices(options: LanOptions): void {
		void this.#lan.start(options);
	}

	/** Probe for peers now. */
	probe(options: CommandOptions = {}): boolean {
		return this.#routed('probe', {...options}, () => this.#discovery.probe(options.ref));
	}

	/** One datagram to a broadcast or multicast address, then `probe-results` with every responder (core/discovery/probe/). */
	probeBroadcast(options: BroadcastProbeOptions): boolean {
		this.#noteCommand('probe-broadcast', {host: options.host, port: options.port, windowMs: options.windowMs, ref: options.ref}, options.bytes);
		return this.#command(undefined, options, () => this.#probes.start(options));
	}

	/** Say bye to peers and stop discovery; `discovery-stopped` follows. */
	stopDiscovery(options: CommandOptions = {}): boolean {
		this.#noteCommand('stop-discovery', {...options});
		return this.#command(undefined, options, () => {
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
		return this.#routed('watch-sockets', {intervalMs, ...options}, () => this.#system.watch(intervalMs, options.ref));
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
		return this.#routed('unwatch-sockets', {...options}, () => this.#system.unwatch());
	}

	/** Exact discovery counters of the current (or last) run. */
	get discoveryStats(): Readonly<DiscoveryStats> | undefined {
		return this.#discovery.stats;
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
			this.#tcp.setReadingPaused(isPaused);
			this.#udp.setHeld(isPaused);
		}
	}

	/** Stop the core's own timers (sockets are closed by closeAll). */
	dispose(): void {
		clearInterval(this.#watchTimer);
	}

	/** Once a second: stalled queues, open files near the limit while anything listens, and memory a burst left taken. */
	#watch(): void {
		if (this.#readOnly !== undefined) {
			return;
		}

		const now = Date.now();
		if (this.#stallTimeoutMs > 0) {
			this.#tcp.checkStalls(now, this.#stallTimeoutMs);
		}

		// Open files run out silently for accepts (FACTS.md): watched while anything listens.
		if (this.#tcp.hasListeners) {
			this.#resources.check(this.openSockets);
		}

		this.#resources.checkKernelDrops([...this.#lan.ports, ...this.#discovery.ports]);
		this.#udp.reportDrops();
		this.#memoryReturn?.check();
	}

	/** Ids of open connections, in order of creation. */
	connectionIds(): string[] {
		return this.#tcp.connectionIds();
	}

	/** Ids of open listeners, in order of creation. */
	listenerIds(): string[] {
		return this.#tcp.listenerIds();
	}

	#notifyClosed(): void {
		if (this.openSockets === 0) {
			for (const resolve of this.#closeWaiters) {
				resolve();
			}

			this.#closeWaiters.clear();
		}
	}

	/** Note a command, run it, and say whether it was carried out. */
	#routed(cmd: string, fields: Record<string, unknown>, action: () => void, target?: string): boolean {
		this.#noteCommand(cmd, fields);
		return this.#command(target, fields as CommandOptions, action);
	}

	/** Run a command already noted (or never noted, as sendFile), and say whether it was carried out; `target` is the socket it was for. */
	#command(target: string | undefined, options: CommandOptions, action: () => void): boolean {
		return (
			this.#run(
				options.ref,
				() => {
					action();
					return true;
				},
				target,
			) ?? false
		);
	}

	#noteCommand(cmd: string, fields: Record<string, unknown>, data?: Buffer): void {
		if (this.#commandTaps.size === 0) {
			return;
		}

		const record = commandRecord(cmd, fields, data);
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
			if (this.#readOnly !== undefined) {
				throw new NetdashError('READ_ONLY', this.#readOnly);
			}

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
