import dgram from 'node:dgram';
import {isIPv6} from 'node:net';
import {performance} from 'node:perf_hooks';
import type {Bus} from '../bus.js';
import {randomRequestId} from '../discovery/codec.js';
import {NetdashError, errorCode, explainSocketError, formatAddress, oneLine, type SocketContext} from '../errors.js';
import type {Endpoint} from '../events.js';
import {routeMtu} from './route-mtu.js';
import {backoffDelay, decodeHeader, encodeReply, encodeRequest, REQUEST_HEADER_BYTES, type RequestHeader} from './request.js';

/**
 * A UDP socket's state, changed only in the named transitions:
 * binding → bound → connecting → connected → closed, and binding → failed
 * when the bind is refused. Sends and connects made while binding wait in
 * node:dgram's queue until the socket is bound.
 */
export type UdpSocketState = 'binding' | 'bound' | 'connecting' | 'connected' | 'closed' | 'failed';

/** Largest UDP payload over IPv4 (65,535 − 20 IP − 8 UDP) and over IPv6 (65,535 − 8). */
export const MAX_DATAGRAM_BYTES = {udp4: 65_507, udp6: 65_527} as const;

/** Largest payload that fits one 1500-byte Ethernet frame unfragmented (IPv4: 1500 − 20 − 8; IPv6: 1500 − 40 − 8). */
export const UNFRAGMENTED_BYTES = {udp4: 1472, udp6: 1452} as const;

/** IP and UDP headers of a datagram: IPv4 20 + 8, IPv6 40 + 8. */
const HEADER_BYTES = {udp4: 28, udp6: 48} as const;

/** Options of `udpBind`. */
export type UdpBindOptions = {
	/** Let other sockets bind the same port (SO_REUSEADDR): several receivers of one broadcast port. @default false */
	reuseAddr?: boolean;
	/** Turn SO_BROADCAST on once bound. @default false */
	isBroadcast?: boolean;
	/** Answer every request (see `request`) with a reply carrying its id, attempt and payload. @default false */
	isEcho?: boolean;
	/** SO_RCVBUF in bytes; the default (≈ 208 KiB) loses datagrams under a burst (see FACTS.md). */
	recvBufferSize?: number;
};

/** How a request is retried. */
export type RequestOptions = {
	/** Wait for a reply to the first attempt; doubled per attempt. @default 500 */
	timeoutMs?: number;
	/** Resends after the first attempt. @default 3 */
	retries?: number;
	/** Cap on one attempt's wait. @default 8000 */
	maxTimeoutMs?: number;
};

/** How a UDP socket is made. */
export type UdpInit = UdpBindOptions & {
	id: string;
	host: string;
	port: number;
	ref?: string;
	/** Called once, after `udp-closed` (or after a refused bind). */
	onClosed: (socket: UdpSocket) => void;
};

type Request = {
	id: number;
	to: Endpoint | undefined;
	payload: Buffer;
	attempt: number;
	/** performance.now() of each attempt, by attempt number. */
	sentAt: number[];
	retries: number;
	firstMs: number;
	capMs: number;
	timer: NodeJS.Timeout | undefined;
	ref: string | undefined;
};

/** Requests one socket may have in flight. */
const MAX_IN_FLIGHT = 256;
/** Ids of answered requests remembered, to tell a duplicate reply from an unknown one. */
const ANSWERED_MEMORY = 256;
const MAX_RETRIES = 20;

/**
 * Glue between one `dgram.Socket` and the bus. Handlers are attached in the
 * constructor (an `error` with no listener kills the process), every send has
 * a callback (without one node:dgram drops EMSGSIZE and EACCES silently) and
 * SO_BROADCAST is set in `listening` (before the bind it throws EBADF).
 */
