import dgram from 'node:dgram';
import os from 'node:os';
import {performance} from 'node:perf_hooks';
import type {Bus} from '../bus.js';
import {NetdashError, errorCode, explainSocketError, formatAddress, oneLine} from '../errors.js';
import type {Endpoint} from '../events.js';
import {interfaceFor, listInterfaces, type InterfaceInfo} from '../interfaces.js';
import {admitEveryone, type Refusal} from '../udp/admission.js';
import {askBurstBuffer} from '../udp/receive-buffer.js';
import {clampName, randomInstanceId, randomRequestId} from './codec.js';
import {sourceClassifier, type SourceKind} from './source-address.js';
import {DEFAULT_DISCOVERY_PORT, DEFAULT_INTERVAL_MS, DiscoveryProtocol, type DiscoveryLimits, type DiscoveryStats} from './protocol.js';

/** How discovery runs; every field has a default. */
export type DiscoveryOptions = {
	/** UDP port every instance binds and broadcasts to. @default 47474 */
	port?: number;
	/** The announced name, cut to 64 UTF-8 bytes. @default os.hostname() */
	name?: string;
	/** Time between announces. @default 5000 */
	intervalMs?: number;
	/**
	 * Where announces and probes go: addresses (on the discovery port) or
	 * `address:port`. @default the directed broadcast of every non-loopback IPv4 interface
	 */
	broadcast?: string[];
	/** Bounds on peers, sources and rates (see protocol.ts). */
	limits?: Partial<DiscoveryLimits>;
	/** Echoed on `discovery-started` (or on the failure). */
	ref?: string;
};

/** Discovery's state: off → starting → running → stopping → off. */
export type DiscoveryState = 'off' | 'starting' | 'running' | 'stopping';

/** The id `socket-failed` names for the discovery socket. */
export const DISCOVERY_TARGET = 'discovery';

/** How long a `bye` may take to leave before the socket is closed anyway. */
const BYE_GRACE_MS = 300;
/** Distinct send failures remembered, so a failing target is reported once, not every interval. */
const MAX_SEND_FAILURES = 64;
/** How long the list of interfaces (which sources are answerable) is trusted before it is read again. */
const INTERFACES_TTL_MS = 2000;

function isLoopback(address: string): boolean {
	return address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.');
}

/** Targets from `--broadcast-address` values: `10.0.0.255` or `10.0.0.255:47474`. */
export function parseTargets(values: readonly string[], port: number): Endpoint[] {
	return values.map((value) => {
		const match = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(value.trim());
		const targetPort = match?.[2] === undefined ? port : Number(match[2]);
		if (!match || match[1]!.split('.').some((part) => Number(part) > 255) || targetPort < 1 || targetPort > 65_535) {
			throw new NetdashError('BAD_ADDRESS', `a broadcast address is an IPv4 address, optionally with :port, not ${JSON.stringify(value).slice(0, 40)}`);
		}

		return {address: match[1]!, port: targetPort};
	});
}

/** The directed broadcast of every non-loopback IPv4 interface, once each. */
export function defaultTargets(port: number, interfaces: InterfaceInfo[] = listInterfaces()): Endpoint[] {
	const addresses = new Set(interfaces.filter((info) => !info.isLoopback && info.broadcast).map((info) => info.broadcast!));
	return [...addresses].map((address) => ({address, port}));
}

/**
 * Glue between the discovery protocol, its `dgram` sockets and the bus. The
 * broadcast socket binds `0.0.0.0` with SO_REUSEADDR (a socket bound to a
 * unicast address never receives broadcasts) and turns SO_BROADCAST on once
 * listening; it sends only announces, probes and byes to the targets.
 * Answers (replies, challenges) leave from a reply socket per interface
 * address, bound to that address on the same port and never given
 * SO_BROADCAST: should a broadcast address ever pass the source check, the
 * kernel refuses the send (EACCES) instead of reflecting it to the subnet.
 * Being more specific, a reply socket also receives the unicast datagrams
 * sent to its address; both kinds feed the one protocol. It also follows
 * `listener-opened` / `listener-closed` on the bus from the start, to
 * announce the TCP ports this instance offers: listeners on a non-loopback
 * address (a peer cannot reach 127.0.0.1).
 */
