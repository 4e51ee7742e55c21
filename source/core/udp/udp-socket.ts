import dgram from 'node:dgram';
import {isIPv6} from 'node:net';
import {performance} from 'node:perf_hooks';
import type {Bus} from '../bus.js';
import {NetdashError, errorCode, explainSocketError, formatAddress, oneLine, type SocketContext} from '../errors.js';
import type {Endpoint} from '../events.js';
import {checkTimeout} from '../timeout.js';
import {admitEveryone, RefusalReports, type Refusal} from './admission.js';
import {CommandQueue} from './command-queue.js';
import {lookupLiteralsAtOnce, resolveEndpoint} from './lookup.js';
import {decodeHeader, encodeReply, REQUEST_HEADER_BYTES} from './request.js';
import {UdpRequests, type RequestOptions, type UdpRequest} from './udp-requests.js';

import {fragmentWarning, MAX_DATAGRAM_BYTES} from './datagram-size.js';
import type {UdpInit} from './udp-init.js';

export type {RequestOptions} from './udp-requests.js';
export type {UdpBindOptions, UdpInit} from './udp-init.js';
export {MAX_DATAGRAM_BYTES, UNFRAGMENTED_BYTES} from './datagram-size.js';

/**
 * A UDP socket's state, changed only in the named transitions:
 * binding → bound → connecting → connected → closed, and binding → failed
 * when the bind is refused. Commands given while binding (or behind a
 * connect, a name lookup or a close) wait in the socket's CommandQueue and
 * take effect in the order given.
 */
export type UdpSocketState = 'binding' | 'bound' | 'connecting' | 'connected' | 'closed' | 'failed';

