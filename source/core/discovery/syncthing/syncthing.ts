/**
 * Syncthing glue: listens passively on UDP 21027 (broadcasts; SO_REUSEADDR,
 * so a Syncthing on this host keeps working) and reports each device that
 * announces itself. It never sends.
 */
import {performance} from 'node:perf_hooks';
import type {Endpoint} from '../../events.js';
import {LanGate, type LanContext, type LanProtocol} from '../services/lan-protocol.js';
import {MulticastSocket, boundPorts} from '../services/multicast-socket.js';
import {SYNCTHING_PORT, decodeAnnounce, shortDeviceId} from './codec.js';

/** Syncthing announces every 30 s; a device is trusted for three of them. */
export const SYNCTHING_LIFETIME_MS = 90_000;

/** Passive Syncthing local discovery. */
export class SyncthingDiscovery implements LanProtocol {
	readonly protocol = 'syncthing' as const;
	readonly #context: LanContext;
	readonly #lifetimeMs: number;
	readonly #port: number;
	#socket: MulticastSocket | undefined;
	#gate: LanGate | undefined;

	/** `maxTtlMs` shortens the lifetime; `port` is 21027 except in tests. */
	constructor(context: LanContext, options: {maxTtlMs?: number} = {}, port = SYNCTHING_PORT) {
		this.#context = context;
		this.#lifetimeMs = Math.min(SYNCTHING_LIFETIME_MS, options.maxTtlMs ?? SYNCTHING_LIFETIME_MS);
		this.#port = port;
	}

	get interfaces(): string[] {
		return [];
	}

	get ports(): number[] {
		return boundPorts(this.#socket);
	}

	async start(now: number): Promise<boolean> {
		this.#gate = new LanGate(this.#context, 'syncthing', now);
		this.#socket = new MulticastSocket(this.#context.bus, {id: 'syncthing', port: this.#port, onMessage: (data, from) => {
			this.#receive(data, from);
		}});
		return this.#socket.listening();
	}

	tick(): void {
		this.#gate?.flush(performance.now());
	}

	close(): void {
		this.#gate?.flush(performance.now(), true);
		this.#socket?.close();
		this.#socket = undefined;
	}

	#receive(data: Buffer, from: Endpoint): void {
		const gate = this.#gate!;
		const monotonic = performance.now();
		if (!gate.admit(from, data.length, monotonic)) {
			return;
		}

		const announce = decodeAnnounce(data);
		if ('error' in announce) {
			gate.drop(announce.error, from, data.length, monotonic);
			return;
		}

		const deviceId = announce.id.toString('hex');
		// `dynamic` addresses (tcp://:22000) mean "the address you heard me from".
		const port = /:(\d{1,5})$/.exec(announce.addresses[0] ?? '')?.[1];
		this.#context.table.see({
			protocol: 'syncthing',
			key: deviceId,
			name: shortDeviceId(announce.id),
			serviceType: 'syncthing',
			host: from.address,
			address: from.address,
			port: port === undefined ? null : Number(port),
			txt: {},
			details: {deviceId, addresses: announce.addresses.join(' '), instanceId: announce.instanceId},
		}, this.#lifetimeMs, Date.now());
	}
}