export class Discovery {
	#state: DiscoveryState = 'off';
	#socket: dgram.Socket | undefined;
	#protocol: DiscoveryProtocol | undefined;
	#timer: NodeJS.Timeout | undefined;
	#targets: Endpoint[] = [];
	/** True once this run's socket was listening (a run that never was ends as `failed`). */
	#hasListened = false;
	#pendingSends = 0;
	#whenSent: Array<() => void> = [];
	#whenClosed: Array<() => void> = [];
	readonly #sendFailures = new Map<string, string>();
	readonly #listeners = new Map<string, Endpoint>();
	/** Reply sockets by interface address (see the class comment). */
	readonly #replySockets = new Map<string, dgram.Socket>();
	#interfaces: InterfaceInfo[] = [];
	#classify: (address: string) => SourceKind = sourceClassifier([]);
	#interfacesReadAt = Number.NEGATIVE_INFINITY;
	/** The port of this run (reply sockets bind it too). */
	#port = DEFAULT_DISCOVERY_PORT;
	readonly #bus: Bus;
	readonly #onClosed: () => void;
	readonly #refusal: Refusal;

	/** `ref` of the stop-discovery command, echoed on `discovery-stopped`. */
	#stopRef: string | undefined;

	/** `onClosed` is called after the discovery socket is gone; `refusal` is the allow/deny check applied to every datagram. */
	constructor(bus: Bus, onClosed: () => void, refusal: Refusal = admitEveryone) {
		this.#bus = bus;
		this.#onClosed = onClosed;
		this.#refusal = refusal;
		bus.subscribe((event) => {
			if (event.type === 'listener-opened') {
				this.#listeners.set(event.listener, {address: event.address, port: event.port});
			} else if (event.type === 'listener-closed') {
				this.#listeners.delete(event.listener);
			}
		}, {borrows: true});
	}

	/** Current state. */
	get state(): DiscoveryState {
		return this.#state;
	}

	/** The discovery port while running (its socket and the reply sockets share it), for the kernel's drop counts. */
	get ports(): number[] {
		return this.#state === 'running' ? [this.#port] : [];
	}

	/** True while the discovery socket exists. */
	get isOpen(): boolean {
		return this.#socket !== undefined;
	}

	/** Exact counters of this run (undefined before the first start). */
	get stats(): Readonly<DiscoveryStats> | undefined {
		return this.#protocol?.stats;
	}

	/** The protocol of this run, for its peer table (undefined before the first start). */
	get protocol(): DiscoveryProtocol | undefined {
		return this.#protocol;
	}