/** How long a close waits for sends already handed to the kernel to report, before it closes anyway. */
const CLOSE_WAIT_MS = 1000;

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
	readonly #refusal: Refusal;
	readonly #refusals: RefusalReports;
	#isClosing = false;
	#closeRef: string | undefined;
	/** Sends handed to node:dgram whose callback has not come yet: a close waits for them. */
	#sendsInFlight = 0;
	#onSendsDone: (() => void) | undefined;
	#onClosedStep: (() => void) | undefined;
	readonly #queue: CommandQueue;
	readonly #requests: UdpRequests;
	/** True while netdash's output is backed up: datagrams are then dropped and counted, not queued. */
	#isHeld = false;
	#dropped = 0;
	#droppedReported = 0;
	readonly #socket: dgram.Socket;
	readonly #bus: Bus;
	readonly #init: UdpInit;

	constructor(bus: Bus, init: UdpInit) {
		this.#bus = bus;
		this.#init = init;
		this.id = init.id;
		this.isEcho = init.isEcho ?? false;
		this.#isBroadcast = init.isBroadcast ?? false;
		this.#refusal = init.refusal ?? admitEveryone;
		this.#refusals = new RefusalReports(init.id, (event) => {
			bus.emit(event);
		}, () => performance.now(), true);
		this.family = isIPv6(init.host) ? 'udp6' : 'udp4';
		this.#requests = new UdpRequests(bus, {
			id: this.id,
			send: (bytes, to, extra) => this.#send(bytes, to, extra),
			label: (to) => this.#label(to),
			remote: () => this.#remote,
		});
		this.#queue = new CommandQueue((error, ref) => {
			this.#bus.emit({type: 'command-failed', ref: ref ?? null, code: errorCode(error), message: oneLine(error), target: this.id});
		});
		this.#socket = dgram.createSocket({
			type: this.family,
			reuseAddr: init.reuseAddr ?? false,
			lookup: lookupLiteralsAtOnce as unknown as dgram.SocketOptions['lookup'],
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
		// On the next tick: with an address literal the bind (and a refusal) would otherwise happen inside this
		// constructor, reporting on a socket whose id the caller has not been given yet.
		process.nextTick(() => {
			try {
				this.#socket.bind({port: init.port, address: init.host});
			} catch (error) {
				// Thrown here, nothing would catch it: a bad argument is a refused bind like any other.
				this.#onError(error as Error);
			}
		});
	}

	/** Current state. */
	get state(): UdpSocketState {
		return this.#state;
	}

	/** True until closed (or refused at bind). */
	get isOpen(): boolean {
		return this.#state !== 'closed' && this.#state !== 'failed';
	}

	/** Datagrams refused by the allow/deny rules so far. */
	get refused(): number {
		return this.#refusals.total;
	}

	/** True once a close was given (it may still wait its turn). */
	get isClosing(): boolean {
		return this.#isClosing || !this.isOpen;
	}

	/** Datagrams dropped while held. */
	get dropped(): number {
		return this.#dropped;
	}

	/**
	 * Hold or release: while held, each datagram is taken from the kernel and
	 * dropped, counted (a `datagrams-dropped` event per {@link reportDrops}).
	 * Node cannot stop reading a dgram socket, and the kernel drops what
	 * overflows its buffer anyway; queueing them for a stdout nobody reads
	 * grew memory without bound (522 MiB in 8 s).
	 */
	setHeld(isHeld: boolean): void {
		this.#isHeld = isHeld;
	}

	/** Emit `datagrams-dropped` if datagrams were dropped since the last report. */
	reportDrops(): void {
		const count = this.#dropped - this.#droppedReported;
		if (count > 0) {
			this.#droppedReported = this.#dropped;
			this.#bus.emit({type: 'datagrams-dropped', socket: this.id, reason: 'backpressure', count, total: this.#dropped});
		}
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
		const result = this.#queue.add<boolean | Promise<void>>(
			ref,
			() => {
				const target = this.#target(to);
				if (bytes.length > MAX_DATAGRAM_BYTES[this.family]) {
					this.#refuseTooLarge(bytes.length, target, ref);
					return false;
				}

				return this.#whenResolved(target, ref, (resolved) => this.#send(bytes, resolved, {ref}));
			},
			true,
		);
		return result !== false;
	}

	/** Connect: from now on the socket sends only to `host:port`, and the kernel drops datagrams from anyone else. */
	connect(host: string, port: number, ref?: string): void {
		this.#queue.add(ref, () => this.#connect(host, port, ref), undefined);
	}

	/** The connect itself, in its turn: later commands wait until the kernel has the peer. */
	#connect(host: string, port: number, ref: string | undefined): Promise<void> {
		this.#assertOpen('connect');
		if (this.#state === 'connecting' || this.#state === 'connected') {
			throw new NetdashError('ALREADY_CONNECTED', `${this.id} is already ${this.#state}${this.#remote ? ` to ${formatAddress(this.#remote.address, this.#remote.port)}` : ''}`);
		}

		this.#state = 'connecting';
		const address = formatAddress(host, port);
		return new Promise((resolve) => {
			this.#socket.connect(port, host, (error?: Error) => {
				resolve();
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
		});
	}

	/** Turn SO_BROADCAST on or off (applied once bound if still binding). */
	setBroadcast(isOn: boolean, ref?: string): void {
		this.#queue.add(
			ref,
			() => {
				this.#assertOpen('change broadcast on');
				this.#isBroadcast = isOn;
				this.#socket.setBroadcast(isOn);
				this.#bus.emit({type: 'udp-broadcast-changed', socket: this.id, isBroadcast: isOn, ...(ref ? {ref} : {})});
			},
			undefined,
		);
	}

	/**
	 * Send a request and resend it with exponential backoff until it is
	 * answered (`request-completed`) or the retries run out
	 * (`request-failed`): with an NDRQ header whose random id the reply must
	 * carry, or (`isPlain`, on a connected socket) bare, answered by the
	 * peer's first datagram. Returns the random request id, or undefined when
	 * the datagram was refused as too large.
	 */
	request(payload: Buffer, to: Endpoint | undefined, options: RequestOptions = {}, ref?: string): number | undefined {
		const request = this.#requests.create(payload, options, ref);
		const isSent = this.#queue.add(ref, () => this.#startRequest(request, to, options.isHolding ?? false), true);
		return isSent === false ? undefined : request.id;
	}

	/** A request's first attempt, in its turn. */
	#startRequest(request: UdpRequest, to: Endpoint | undefined, isHolding: boolean): boolean | Promise<void> {
		const target = this.#target(to);
		if (request.isPlain && this.#state !== 'connected') {
			throw new NetdashError('NOT_CONNECTED', `${this.id} is not connected: a plain request needs a connected socket (udp-connect first, or leave out the socket and netdash opens one)`);
		}

		const size = (request.isPlain ? 0 : REQUEST_HEADER_BYTES) + request.payload.length;
		if (size > MAX_DATAGRAM_BYTES[this.family]) {
			this.#refuseTooLarge(size, target, request.ref);
			return false;
		}

		const settled = isHolding
			? new Promise<void>((resolve) => {
				request.onSettled = resolve;
			})
			: undefined;
		const started = this.#whenResolved(target, request.ref, (resolved) => {
			this.#requests.start(request, resolved);
			return true;
		});
		if (settled) {
			// A lookup that failed settles nothing: release the queue then too.
			return Promise.resolve(started).then(async () => (this.#requests.isWaiting(request) ? settled : undefined));
		}

		return started;
	}

	/** Fail every request in flight now (`request-failed` with `message`), ahead of any command waiting. */
	failRequests(message: string): void {
		this.#requests.failAll(message);
	}

	/**
	 * Close the socket; requests in flight fail. In its turn, after the
	 * commands given before it: sends already handed to the kernel report
	 * (`datagram-sent` or `socket-failed`) before `udp-closed` follows.
	 */
	close(ref?: string): void {
		this.#isClosing = true;
		this.#queue.add(ref, () => this.#close(ref), undefined);
	}

	/** Not async: a close of a socket no longer open must throw in its turn (command-failed), not reject. */
	#close(ref: string | undefined): Promise<void> {
		this.#assertOpen('close');
		this.#closeRef = ref;
		this.#state = 'closed';
		this.#closeRef = ref;
		this.#requests.failAll(`${this.id} was closed`);
		const closed = new Promise<void>((resolve) => {
			this.#onClosedStep = resolve;
		});
		const closeNow = () => {
			clearTimeout(timer);
			this.#onSendsDone = undefined;
			try {
				this.#socket.close();
			} catch {
				this.#onClose(); // Not running any more: finish here.
			}
		};

		// Sends whose callback never comes (it always does, if only as ECANCELED) must not hold the close for ever.
		const timer = setTimeout(closeNow, CLOSE_WAIT_MS);
		if (this.#sendsInFlight === 0) {
			closeNow();
		} else {
			this.#onSendsDone = closeNow;
		}

		return closed;
	}

	/**
	 * Call `send` with `to` as an address: at once when it is one already (or
	 * undefined, for a connected socket), else after looking the name up —
	 * holding the queue meanwhile. A failed lookup is `socket-failed`.
	 */
	#whenResolved<T>(to: Endpoint | undefined, ref: string | undefined, send: (to: Endpoint | undefined) => T): T | Promise<void> {
		const resolved = resolveEndpoint(to, this.family);
		if (!(resolved instanceof Promise)) {
			return send(resolved);
		}

		return resolved.then(
			(found) => {
				send(found);
			},
			(error: unknown) => {
				this.#emitFailed(error as Error, {operation: 'send', address: formatAddress(to!.address, to!.port)}, ref);
			},
		);
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
		// Echo replies and resends come here directly: they answer the network, not a command, so they do not queue.
		const {ref} = extra;
		if (bytes.length > MAX_DATAGRAM_BYTES[this.family]) {
			this.#refuseTooLarge(bytes.length, to, ref);
			return false;
		}

		const callback = (error: Error | null) => {
			this.#sendsInFlight--;
			// A close given after this send waits for it (see #close): report it, then let the close go on.
			if (this.#sendsInFlight === 0) {
				queueMicrotask(() => this.#onSendsDone?.());
			}

			if (this.#isClosedReported) {
				return; // Closed without waiting (CLOSE_WAIT_MS ran out): udp-closed is the last word.
			}

			if (error) {
				const message = this.#emitFailed(error, {operation: 'send', address: this.#label(to), bytes: bytes.length, limit: MAX_DATAGRAM_BYTES[this.family]}, ref);
				extra.onError?.(message);
				return;
			}

			this.#datagramsOut++;
			this.#bytesOut += bytes.length;
			const destination = to ?? this.#remote ?? {address: '', port: 0};
			const warning = fragmentWarning(this.family, bytes.length, destination.address);
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
			this.#sendsInFlight++;
			if (to) {
				this.#socket.send(bytes, to.port, to.address, callback);
			} else {
				this.#socket.send(bytes, callback);
			}
		} catch (error) {
			this.#sendsInFlight--;
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

	#onMessage(message: Buffer, from: Endpoint): void {
		if (!this.isOpen) {
			return;
		}

		// Admission comes first: a denied source must not be shown, logged,
		// answered by an echo or complete a request (the TCP rules, applied per datagram).
		const rule = this.#refusal(from.address);
		if (rule !== undefined) {
			this.#refusals.refuse(from, message.length, rule);
			return;
		}

		if (this.#isHeld) {
			this.#dropped++;
			return;
		}

		this.#datagramsIn++;
		this.#bytesIn += message.length;
		this.#bus.emit({type: 'datagram-received', socket: this.id, from, bytes: message.length, data: message});
		this.#init.onDatagram?.(this, message, from);
		const remote = this.#remote;
		// Only the connected peer answers a plain request (the kernel filters the rest; a datagram queued before the connect is not).
		if (this.#state === 'connected' && remote && from.address === remote.address && from.port === remote.port && this.#requests.onPlainReply(from)) {
			return;
		}

		const header = decodeHeader(message);
		if (header?.type === 'reply') {
			this.#requests.onReply(header, from);
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
		if (this.#init.connectTo) {
			// As a connect command would be (netdash -u HOST PORT): sends after it need no address.
			this.#queue.add(ref, () => this.#connect(this.#init.connectTo!.host, this.#init.connectTo!.port, ref), undefined);
		}

		this.#queue.hold(false);
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

			// Commands given while binding now fail in their order, each with its own command-failed.
			this.#queue.hold(false);
			return;
		}

		if (!this.isOpen) {
			return;
		}

		// On a connected socket an ICMP port-unreachable arrives here as ECONNREFUSED; the socket stays usable.
		const message = this.#emitFailed(error, {operation: 'receive', address: this.#label(undefined)}, undefined);
		if (errorCode(error) === 'ECONNREFUSED' && this.#state === 'connected') {
			this.#requests.failAll(message);
		}
	}

	#onClose(): void {
		if (this.#isClosedReported) {
			return;
		}

		this.#isClosedReported = true;
		this.#requests.failAll(`${this.id} was closed`);
		this.#refusals.flush(true);
		if (this.#state !== 'failed') {
			this.#state = 'closed';
			this.reportDrops();
			this.#bus.emit({
				type: 'udp-closed',
				socket: this.id,
				datagramsIn: this.#datagramsIn,
				datagramsOut: this.#datagramsOut,
				bytesIn: this.#bytesIn,
				bytesOut: this.#bytesOut,
				dropped: this.#dropped,
				...(this.#closeRef ? {ref: this.#closeRef} : {}),
			});
		}

		this.#init.onClosed(this);
		this.#onClosedStep?.();
	}
}
