/**
 * LAN discovery beyond netdash's own protocol: runs the chosen protocol
 * modules (mdns/, ssdp/, syncthing/) over one service table, so every one
 * of them reports the same `service-*` events.
 */
import type {Bus} from '../bus.js';
import type {ServiceProtocol} from '../events.js';
import {admitEveryone, type Refusal} from '../udp/admission.js';
import type {FloodLimits} from './limiter.js';
import {MdnsDiscovery} from './mdns/mdns.js';
import {DEFAULT_LAN_FLOOD, type LanContext, type LanProtocol} from './services/lan-protocol.js';
import {ServiceTable, type ServiceLimits} from './services/service-table.js';
import {SsdpDiscovery} from './ssdp/ssdp.js';
import {SyncthingDiscovery} from './syncthing/syncthing.js';

/** The LAN protocols this version runs. */
export const serviceProtocols: readonly ServiceProtocol[] = ['mdns', 'ssdp', 'syncthing'];

/** How LAN discovery runs. */
export type LanOptions = {
	protocols: readonly ServiceProtocol[];
	/** Trust an mDNS record (or an SSDP max-age) at most this long without hearing it again. */
	maxTtlMs?: number;
	limits?: Partial<ServiceLimits>;
	flood?: Partial<FloodLimits>;
	/** Ports, for tests that cannot have the standard ones. */
	ports?: Partial<Record<ServiceProtocol, number>>;
};

/** Timer of the table and the protocols: stale and expiry within a quarter second. */
const TICK_MS = 250;

/** The running LAN protocols; `start` while running restarts nothing that already runs. */
export class LanDiscovery {
	readonly #bus: Bus;
	readonly #refusal: Refusal;
	#table: ServiceTable | undefined;
	readonly #running = new Map<ServiceProtocol, LanProtocol>();
	#timer: NodeJS.Timeout | undefined;

	constructor(bus: Bus, refusal: Refusal = admitEveryone) {
		this.#bus = bus;
		this.#refusal = refusal;
	}

	/** True while a protocol socket is open. */
	get isOpen(): boolean {
		return this.#running.size > 0;
	}

	/** Local ports of the protocols' bound sockets. */
	get ports(): number[] {
		return [...this.#running.values()].flatMap((module) => module.ports);
	}

	/** The service table of this run. */
	get table(): ServiceTable | undefined {
		return this.#table;
	}

	/** Start the protocols not yet running; `services-browsing` follows once their sockets are bound. */
	async start(options: LanOptions): Promise<void> {
		const table = this.#table ?? new ServiceTable((event) => this.#bus.emit(event), options.limits);
		this.#table = table;
		const context: LanContext = {bus: this.#bus, table, refusal: this.#refusal, flood: {...DEFAULT_LAN_FLOOD, ...options.flood}};
		const ttl = options.maxTtlMs === undefined ? {} : {maxTtlMs: options.maxTtlMs};
		const started: LanProtocol[] = [];
		for (const protocol of options.protocols) {
			if (this.#running.has(protocol)) {
				continue;
			}

			const port = options.ports?.[protocol];
			const module = this.#make(protocol, context, ttl, port);
			this.#running.set(protocol, module);
			started.push(module);
		}

		this.#timer ??= setInterval(() => {
			this.#tick();
		}, TICK_MS);
		this.#timer.unref();
		const results = await Promise.all(started.map(async (module) => module.start(Date.now())));
		const bound = started.filter((_, index) => results[index]);
		for (const module of started.filter((_, index) => !results[index])) {
			module.close();
			this.#running.delete(module.protocol);
		}

		if (bound.length > 0) {
			this.#bus.emit({type: 'services-browsing', protocols: bound.map((module) => module.protocol), interfaces: [...new Set(bound.flatMap((module) => module.interfaces))]});
		}

		if (this.#running.size === 0) {
			this.#stopTimer();
		}
	}

	/** Close every protocol socket; services they found leave with reason `stopped`. */
	stop(): void {
		for (const [protocol, module] of this.#running) {
			module.close();
			this.#table?.clear(protocol);
		}

		this.#running.clear();
		this.#stopTimer();
	}

	#make(protocol: ServiceProtocol, context: LanContext, ttl: {maxTtlMs?: number}, port: number | undefined): LanProtocol {
		switch (protocol) {
			case 'mdns': {
				return new MdnsDiscovery(context, ttl, port);
			}

			case 'ssdp': {
				return new SsdpDiscovery(context, ttl, port);
			}

			case 'syncthing': {
				return new SyncthingDiscovery(context, ttl, port);
			}
		}
	}

	#tick(): void {
		const now = Date.now();
		for (const module of this.#running.values()) {
			module.tick(now);
		}

		this.#table?.tick(now);
	}

	#stopTimer(): void {
		clearInterval(this.#timer);
		this.#timer = undefined;
	}
}
