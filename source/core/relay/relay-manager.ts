import type net from 'node:net';
import type {Bus} from '../bus.js';
import {NetdashError} from '../errors.js';
import type {Endpoint} from '../events.js';
import {checkHost} from '../ports.js';
import type {TcpListener} from '../tcp/listener.js';
import type {UdpManager} from '../udp/udp-manager.js';
import {defaultRelayLimits, type RelayLimits} from './relay-layer.js';
import {Relay, type RelayHost, type RelayStep} from './relay.js';
import {DEFAULT_UDP_IDLE_MS, UdpForward} from './udp-forward.js';

/** Where a forward sends its clients, as commands give it. */
export type ForwardTarget = {host: string; port: number};

/**
 * Every relay of a core (issue 13): forwards' accepted clients become relays
 * R1, R2, …; UDP forwards' sessions share the sequence. The core keeps one
 * of these and routes `forward`, `forwardUdp` and `steer` to it.
 */
export class RelayManager {
	readonly #relays = new Map<string, Relay>();
	readonly #bus: Bus;
	readonly #udp: UdpManager;
	readonly #host: RelayHost;
	readonly #limits: RelayLimits;
	#next = 1;

	constructor(bus: Bus, udp: UdpManager, host: RelayHost, limits: RelayLimits = defaultRelayLimits) {
		this.#bus = bus;
		this.#udp = udp;
		this.#host = host;
		this.#limits = limits;
	}

	/**
	 * A forward's target as a listener keeps it.
	 *
	 * @throws NetdashError `BAD_ADDRESS` / `BAD_PORT` when it cannot be dialed.
	 */
	target(target: ForwardTarget): Endpoint {
		checkHost(target.host);
		if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65_535) {
			throw new NetdashError('BAD_PORT', `port ${target.port} is out of range (1–65535)`);
		}

		return {address: target.host, port: target.port};
	}

	/** A forward accepted `socket`: dial its target and relay between them. Synchronous, so handlers are on the socket at once. */
	accept(socket: net.Socket, listener: TcpListener): void {
		const id = this.#nextId();
		const relay = new Relay(this.#bus, this.#host, {
			id,
			socket,
			listener,
			target: listener.target!,
			limits: this.#limits,
			onEnded: (ended) => {
				this.#relays.delete(ended.id);
			},
		});
		this.#relays.set(id, relay);
	}

	/**
	 * Forward UDP `host:port` to `target` (udp-forward.ts): a session idle for
	 * `idleMs` (default: `fallbackIdleMs`, else 60 s) expires. Returns the forward's socket id.
	 */
	forwardUdp(host: string | undefined, port: number, target: ForwardTarget, options: {idleMs?: number; fallbackIdleMs: number; ref?: string}): string {
		const idleMs = options.idleMs ?? (options.fallbackIdleMs || DEFAULT_UDP_IDLE_MS);
		return new UdpForward(this.#bus, this.#udp, {
			host,
			port,
			target: this.target(target),
			idleMs,
			nextRelay: () => this.#nextId(),
			...(options.ref ? {ref: options.ref} : {}),
		}).id;
	}

	/** Take a step on relay `id` (see {@link Relay.steer}); throws UNKNOWN_ID when there is none. */
	steer(id: string, step: RelayStep, ref?: string): void {
		const relay = this.#relays.get(id);
		if (!relay) {
			throw new NetdashError('UNKNOWN_ID', `no open relay ${JSON.stringify(id)}${this.#relays.size > 0 ? ` (open: ${[...this.#relays.keys()].slice(0, 8).join(', ')})` : ' (none is open)'}`);
		}

		relay.steer(step, ref);
	}

	/** A relay by id. */
	get(id: string): Relay | undefined {
		return this.#relays.get(id);
	}

	/** Relays still open. */
	get size(): number {
		return this.#relays.size;
	}

	#nextId(): string {
		return `R${this.#next++}`;
	}
}