export class UdpSocket {
	readonly id: string;
	readonly family: 'udp4' | 'udp6';
	readonly isEcho: boolean;
	#state: UdpSocketState = 'binding';
	#isBroadcast: boolean;
	#remote: Endpoint | undefined;
	#datagramsIn = 0;
	#datagramsOut = 0;
	#bytesIn = 0;
	#bytesOut = 0;
	#isClosedReported = false;
	/** `ref` of the close command, echoed on `udp-closed`. */
	#closeRef: string | undefined;
	readonly #requests = new Map<number, Request>();
	readonly #answered = new Set<number>();
	readonly #socket: dgram.Socket;
	readonly #bus: Bus;
	readonly #init: UdpInit;

	constructor(bus: Bus, init: UdpInit) {
		this.#bus = bus;
		this.#init = init;
		this.id = init.id;
		this.isEcho = init.isEcho ?? false;
		this.#isBroadcast = init.isBroadcast ?? false;
		this.family = isIPv6(init.host) ? 'udp6' : 'udp4';
		this.#socket = dgram.createSocket({
			type: this.family,
			reuseAddr: init.reuseAddr ?? false,
			...(init.recvBufferSize === undefined ? {} : {recvBufferSize: init.recvBufferSize}),
		});
		this.#socket.on('error', (error) => {
			this.#onError(error);
		});
		this.#socket.on('message', (message, rinfo) => {
			this.#onMessage(message, {address: rinfo.address, port: rinfo.port});
		});
		this.#socket.on('listening', () => {
			this.#onListening();
		});
		this.#socket.on('close', () => {
			this.#onClose();
		});
		this.#socket.bind({port: init.port, address: init.host});
	}

	/** Current state. */
	get state(): UdpSocketState {
		return this.#state;
	}

	/** True until closed (or refused at bind). */
	get isOpen(): boolean {
		return this.#state !== 'closed' && this.#state !== 'failed';
	}

	/** Requests waiting for a reply. */
	get requestsInFlight(): number {
		return this.#requests.size;
	}

	/**
	 * Send one datagram. `to` may be omitted on a connected socket (and must
	 * name its peer if given). Returns false when the datagram was refused
	 * before the kernel (too large: reported as `socket-failed` EMSGSIZE).
	 */
	send(bytes: Buffer, to: Endpoint | undefined, ref?: string): boolean {
		return this.#send(bytes, this.#target(to), {ref});
	}

	/** Connect: from now on the socket sends only to `host:port`, and the kernel drops datagrams from anyone else. */
	connect(host: string, port: number, ref?: string): void {
		this.#assertOpen('connect');
		if (this.#state === 'connecting' || this.#state === 'connected') {
			throw new NetdashError('ALREADY_CONNECTED', `${this.id} is already ${this.#state}${this.#remote ? ` to ${formatAddress(this.#remote.address, this.#remote.port)}` : ''}`);
		}

		this.#state = 'connecting';
		const address = formatAddress(host, port);
		this.#socket.connect(port, host, (error?: Error) => {
			if (this.#state !== 'connecting') {
				return; // Closed meanwhile.
			}

			if (error) {
				this.#state = 'bound';
				this.#emitFailed(error, {operation: 'connect', address}, ref);
				return;
			}

			this.#state = 'connected';
			const remote = this.#socket.remoteAddress();
			this.#remote = {address: remote.address, port: remote.port};
			this.#bus.emit({type: 'udp-connected', socket: this.id, remote: this.#remote, ...(ref ? {ref} : {})});
		});
	}

	/** Turn SO_BROADCAST on or off (applied once bound if still binding). */
	setBroadcast(isOn: boolean, ref?: string): void {
		this.#assertOpen('change broadcast on');
		this.#isBroadcast = isOn;
		if (this.#state !== 'binding') {
			this.#socket.setBroadcast(isOn);
			this.#bus.emit({type: 'udp-broadcast-changed', socket: this.id, isBroadcast: isOn, ...(ref ? {ref} : {})});
		}
	}

	/**
	 * Send a request and resend it with exponential backoff until a reply
	 * carrying its id arrives (`request-completed`) or the retries run out
	 * (`request-failed`). Returns the random request id, or undefined when
	 * the datagram was refused as too large.
	 */
	request(payload: Buffer, to: Endpoint | undefined, options: RequestOptions = {}, ref?: string): number | undefined {
		const target = this.#target(to);
		const retries = options.retries ?? 3;
		const firstMs = options.timeoutMs ?? 500;
		if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
			throw new NetdashError('BAD_COMMAND', `retries must be a whole number from 0 to ${MAX_RETRIES}, not ${retries}`);
		}

		if (!Number.isFinite(firstMs) || firstMs <= 0) {
			throw new NetdashError('BAD_COMMAND', `a request timeout must be more than 0, not ${firstMs}`);
		}

		if (this.#requests.size >= MAX_IN_FLIGHT) {
			throw new NetdashError('TOO_MANY_REQUESTS', `${this.id} already has ${MAX_IN_FLIGHT} requests waiting for replies`);
		}

		if (REQUEST_HEADER_BYTES + payload.length > MAX_DATAGRAM_BYTES[this.family]) {
			this.#refuseTooLarge(REQUEST_HEADER_BYTES + payload.length, target, ref);
			return undefined;
		}

		let id = randomRequestId();
		while (this.#requests.has(id) || this.#answered.has(id)) {
			id = randomRequestId();
		}

		const request: Request = {
			id,
			to: target,
			payload,
			attempt: 0,
			sentAt: [],
			retries,
			firstMs,
			capMs: Math.max(firstMs, options.maxTimeoutMs ?? 8000),
			timer: undefined,
			ref,
		};
		this.#requests.set(id, request);
		this.#attempt(request);
		return id;
	}

	/** Close the socket; requests in flight fail. `udp-closed` follows, with `ref`. */
	close(ref?: string): void {
		this.#assertOpen('close');
		this.#closeRef = ref;
		this.#state = 'closed';
		this.#failAllRequests(`${this.id} was closed`);
		try {
			this.#socket.close();
		} catch {
			this.#onClose(); // Not running any more: finish here.
		}
	}

	#target(to: Endpoint | undefined): Endpoint | undefined {
		this.#assertOpen('send');
		if (this.#state === 'connecting') {
			throw new NetdashError('NOT_CONNECTED', `${this.id} is still connecting: wait for udp-connected`);
		}

		if (this.#state === 'connected') {
			const remote = this.#remote;
			if (to && remote && (to.address !== remote.address || to.port !== remote.port)) {
				throw new NetdashError('IS_CONNECTED', `${this.id} is connected to ${formatAddress(remote.address, remote.port)}: it cannot send to ${formatAddress(to.address, to.port)}`);
			}

			return undefined; // The kernel knows where.
		}

		if (!to) {
			throw new NetdashError('BAD_ADDRESS', `${this.id} is not connected: say where to send (host and port)`);
		}

		return to;
	}

	#assertOpen(action: string): void {
		if (!this.isOpen) {
			throw new NetdashError('NOT_OPEN', `cannot ${action} ${this.id}: it is ${this.#state}`);
		}
	}

	#label(to: Endpoint | undefined): string {
		const target = to ?? this.#remote;
		return target ? formatAddress(target.address, target.port) : 'its peer';
	}

	#refuseTooLarge(bytes: number, to: Endpoint | undefined, ref: string | undefined): void {
		const address = this.#label(to);
		this.#bus.emit({
			type: 'socket-failed',
			target: this.id,
			code: 'EMSGSIZE',
			message: explainSocketError('EMSGSIZE', {operation: 'send', address, bytes, limit: MAX_DATAGRAM_BYTES[this.family]}),
			...(ref ? {ref} : {}),
		});
	}

	/** Hand one datagram to the kernel; `datagram-sent` or `socket-failed` follows from the callback. */
	#send(bytes: Buffer, to: Endpoint | undefined, extra: {ref?: string | undefined; requestId?: number; attempt?: number; onError?: (message: string) => void}): boolean {
		const {ref} = extra;
		if (bytes.length > MAX_DATAGRAM_BYTES[this.family]) {
			this.#refuseTooLarge(bytes.length, to, ref);
			return false;
		}

		const callback = (error: Error | null) => {
			if (error) {
				if (this.isOpen) {
					const message = this.#emitFailed(error, {operation: 'send', address: this.#label(to), bytes: bytes.length, limit: MAX_DATAGRAM_BYTES[this.family]}, ref);
					extra.onError?.(message);
				}

				return;
			}

			this.#datagramsOut++;
			this.#bytesOut += bytes.length;
			const destination = to ?? this.#remote ?? {address: '', port: 0};
			const warning = this.#fragmentWarning(bytes.length, destination.address);
			this.#bus.emit({
				type: 'datagram-sent',
				socket: this.id,
				to: destination,
				bytes: bytes.length,
				data: bytes,
				...(warning === undefined ? {} : {warning}),
				...(extra.requestId === undefined ? {} : {requestId: extra.requestId, attempt: extra.attempt}),
				...(ref ? {ref} : {}),
			});
		};

		try {
			if (to) {
				this.#socket.send(bytes, to.port, to.address, callback);
			} else {
				this.#socket.send(bytes, callback);
			}
		} catch (error) {
			// Bad arguments and sends on a socket no longer running throw synchronously.
			throw new NetdashError(errorCode(error), `${this.id} cannot send to ${this.#label(to)}: ${oneLine(error)}`);
		}

		return true;
	}

	#emitFailed(error: Error, context: SocketContext, ref: string | undefined): string {
		const code = errorCode(error);
		const message = explainSocketError(code, context, oneLine(error));
		this.#bus.emit({type: 'socket-failed', target: this.id, code, message, ...(ref ? {ref} : {})});
		return message;
	}

	#attempt(request: Request): void {
		request.attempt++;
		request.sentAt[request.attempt] = performance.now();
		const isSent = this.#send(encodeRequest(request.id, request.attempt, request.payload), request.to, {
			ref: request.ref,
			requestId: request.id,
			attempt: request.attempt,
			onError: (message) => {
				this.#failRequest(request, message);
			},
		});
		if (!isSent) {
			this.#failRequest(request, 'the request is too large to send');
			return;
		}

		request.timer = setTimeout(() => {
			request.timer = undefined;
			if (request.attempt > request.retries) {
				const waited = ((performance.now() - request.sentAt[1]!) / 1000).toFixed(1);
				this.#failRequest(request, `no reply from ${this.#label(request.to)} after ${request.attempt} attempt${request.attempt === 1 ? '' : 's'} (${waited} s)`);
			} else {
				this.#attempt(request);
			}
		}, backoffDelay(request.attempt, request.firstMs, request.capMs));
	}

	#failRequest(request: Request, message: string): void {
		if (this.#requests.get(request.id) !== request) {
			return;
		}

		clearTimeout(request.timer);
		this.#requests.delete(request.id);
		this.#bus.emit({
			type: 'request-failed',
			socket: this.id,
			requestId: request.id,
			attempts: request.attempt,
			to: request.to ?? this.#remote ?? {address: '', port: 0},
			message,
			...(request.ref ? {ref: request.ref} : {}),
		});
	}

	/**
	 * The warning for a datagram that will be fragmented on the route to
	 * `address`: over its MTU less the IP and UDP headers (65,536 on
	 * loopback, so 65,508 bytes there; 1,500 on Ethernet, so 1,472). The
	 * route is looked up (once per destination) only for datagrams over
	 * 1,232 bytes: every IPv6 link, and in practice every IPv4 one, carries
	 * that much whole (IPv6's minimum MTU of 1,280 less headers).
	 */
	#fragmentWarning(bytes: number, address: string): string | undefined {
		const headers = HEADER_BYTES[this.family];
		if (bytes <= 1232) {
			return undefined;
		}

		const mtu = routeMtu(address);
		const limit = mtu - headers;
		return bytes > limit ? `${bytes} bytes will fragment (over ${limit} on the route's ${mtu}-byte MTU); a lost fragment loses all of it` : undefined;
	}

	#failAllRequests(message: string): void {
		for (const request of [...this.#requests.values()]) {
			this.#failRequest(request, message);
		}
	}

	#onReply(header: RequestHeader, from: Endpoint): void {
		const request = this.#requests.get(header.requestId);
		if (!request) {
			this.#bus.emit({
				type: 'reply-ignored',
				socket: this.id,
				from,
				requestId: header.requestId,
				reason: this.#answered.has(header.requestId) ? 'duplicate' : 'unknown',
			});
			return;
		}

		const sentAt = request.sentAt[header.attempt] ?? request.sentAt[request.attempt]!;
		clearTimeout(request.timer);
		this.#requests.delete(request.id);
		this.#answered.add(request.id);
		if (this.#answered.size > ANSWERED_MEMORY) {
			this.#answered.delete(this.#answered.values().next().value!);
		}

		this.#bus.emit({
			type: 'request-completed',
			socket: this.id,
			requestId: request.id,
			rttMs: Math.round((performance.now() - sentAt) * 100) / 100,
			attempts: request.attempt,
			from,
			...(request.ref ? {ref: request.ref} : {}),
		});
	}

	#onMessage(message: Buffer, from: Endpoint): void {
		if (!this.isOpen) {
			return;
		}

		this.#datagramsIn++;
		this.#bytesIn += message.length;
		this.#bus.emit({type: 'datagram-received', socket: this.id, from, bytes: message.length, data: message});
		const header = decodeHeader(message);
		if (header?.type === 'reply') {
			this.#onReply(header, from);
		} else if (header?.type === 'request' && this.isEcho && this.isOpen) {
			// Same size as the request: an echo never amplifies.
			const reply = encodeReply(header.requestId, header.attempt, header.payload);
			this.#send(reply, this.#state === 'connected' ? undefined : from, {});
		}
	}

	#onListening(): void {
		if (this.#state === 'closed' || this.#state === 'failed') {
			return;
		}

		if (this.#state === 'binding') {
			this.#state = 'bound';
		}

		if (this.#isBroadcast) {
			this.#socket.setBroadcast(true);
		}

		const address = this.#socket.address();
		const ref = this.#init.ref;
		this.#bus.emit({
			type: 'udp-bound',
			socket: this.id,
			address: address.address,
			port: address.port,
			isBroadcast: this.#isBroadcast,
			isEcho: this.isEcho,
			...(ref ? {ref} : {}),
		});
	}

	#onError(error: Error): void {
		if (this.#state === 'binding') {
			this.#state = 'failed';
			this.#emitFailed(error, {operation: 'bind', address: formatAddress(this.#init.host, this.#init.port)}, this.#init.ref);
			try {
				this.#socket.close();
			} catch {
				this.#onClose();
			}

			return;
		}

		if (!this.isOpen) {
			return;
		}

		// On a connected socket an ICMP port-unreachable arrives here as ECONNREFUSED; the socket stays usable.
		const message = this.#emitFailed(error, {operation: 'receive', address: this.#label(undefined)}, undefined);
		if (errorCode(error) === 'ECONNREFUSED' && this.#state === 'connected') {
			this.#failAllRequests(message);
		}
	}

	#onClose(): void {
		if (this.#isClosedReported) {
			return;
		}

		this.#isClosedReported = true;
		this.#failAllRequests(`${this.id} was closed`);
		if (this.#state !== 'failed') {
			this.#state = 'closed';
			this.#bus.emit({
				type: 'udp-closed',
				socket: this.id,
				datagramsIn: this.#datagramsIn,
				datagramsOut: this.#datagramsOut,
				bytesIn: this.#bytesIn,
				bytesOut: this.#bytesOut,
				...(this.#closeRef ? {ref: this.#closeRef} : {}),
			});
		}

		this.#init.onClosed(this);
	}
}
