import type {Bus} from '../bus.js';
import type {Endpoint} from '../events.js';
import type {UdpManager} from '../udp/udp-manager.js';
import type {UdpSocket} from '../udp/udp-socket.js';

/** One client address of a UDP forward and the socket that speaks to the target for it (its own source port). */
type Session = {
	id: string;
	client: Endpoint;
	/** The upstream socket's id (`U…`), which sends only to the target and passes on only what the target's port sends. */
	upstream: string;
	toServer: number;
	toClient: number;
	timer: NodeJS.Timeout;
};

/** Sessions a UDP forward keeps when none says how long. */
export const DEFAULT_UDP_IDLE_MS = 60_000;

/**
 * `--forward-udp`: a UDP socket bound at the forward's port; each client
 * address gets its own upstream socket connected to the target (so the
 * target sees one source port per client, as with TCP), and replies go back
 * from the forward's socket to that client. A session with no datagram
 * either way for `idleMs` expires and its upstream socket is closed. Built
 * on the UDP sockets of udp/: every datagram is a `datagram-received` /
 * `datagram-sent` on the bus like any other.
 */
export class UdpForward {
	readonly id: string;
	readonly #bus: Bus;
	readonly #udp: UdpManager;
	readonly #target: Endpoint;
	readonly #idleMs: number;
	readonly #sessions = new Map<string, Session>();
	/** Upstream socket id → its session. */
	readonly #byUpstream = new Map<string, Session>();
	readonly #nextRelay: () => string;

	constructor(bus: Bus, udp: UdpManager, init: {host: string | undefined; port: number; target: Endpoint; idleMs: number; ref?: string; nextRelay: () => string}) {
		this.#bus = bus;
		this.#udp = udp;
		this.#target = init.target;
		this.#idleMs = init.idleMs;
		this.#nextRelay = init.nextRelay;
		this.id = udp.bind(init.host, init.port, {
			...(init.ref ? {ref: init.ref} : {}),
			onDatagram: (socket, message, from) => {
				this.#fromClient(socket, message, from);
			},
			onClosed: () => {
				this.#closeAll('closed');
			},
		});
	}

	#fromClient(socket: UdpSocket, message: Buffer, from: Endpoint): void {
		const key = `${from.address}|${from.port}`;
		let session = this.#sessions.get(key);
		if (!session) {
			session = this.#open(key, from, socket.family === 'udp6' ? '::' : '0.0.0.0');
		}

		session.toServer++;
		this.#touch(session);
		// Addressed each time: a send queued before a connect completed would have no peer yet.
		this.#udp.send(session.upstream, this.#target.address, this.#target.port, message);
	}

	#open(key: string, client: Endpoint, wildcard: string): Session {
		const id = this.#nextRelay();
		const target = this.#target;
		const loopback = target.address.startsWith('127.') || target.address === '::1' || target.address === 'localhost';
		const upstream = this.#udp.bind(loopback ? (wildcard === '::' ? '::1' : '127.0.0.1') : wildcard, 0, {
			onDatagram: (_socket, message, from) => {
				// Only the target answers for the client (the socket is not connected, so the kernel does not filter).
				if (from.port === target.port) {
					this.#fromServer(upstream, message);
				}
			},
			onClosed: () => {
				this.#forget(upstream, 'closed');
			},
		});
		const session: Session = {id, client, upstream, toServer: 0, toClient: 0, timer: this.#idleTimer(key)};
		this.#sessions.set(key, session);
		this.#byUpstream.set(upstream, session);
		this.#bus.emit({type: 'udp-relay-opened', relay: id, socket: this.id, upstream, client, target});
		return session;
	}

	#idleTimer(key: string): NodeJS.Timeout {
		const timer = setTimeout(() => {
			const session = this.#sessions.get(key);
			if (session) {
				this.#end(session, 'expired');
			}
		}, this.#idleMs);
		timer.unref();
		return timer;
	}

	#touch(session: Session): void {
		session.timer.refresh();
	}

	#fromServer(upstream: string, message: Buffer): void {
		const session = this.#byUpstream.get(upstream);
		if (!session || !this.#udp.has(this.id)) {
			return;
		}

		session.toClient++;
		this.#touch(session);
		this.#udp.send(this.id, session.client.address, session.client.port, message);
	}

	/** End a session: report it, then close its upstream socket. */
	#end(session: Session, reason: 'expired' | 'closed'): void {
		this.#forget(session.upstream, reason);
		if (this.#udp.has(session.upstream) && !this.#udp.socket(session.upstream).isClosing) {
			this.#udp.close(session.upstream);
		}
	}

	#forget(upstream: string, reason: 'expired' | 'closed'): void {
		const session = this.#byUpstream.get(upstream);
		if (!session) {
			return;
		}

		this.#byUpstream.delete(upstream);
		this.#sessions.delete(`${session.client.address}|${session.client.port}`);
		clearTimeout(session.timer);
		this.#bus.emit({
			type: 'udp-relay-closed',
			relay: session.id,
			socket: this.id,
			upstream,
			client: session.client,
			reason,
			datagramsToServer: session.toServer,
			datagramsToClient: session.toClient,
		});
	}

	#closeAll(reason: 'closed'): void {
		for (const session of [...this.#sessions.values()]) {
			this.#end(session, reason);
		}
	}
}
