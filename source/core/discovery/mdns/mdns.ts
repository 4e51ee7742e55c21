/**
 * mDNS glue: the sockets on 224.0.0.251:5353 and, where IPv6 is up (an
 * interface has a link-local address), [ff02::fb]:5353, both shared with
 * any responder on this host; the flood gate, the codec and the browser.
 * Queries go out on both; answers from both feed one browser. It only ever
 * sends queries; it never answers one.
 */
import {performance} from 'node:perf_hooks';
import type {Endpoint} from '../../events.js';
import {LanGate, type LanContext, type LanProtocol} from '../services/lan-protocol.js';
import {MulticastSocket, boundPorts, lanLinkLocals} from '../services/multicast-socket.js';
import {MdnsBrowser, type MdnsBrowserLimits} from './browser.js';
import {MDNS_GROUP, MDNS_GROUP_V6, MDNS_PORT, decodeMdns, encodeQuery} from './codec.js';

/** Queries remembered to recognise their loopback copies: more than one burst of questions needs. */
const SENT_KEPT = 32;

/** mDNS / DNS-SD browsing on every non-loopback interface. */
export class MdnsDiscovery implements LanProtocol {
	readonly protocol = 'mdns' as const;
	readonly #context: LanContext;
	readonly #limits: Partial<MdnsBrowserLimits>;
	readonly #port: number;
	#socket: MulticastSocket | undefined;
	#socket6: MulticastSocket | undefined;
	#browser: MdnsBrowser | undefined;
	#gate: LanGate | undefined;
	/** Our last queries, byte for byte: the multicast loopback hands each back to us. */
	readonly #sent: Buffer[] = [];

	/** `port` is 5353 except in tests that cannot have it. */
	constructor(context: LanContext, limits: Partial<MdnsBrowserLimits> = {}, port = MDNS_PORT) {
		this.#context = context;
		this.#limits = limits;
		this.#port = port;
	}

	get interfaces(): string[] {
		return [...(this.#socket?.interfaces ?? []), ...(this.#socket6?.interfaces ?? [])];
	}

	get ports(): number[] {
		return boundPorts(this.#socket, this.#socket6);
	}

	/** The browser's counters (queries seen and never answered, responses, goodbyes). */
	get counts(): MdnsBrowser['counts'] | undefined {
		return this.#browser?.counts;
	}

	async start(now: number): Promise<boolean> {
		const gate = new LanGate(this.#context, 'mdns', now);
		const onMessage = (data: Buffer, from: Endpoint) => {
			this.#receive(data, from);
		};

		const socket = new MulticastSocket(this.#context.bus, {id: 'mdns', port: this.#port, group: MDNS_GROUP, onMessage});
		// IPv6 only where it is up: a host without it gets no socket and no failure.
		const socket6 = lanLinkLocals().length > 0 ? new MulticastSocket(this.#context.bus, {id: 'mdns6', port: this.#port, group: MDNS_GROUP_V6, family: 6, onMessage}) : undefined;
		const browser = new MdnsBrowser(this.#context.table, (questions) => {
			const query = encodeQuery(questions);
			this.#sent.push(query);
			if (this.#sent.length > SENT_KEPT) {
				this.#sent.shift();
			}

			socket.send(query);
			socket6?.send(query);
		}, this.#limits);
		this.#gate = gate;
		this.#socket = socket;
		this.#socket6 = socket6;
		this.#browser = browser;
		const [isListening, isListening6] = await Promise.all([socket.listening(), socket6?.listening() ?? false]);
		if (!isListening6 && socket6) {
			// Failed (a socket-failed said why): browse over IPv4 alone.
			socket6.close();
			this.#socket6 = undefined;
		}

		if (!isListening && !isListening6) {
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
		this.#socket6?.close();
		this.#socket = undefined;
		this.#socket6 = undefined;
	}

	#receive(data: Buffer, from: Endpoint): void {
		if (from.port === this.#port && this.#sent.some((query) => query.equals(data))) {
			// Our own query, looped back (a responder on this host must hear queries, so the loopback stays on):
			// not someone else's query, and not to be charged to our address's token bucket, which a
			// responder on this host shares. Another netdash asking the same is skipped too: queries are never answered.
			return;
		}

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
