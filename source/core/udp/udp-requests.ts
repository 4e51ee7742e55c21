import {performance} from 'node:perf_hooks';
import type {Bus} from '../bus.js';
import {randomRequestId} from '../discovery/codec.js';
import {checkTimeout} from '../timeout.js';
import {NetdashError} from '../errors.js';
import type {Endpoint} from '../events.js';
import {backoffDelay, encodeRequest, type RequestHeader} from './request.js';

/** How a request is retried. */
export type RequestOptions = {
	/** Wait for a reply to the first attempt; doubled per attempt. @default 500 */
	timeoutMs?: number;
	/** Resends after the first attempt. @default 3 */
	retries?: number;
	/** Cap on one attempt's wait. @default 8000 */
	maxTimeoutMs?: number;
	/**
	 * No NDRQ header: the payload goes as it is, and the first datagram from
	 * the peer of the (connected) socket answers. @default false
	 */
	isPlain?: boolean;
	/** Hold the socket's later commands until this request is answered or fails (a socket of the request's own). @default false */
	isHolding?: boolean;
};

/** One request, from its first attempt to its answer or failure. */
export type UdpRequest = {
	readonly id: number;
	/** Where it goes (an address, looked up), or undefined on a connected socket. */
	to: Endpoint | undefined;
	readonly payload: Buffer;
	attempt: number;
	/** performance.now() of each attempt, by attempt number. */
	readonly sentAt: number[];
	readonly retries: number;
	readonly firstMs: number;
	readonly capMs: number;
	timer: NodeJS.Timeout | undefined;
	readonly ref: string | undefined;
	readonly isPlain: boolean;
	/** Called once when the request is answered or fails. */
	onSettled: (() => void) | undefined;
};

/** What the requests need of their socket. */
export type RequestSocket = {
	readonly id: string;
	/** Hand one datagram to the kernel (false: refused as too large); `onError` hears a failed send. */
	send(bytes: Buffer, to: Endpoint | undefined, extra: {ref: string | undefined; requestId: number; attempt: number; onError: (message: string) => void}): boolean;
	/** `to`, or the socket's peer, as `host:port` for messages. */
	label(to: Endpoint | undefined): string;
	/** The connected peer, if any. */
	remote(): Endpoint | undefined;
};

/** Requests one socket may have in flight. */
const MAX_IN_FLIGHT = 256;
/** Ids of answered requests remembered, to tell a duplicate reply from an unknown one. */
const ANSWERED_MEMORY = 256;
const MAX_RETRIES = 20;

/**
 * The requests of one UDP socket: resent with exponential backoff until a
 * reply answers them (`request-completed`) or the retries run out
 * (`request-failed`). A reply with an NDRQ header answers by its id; a plain
 * request is answered by the first datagram from the socket's peer.
 */
export class UdpRequests {
	readonly #waiting = new Map<number, UdpRequest>();
	readonly #answered = new Set<number>();
	readonly #bus: Bus;
	readonly #socket: RequestSocket;

	constructor(bus: Bus, socket: RequestSocket) {
		this.#bus = bus;
		this.#socket = socket;
	}

	/** Requests waiting for a reply. */
	get size(): number {
		return this.#waiting.size;
	}

	/** A new request with a fresh random id, not yet sent. Throws NetdashError for options out of range. */
	create(payload: Buffer, options: RequestOptions, ref: string | undefined): UdpRequest {
		const retries = options.retries ?? 3;
		const firstMs = options.timeoutMs ?? 500;
		if (!Number.isInteger(retries) || retries < 0 || retries > MAX_RETRIES) {
			throw new NetdashError('BAD_COMMAND', `retries must be a whole number from 0 to ${MAX_RETRIES}, not ${retries}`);
		}

		if (!Number.isFinite(firstMs) || firstMs <= 0) {
			throw new NetdashError('BAD_COMMAND', `a request timeout must be more than 0, not ${firstMs}`);
		}

		checkTimeout(firstMs, 'a request timeout');

		if (this.#waiting.size >= MAX_IN_FLIGHT) {
			throw new NetdashError('TOO_MANY_REQUESTS', `${this.#socket.id} already has ${MAX_IN_FLIGHT} requests waiting for replies`);
		}

		let id = randomRequestId();
		while (this.#waiting.has(id) || this.#answered.has(id)) {
			id = randomRequestId();
		}

		return {
			id,
			to: undefined,
			payload,
			attempt: 0,
			sentAt: [],
			retries,
			firstMs,
			capMs: Math.max(firstMs, options.maxTimeoutMs ?? 8000),
			timer: undefined,
			ref,
			isPlain: options.isPlain ?? false,
			onSettled: undefined,
		};
	}

