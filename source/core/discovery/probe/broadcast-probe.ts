/**
 * One datagram to a broadcast (or multicast) address, then every reply
 * within a window: who answers on this subnet, and how fast. Each responder
 * (address and port) is one row with its first round trip and a count of
 * its replies, never one row per reply, so a chatty or hostile responder
 * costs a counter, not memory. Its own socket per probe, closed when the
 * window ends; the result is one `probe-results` event.
 */
import dgram from 'node:dgram';
import {performance} from 'node:perf_hooks';
import type {Bus} from '../../bus.js';
import {NetdashError, oneLine} from '../../errors.js';
import type {Endpoint, ProbeResponder} from '../../events.js';
import {listInterfaces} from '../../interfaces.js';
import {udpDropsByPort} from '../../resources.js';
import {admitEveryone, type Refusal} from '../../udp/admission.js';
import {askBurstBuffer} from '../../udp/receive-buffer.js';

/** What to send, where, and how long to listen. */
export type BroadcastProbeOptions = {
	/** A broadcast or multicast address; every interface's directed broadcast when left out. */
	host?: string;
	port: number;
	bytes: Buffer;
	/** How long replies are collected after the send. @default 2000 */
	windowMs?: number;
	ref?: string;
};

/** Responders listed per probe; more are counted in `unlisted`. */
export const maxResponders = 256;
/** Bytes of a responder's first reply kept. */
const keptBytes = 64;

function isMulticast(address: string): boolean {
	const first = Number(address.split('.')[0]);
	return first >= 224 && first <= 239;
}

/** The kernel's drop count of a bound socket on a port of its own (undefined when unbound, or off Linux). */
function socketDrops(socket: dgram.Socket): number | undefined {
	let port: number;
	try {
		port = socket.address().port;
	} catch {
		return undefined;
	}

	return udpDropsByPort(new Set([port])).get(port);
}

/** The probes in flight. */
export class BroadcastProbes {
	readonly #bus: Bus;
	/** The listeners' allow/deny rules (`--allow` / `--deny`): a refused responder is counted in `refused`, never listed. */
	readonly #refusal: Refusal;
	readonly #open = new Map<string, {finish: () => void; timer: NodeJS.Timeout | undefined}>();
	#next = 1;

	constructor(bus: Bus, refusal: Refusal = admitEveryone) {
		this.#bus = bus;
		this.#refusal = refusal;
	}

	/** Probe sockets open now. */
	get size(): number {
		return this.#open.size;
	}

	/**
	 * Send the datagram and collect replies; returns the probe's id (`P1`, …).
	 * @throws NetdashError `NO_BROADCAST` when no interface has a broadcast address and none was named.
	 */
	start(options: BroadcastProbeOptions): string {
		const interfaces = listInterfaces().filter((info) => !info.isLoopback);
		const addresses = options.host === undefined ? [...new Set(interfaces.flatMap((info) => (info.broadcast === undefined ? [] : [info.broadcast])))] : [options.host];
		if (addresses.length === 0) {
			throw new NetdashError('NO_BROADCAST', 'no interface has a broadcast address: name one, e.g. :probe 10.0.0.255:9999 hello');
		}

		const id = `P${this.#next++}`;
		const targets: Endpoint[] = addresses.map((address) => ({address, port: options.port}));
		const windowMs = options.windowMs ?? 2000;
		const ref = options.ref === undefined ? {} : {ref: options.ref};
		const responders = new Map<string, ProbeResponder>();
		let replies = 0;
		let unlisted = 0;
		let refused = 0;
		let sentAt = 0;
		let error: {code: string; message: string} | undefined;
		// Attach the error handler first: a socket error must never reach the process.
		const socket = dgram.createSocket({type: 'udp4', reuseAddr: false});
		const entry: {finish: () => void; timer: NodeJS.Timeout | undefined} = {finish: () => undefined, timer: undefined};
		const finish = () => {
			if (!this.#open.delete(id)) {
				return;
			}

			clearTimeout(entry.timer);
			// Replies the kernel dropped because the buffer was full (every host answers at once): read before the socket goes.
			const kernelDrops = socketDrops(socket);
			socket.close();
			this.#bus.emit({type: 'probe-results', probe: id, targets, bytes: options.bytes.length, windowMs, replies, unlisted, refused, responders: [...responders.values()], ...(kernelDrops === undefined ? {} : {kernelDrops}), ...(error ? {error} : {}), ...ref});
		};

		entry.finish = finish;
		this.#open.set(id, entry);
		socket.on('error', (failure: NodeJS.ErrnoException) => {
			error ??= {code: failure.code ?? 'ERROR', message: oneLine(failure.message)};
			finish();
		});
		socket.on('message', (data, from) => {
			if (this.#refusal(from.address) !== undefined) {
				// A denied host is not heard here either: counted, never listed, its bytes never shown.
				refused++;
				return;
			}

			replies++;
			const key = `${from.address}:${from.port}`;
			const known = responders.get(key);
			if (known) {
				known.replies++;
				return;
			}

			if (responders.size >= maxResponders) {
				unlisted++;
				return;
			}

			responders.set(key, {from: {address: from.address, port: from.port}, rttMs: Math.round((performance.now() - sentAt) * 1000) / 1000, replies: 1, bytes: data.length, base64: data.subarray(0, keptBytes).toString('base64')});
		});
		socket.bind(0, '0.0.0.0', () => {
			askBurstBuffer(socket);
			// Broadcast and multicast options only once bound (EBADF before: FACTS.md).
			socket.setBroadcast(true);
			const [first] = interfaces;
			if (addresses.some((address) => isMulticast(address)) && first) {
				// Without a default route a multicast send is ENETUNREACH until an interface is picked.
				socket.setMulticastInterface(first.address);
				socket.setMulticastTTL(1);
			}

			sentAt = performance.now();
			let pending = addresses.length;
			for (const address of addresses) {
				socket.send(options.bytes, options.port, address, (failure) => {
					if (failure) {
						const code = (failure as NodeJS.ErrnoException).code ?? 'ERROR';
						error ??= {code, message: oneLine(`probe to ${address}:${options.port}: ${failure.message}`)};
					}

					if (--pending === 0 && error && responders.size === 0 && addresses.length === 1) {
						finish();
					}
				});
			}

			entry.timer = setTimeout(finish, windowMs);
		});
		return id;
	}

	/** End every probe now: each reports what came so far. */
	closeAll(): void {
		for (const entry of [...this.#open.values()]) {
			entry.finish();
		}
	}
}
