/**
 * mDNS glue: the socket on 224.0.0.251:5353 (shared with any responder on
 * this host), the flood gate, the codec and the browser. It only ever sends
 * queries; it never answers one.
 */
import {performance} from 'node:perf_hooks';
import type {Endpoint} from '../../events.js';
import {LanGate, type LanContext, type LanProtocol} from '../services/lan-protocol.js';
import {MulticastSocket} from '../services/multicast-socket.js';
import {MdnsBrowser, type MdnsBrowserLimits} from './browser.js';
import {MDNS_GROUP, MDNS_PORT, decodeMdns, encodeQuery} from './codec.js';

/** mDNS / DNS-SD browsing on every non-loopback interface. */
export class MdnsDiscovery implements LanProtocol {
	readonly protocol = 'mdns' as const;
	readonly #context: LanContext;
	readonly #limits: Partial<MdnsBrowserLimits>;
	readonly #port: number;
	#socket: MulticastSocket | undefined;
	#browser: MdnsBrowser | undefined;
	#gate: LanGate | undefined;

	/** `port` is 5353 except in tests that cannot have it. */
	constructor(context: LanContext, limits: Partial<MdnsBrowserLimits> = {}, port = MDNS_PORT) {
		this.#context = context;
		this.#limits = limits;
		this.#port = port;
	}

	get interfaces(): string[] {
		return this.#socket?.interfaces ?? [];
	}

	/** The browser's counters (queries seen and never answered, responses, goodbyes). */
	get counts(): MdnsBrowser['counts'] | undefined {
		return this.#browser?.counts;
	}

	async start(now: number): Promise<boolean> {
		const gate = new LanGate(this.#context, 'mdns', now);
		const socket = new MulticastSocket(this.#context.bus, {id: 'mdns', port: this.#port, group: MDNS_GROUP, onMessage: (data, from) => {
			this.#receive(data, from);
		}});
		const browser = new MdnsBrowser(this.#context.table, (questions) => {
			socket.send(encodeQuery(questions));
		}, this.#limits);
		this.#gate = gate;
		this.#socket = socket;
		this.#browser = browser;
		if (!await socket.listening()) {
			return false;
		}

		browser.start(Date.now());
		return true;
	}

	tick(now: number): void {
		this.#browser?.tick(now);
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

		const decoded = decodeMdns(data);
		if ('reason' in decoded) {
			gate.drop(decoded.reason, from, data.length, monotonic);
			return;
		}

		// RFC 6762 §11: link-local responders send from port 5353; anything else is a legacy or spoofed answer.
		if (decoded.packet.type === 'response' && from.port !== MDNS_PORT && from.port !== this.#port) {
			gate.drop('bad-port', from, data.length, monotonic);
			return;
		}

		this.#browser!.receive(decoded.packet, from, Date.now());
	}
}
