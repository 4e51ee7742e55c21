/**
 * SSDP glue: a listening socket on 239.255.255.250:1900 (shared with any
 * UPnP stack on this host) for NOTIFY, a search socket on an ephemeral port
 * for M-SEARCH and its unicast answers (port 1900 is shared, and the kernel
 * gives a unicast datagram to one of the sockets on it only), the flood
 * gate, the browser and the bounded description fetcher. It never answers
 * a search.
 */
import {performance} from 'node:perf_hooks';
import type {Endpoint} from '../../events.js';
import {LanGate, type LanContext, type LanProtocol} from '../services/lan-protocol.js';
import {MulticastSocket, boundPorts} from '../services/multicast-socket.js';
import {SsdpBrowser, type SsdpBrowserLimits} from './browser.js';
import {SSDP_GROUP, SSDP_PORT, decodeSsdp, encodeSearch} from './codec.js';
import {DescriptionFetcher, type FetchLimits} from './fetch.js';

/** UDA 1.1 §1.1.2: multicast SSDP with a TTL of 2 by default. */
const SSDP_TTL = 2;

/** SSDP / UPnP browsing on every non-loopback interface. */
export class SsdpDiscovery implements LanProtocol {
	readonly protocol = 'ssdp' as const;
	readonly #context: LanContext;
	readonly #limits: Partial<SsdpBrowserLimits>;
	readonly #port: number;
	readonly #fetcher: DescriptionFetcher;
	#listener: MulticastSocket | undefined;
	#searcher: MulticastSocket | undefined;
	#browser: SsdpBrowser | undefined;
	#gate: LanGate | undefined;
	#isOpen = true;

	/** `port` is 1900 except in tests that cannot have it. */
	constructor(context: LanContext, limits: Partial<SsdpBrowserLimits> = {}, port = SSDP_PORT, fetchLimits: Partial<FetchLimits> = {}) {
		this.#context = context;
		this.#limits = limits;
		this.#port = port;
		this.#fetcher = new DescriptionFetcher(fetchLimits);
	}

	get interfaces(): string[] {
		return this.#listener?.interfaces ?? [];
	}

	get ports(): number[] {
		return boundPorts(this.#listener, this.#searcher);
	}

	/** The browser's counters (searches seen and never answered, fetches, byes). */
	get counts(): SsdpBrowser['counts'] | undefined {
		return this.#browser?.counts;
	}

	async start(now: number): Promise<boolean> {
		const gate = new LanGate(this.#context, 'ssdp', now);
		const onMessage = (data: Buffer, from: Endpoint) => {
			this.#receive(data, from);
		};

		const listener = new MulticastSocket(this.#context.bus, {id: 'ssdp', port: this.#port, group: SSDP_GROUP, ttl: SSDP_TTL, onMessage});
		const searcher = new MulticastSocket(this.#context.bus, {id: 'ssdp', port: 0, group: SSDP_GROUP, isMember: false, groupPort: this.#port, ttl: SSDP_TTL, onMessage});
		const browser = new SsdpBrowser(this.#context.table, {
			search(st) {
				searcher.send(encodeSearch(st));
			},
			fetch: (key, location, sender) => {
				void this.#fetcher.fetch(location, sender).then((result) => {
					if (this.#isOpen) {
						browser.described(key, result, Date.now());
					}
				});
			},
		}, this.#limits);
		this.#gate = gate;
		this.#listener = listener;
		this.#searcher = searcher;
		this.#browser = browser;
		const [isListening, isSearching] = await Promise.all([listener.listening(), searcher.listening()]);
		if (!isListening || !isSearching) {
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
		this.#isOpen = false;
		this.#gate?.flush(performance.now(), true);
		this.#fetcher.close();
		this.#listener?.close();
		this.#searcher?.close();
		this.#listener = undefined;
		this.#searcher = undefined;
	}

	#receive(data: Buffer, from: Endpoint): void {
		const gate = this.#gate!;
		const monotonic = performance.now();
		if (!gate.admit(from, data.length, monotonic)) {
			return;
		}

		const message = decodeSsdp(data);
		if ('error' in message) {
			gate.drop(message.error, from, data.length, monotonic);
			return;
		}

		this.#browser!.receive(message, from.address, Date.now());
	}
}