	/** TCP ports offered to peers: listeners on a non-loopback address. */
	offeredPorts(): number[] {
		return [...this.#listeners.values()].filter((listener) => !isLoopback(listener.address)).map((listener) => listener.port);
	}

	/** Bind the discovery port and start announcing; `discovery-started` follows (or `socket-failed` and `discovery-stopped`). */
	start(options: DiscoveryOptions = {}): void {
		if (this.#state !== 'off') {
			throw new NetdashError('DISCOVERY_RUNNING', `discovery is already ${this.#state}`);
		}

		const port = options.port ?? DEFAULT_DISCOVERY_PORT;
		if (!Number.isInteger(port) || port < 1 || port > 65_535) {
			throw new NetdashError('BAD_PORT', `discovery port ${port} is out of range (1–65535)`);
		}

		const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
		if (!Number.isFinite(intervalMs) || intervalMs < 100) {
			throw new NetdashError('BAD_COMMAND', `the discovery interval must be at least 0.1 s, not ${intervalMs / 1000} s`);
		}

		const targets = options.broadcast === undefined ? defaultTargets(port) : parseTargets(options.broadcast, port);
		const protocol = new DiscoveryProtocol({
			instanceId: randomInstanceId(),
			name: clampName(options.name ?? os.hostname()),
			intervalMs,
			...(options.limits ? {limits: options.limits} : {}),
			now: () => performance.timeOrigin + performance.now(),
			random: Math.random,
			requestId: randomRequestId,
			ports: () => this.offeredPorts(),
			send: (bytes, to) => {
				this.#send(bytes, to);
			},
			emit: (event) => {
				this.#bus.emit(event);
			},
			refusal: this.#refusal,
			classify: (address) => {
				this.#currentInterfaces();
				return this.#classify(address);
			},
		});
		this.#protocol = protocol;
		this.#targets = targets;
		this.#sendFailures.clear();
		this.#hasListened = false;
		this.#state = 'starting';
		const socket = dgram.createSocket({type: 'udp4', reuseAddr: true});
		this.#socket = socket;
		const {ref} = options;
		socket.on('error', (error) => {
			this.#onError(error, port, ref);
		});
		socket.on('message', (message, rinfo) => {
			protocol.receive(message, {address: rinfo.address, port: rinfo.port});
		});
		socket.on('listening', () => {
			this.#onListening(protocol, port, ref);
		});
		socket.on('close', () => {
			this.#onClose(socket);
		});
		socket.bind({port, address: '0.0.0.0'});
	}

	/** Probe now (resent with backoff while nobody answers); `ref` is echoed on `probe-sent`. */
	probe(ref?: string): void {
		if (this.#state !== 'running' || !this.#protocol) {
			throw new NetdashError('DISCOVERY_OFF', 'discovery is not running: start it first (--discover)');
		}

		this.#protocol.probe(ref);
	}

	/** Say bye, then close the socket. Resolves once it is closed; `discovery-stopped` (with `ref`) is emitted by then. */
	async stop(ref?: string): Promise<void> {
		const socket = this.#socket;
		if (!socket) {
			return;
		}

		this.#stopRef ??= ref;

		const closed = new Promise<void>((resolve) => {
			this.#whenClosed.push(resolve);
		});
		if (this.#state === 'stopping') {
			return closed;
		}

		const wasRunning = this.#state === 'running';
		this.#state = 'stopping';
		clearInterval(this.#timer);
		if (wasRunning) {
			this.#protocol?.stop();
			await this.#sent(BYE_GRACE_MS);
		}

		try {
			socket.close();
		} catch {
			this.#onClose(socket);
		}

		return closed;
	}

	/** Throws unless discovery can be stopped now. */
	assertRunning(): void {
		if (this.#state === 'off') {
			throw new NetdashError('DISCOVERY_OFF', 'discovery is not running');
		}
	}

	#onListening(protocol: DiscoveryProtocol, port: number, ref: string | undefined): void {
		if (this.#state !== 'starting' || !this.#socket) {
			return;
		}

		// Before the bind this throws EBADF (FACTS.md).
		this.#socket.setBroadcast(true);
		askBurstBuffer(this.#socket);
		this.#state = 'running';
		this.#port = port;
		this.#openReplySockets(protocol, port, this.#currentInterfaces());
		this.#hasListened = true;
		this.#bus.emit({
			type: 'discovery-started',
			port,
			instanceId: protocol.instanceId,
			name: protocol.name,
			intervalMs: protocol.intervalMs,
			targets: this.#targets,
			...(ref ? {ref} : {}),
		});
		if (this.#targets.length === 0) {
			this.#bus.emit({
				type: 'socket-failed',
				target: DISCOVERY_TARGET,
				code: 'NO_BROADCAST',
				message: 'no IPv4 interface with a broadcast address: announces go nowhere (name one with --broadcast-address)',
			});
		}

		protocol.start();
		// A tenth of the interval: expiry and probe resends land within 10 % of their time.
		const tickMs = Math.min(500, Math.max(20, protocol.intervalMs / 10));
		this.#timer = setInterval(() => {
			protocol.tick();
		}, tickMs);
	}

	/** The interfaces, read again at most every INTERFACES_TTL_MS (a datagram flood must not call getifaddrs each time). */
	#currentInterfaces(): InterfaceInfo[] {
		const now = performance.now();
		if (now - this.#interfacesReadAt >= INTERFACES_TTL_MS) {
			this.#interfaces = listInterfaces();
			this.#classify = sourceClassifier(this.#interfaces);
			this.#interfacesReadAt = now;
			if (this.#state === 'running' && this.#protocol) {
				// An interface that came up since the start gets its reply socket, so its subnet is answered too.
				this.#openReplySockets(this.#protocol, this.#port, this.#interfaces);
			}
		}

		return this.#interfaces;
	}

	/** One reply socket per IPv4 interface address, on the discovery port, without SO_BROADCAST. */
	#openReplySockets(protocol: DiscoveryProtocol, port: number, interfaces: InterfaceInfo[]): void {
		for (const info of interfaces) {
			if (this.#replySockets.has(info.address)) {
				continue;
			}

			const socket = dgram.createSocket({type: 'udp4', reuseAddr: true});
			this.#replySockets.set(info.address, socket);
			socket.on('error', (error) => {
				// Not fatal: probes from this subnet go unanswered, the rest of discovery runs on.
				if (this.#replySockets.get(info.address) === socket) {
					this.#replySockets.delete(info.address);
				}

				this.#reportSendFailure(formatAddress(info.address, port), error);
				try {
					socket.close();
				} catch {
					// Already closed.
				}
			});
			socket.on('message', (message, rinfo) => {
				protocol.receive(message, {address: rinfo.address, port: rinfo.port});
			});
			socket.bind({port, address: info.address}, () => {
				askBurstBuffer(socket);
			});
		}
	}

	#closeReplySockets(): void {
		for (const socket of this.#replySockets.values()) {
			try {
				socket.close();
			} catch {
				// Never bound or already closed.
			}
		}

		this.#replySockets.clear();
	}

	#send(bytes: Buffer, to: Endpoint | 'targets'): void {
		const broadcastSocket = this.#socket;
		if (!broadcastSocket) {
			return;
		}

		let socket = broadcastSocket;
		if (to !== 'targets') {
			// Answers leave only from the reply socket of the subnet they go to (no SO_BROADCAST there).
			const info = interfaceFor(to.address, this.#currentInterfaces());
			const replySocket = info && this.#replySockets.get(info.address);
			if (!replySocket) {
				return;
			}

			socket = replySocket;
		}

		for (const target of to === 'targets' ? this.#targets : [to]) {
			const key = formatAddress(target.address, target.port);
			this.#pendingSends++;
			const callback = (error: Error | null) => {
				this.#pendingSends--;
				if (error) {
					this.#reportSendFailure(key, error);
				} else {
					this.#sendFailures.delete(key);
				}

				if (this.#pendingSends === 0) {
					for (const resolve of this.#whenSent.splice(0)) {
						resolve();
					}
				}
			};

			try {
				socket.send(bytes, target.port, target.address, callback);
			} catch (error) {
				callback(error as Error);
			}
		}
	}

	/** One report per target and code: a broken target would otherwise fail every interval. */
	#reportSendFailure(key: string, error: Error): void {
		const code = errorCode(error);
		if (this.#sendFailures.get(key) === code || this.#state === 'off') {
			return;
		}

		if (this.#sendFailures.size >= MAX_SEND_FAILURES) {
			this.#sendFailures.delete(this.#sendFailures.keys().next().value!);
		}

		this.#sendFailures.set(key, code);
		this.#bus.emit({type: 'socket-failed', target: DISCOVERY_TARGET, code, message: explainSocketError(code, {operation: 'send', address: key}, oneLine(error))});
	}

	async #sent(graceMs: number): Promise<void> {
		if (this.#pendingSends === 0) {
			return;
		}

		await new Promise<void>((resolve) => {
			const timer = setTimeout(resolve, graceMs);
			this.#whenSent.push(() => {
				clearTimeout(timer);
				resolve();
			});
		});
	}

	#onError(error: Error, port: number, ref: string | undefined): void {
		const code = errorCode(error);
		const isBinding = this.#state === 'starting';
		this.#bus.emit({
			type: 'socket-failed',
			target: DISCOVERY_TARGET,
			code,
			message: explainSocketError(code, {operation: isBinding ? 'bind' : 'receive', address: formatAddress('0.0.0.0', port)}, oneLine(error)),
			...(ref && isBinding ? {ref} : {}),
		});
		if (isBinding) {
			this.#state = 'stopping';
			try {
				this.#socket?.close();
			} catch {
				if (this.#socket) {
					this.#onClose(this.#socket);
				}
			}
		}
	}

	#onClose(socket: dgram.Socket): void {
		if (this.#socket !== socket) {
			return;
		}

		clearInterval(this.#timer);
		this.#timer = undefined;
		this.#socket = undefined;
		this.#closeReplySockets();
		this.#state = 'off';
		const stats = this.#protocol?.stats;
		this.#bus.emit({
			type: 'discovery-stopped',
			reason: this.#hasListened ? 'stopped' : 'failed',
			received: stats?.received ?? 0,
			dropped: stats?.droppedTotal ?? 0,
			...(this.#stopRef ? {ref: this.#stopRef} : {}),
		});
		this.#stopRef = undefined;
		for (const resolve of this.#whenClosed.splice(0)) {
			resolve();
		}

		this.#onClosed();
	}
}