	/** Send the first attempt; resends follow on their timers. */
	start(request: UdpRequest, to: Endpoint | undefined): void {
		request.to = to;
		this.#waiting.set(request.id, request);
		this.#attempt(request);
	}

	/** True while `request` waits for its reply. */
	isWaiting(request: UdpRequest): boolean {
		return this.#waiting.get(request.id) === request;
	}

	/** A datagram with a reply header: it answers the request with its id, or is ignored and reported. */
	onReply(header: RequestHeader, from: Endpoint): void {
		const request = this.#waiting.get(header.requestId);
		if (!request || request.isPlain) {
			this.#bus.emit({
				type: 'reply-ignored',
				socket: this.#socket.id,
				from,
				requestId: header.requestId,
				reason: this.#answered.has(header.requestId) ? 'duplicate' : 'unknown',
			});
			return;
		}

		this.#complete(request, request.sentAt[header.attempt] ?? request.sentAt[request.attempt]!, from);
	}

	/**
	 * A datagram from the connected peer (the caller checks that it is): it
	 * answers the oldest plain request, if any. There is no id to match, so
	 * which attempt it answers is unknown: the round trip is timed from the
	 * latest. Returns true when it answered one.
	 */
	onPlainReply(from: Endpoint): boolean {
		const request = [...this.#waiting.values()].find((waiting) => waiting.isPlain);
		if (!request) {
			return false;
		}

		this.#complete(request, request.sentAt[request.attempt]!, from);
		return true;
	}

	/** Fail every request waiting (the socket closed, or its peer is unreachable). */
	failAll(message: string): void {
		for (const request of [...this.#waiting.values()]) {
			this.#fail(request, message);
		}
	}

	#attempt(request: UdpRequest): void {
		request.attempt++;
		request.sentAt[request.attempt] = performance.now();
		const bytes = request.isPlain ? request.payload : encodeRequest(request.id, request.attempt, request.payload);
		const isSent = this.#socket.send(bytes, request.to, {
			ref: request.ref,
			requestId: request.id,
			attempt: request.attempt,
			onError: (message) => {
				this.#fail(request, message);
			},
		});
		if (!isSent) {
			this.#fail(request, 'the request is too large to send');
			return;
		}

		request.timer = setTimeout(() => {
			request.timer = undefined;
			if (request.attempt > request.retries) {
				const waited = ((performance.now() - request.sentAt[1]!) / 1000).toFixed(1);
				this.#fail(request, `no reply from ${this.#socket.label(request.to)} after ${request.attempt} attempt${request.attempt === 1 ? '' : 's'} (${waited} s)`);
			} else {
				this.#attempt(request);
			}
		}, backoffDelay(request.attempt, request.firstMs, request.capMs));
	}

	#fail(request: UdpRequest, message: string): void {
		if (!this.isWaiting(request)) {
			return;
		}

		clearTimeout(request.timer);
		this.#waiting.delete(request.id);
		request.onSettled?.();
		this.#bus.emit({
			type: 'request-failed',
			socket: this.#socket.id,
			requestId: request.id,
			attempts: request.attempt,
			to: request.to ?? this.#socket.remote() ?? {address: '', port: 0},
			message,
			...(request.ref ? {ref: request.ref} : {}),
		});
	}

	#complete(request: UdpRequest, sentAt: number, from: Endpoint): void {
		clearTimeout(request.timer);
		this.#waiting.delete(request.id);
		this.#answered.add(request.id);
		if (this.#answered.size > ANSWERED_MEMORY) {
			this.#answered.delete(this.#answered.values().next().value!);
		}

		request.onSettled?.();
		this.#bus.emit({
			type: 'request-completed',
			socket: this.#socket.id,
			requestId: request.id,
			rttMs: Math.round((performance.now() - sentAt) * 100) / 100,
			attempts: request.attempt,
			from,
			...(request.ref ? {ref: request.ref} : {}),
		});
	}
}
