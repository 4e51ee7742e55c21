import type {BusEvent, Endpoint} from '../events.js';
import {workbenchNotice} from './workbench-notices.js';
import {certificateNotes, tlsNotes} from '../tcp/tls.js';
import {LogBook} from './log.js';
import {isQueueGrowing, newConnectionModel, sampleConnection, type ConnectionModel} from './connection-model.js';
import {RelayModel} from './reduce-relay.js';
import {UdpModel} from './reduce-udp.js';
import {SystemModel} from './reduce-system.js';
import {RulesModel} from './reduce-rules.js';
import {LanModel} from './reduce-lan.js';
import type {AdmissionView, ListenerRow, Notice, RefusedRow} from './snapshot.js';

/** `127.0.0.1:51234`, or `[::1]:51234`. */
function hostPort(endpoint: Endpoint): string {
	return endpoint.address.includes(':') ? `[${endpoint.address}]:${endpoint.port}` : `${endpoint.address}:${endpoint.port}`;
}

/** Limits of the working model. */
export type ModelOptions = {
	/** Byte budget of all logs together. */
	logBytes: number;
	/** Bytes of each chunk's payload kept in its log entry. */
	logEntryBytes: number;
	/** Notices kept. */
	maxNotices: number;
	/** Rate samples kept per connection. */
	historyLength: number;
	/** LAN services kept as `gone` after they left. @default 64 */
	maxLanGone?: number;
	/** LAN history rows kept. @default 100 */
	maxLanHistory?: number;
};

type ListenerModel = {
	id: string;
	address: string;
	port: number;
	framing: string;
	isTls: boolean;
	target: Endpoint | undefined;
	state: 'listening' | 'closed';
	accepted: number;
	open: number;
	refused: number;
	openedAt: number;
	closedAt: number | undefined;
	row: ListenerRow | undefined;
};

/**
 * The working model: folds bus events in with exact counters. It is
 * mutable and private to the store; `store.ts` turns it into immutable
 * snapshots. Every change marks what it touched, so publishing only
 * rebuilds those rows.
 */
export class Model {
	readonly listeners = new Map<string, ListenerModel>();
	/** TCP connections, each a {@link ConnectionModel} (connection-model.ts: its fields and rate sampling). */
	readonly connections = new Map<string, ConnectionModel>();
	readonly logs: LogBook;
	/** UDP sockets, discovery peers, foreign senders and discovery counters. */
	readonly udp: UdpModel;
	/** The machine's sockets (core/system/). */
	readonly system = new SystemModel();
	/** Auto-reply rules and their counts. */
	readonly rules = new RulesModel();
	/** Relayed pairs and their logs (issue 13). */
	readonly relays: RelayModel;
	/** Hosts and their services, every discovery protocol together (issue 15). */
	readonly lan: LanModel;
	notices: Notice[] = [];
	evictedNotices = 0;
	bytesIn = 0;
	bytesOut = 0;
	rateIn = 0;
	rateOut = 0;
	lastSeq = 0;
	refusedTotal = 0;
	refused: RefusedRow[] = [];
	isRefusedChanged = false;
	/** Set when a rate sample moved netdash's total rates (a publish must show them, even with no event since). */
	isRatesChanged = false;
	admission: AdmissionView = {allow: [], deny: [], maxConnections: 100};
	kernelDrops = 0;
	/** Set when rows were added or removed (the row arrays must be rebuilt). */
	isMembershipChanged = true;
	/** Connections added since the store last built its rows, in order (the store empties it). */
	readonly addedConnections: string[] = [];
	/** Connections removed so far: while it stands still, the connection rows have only grown. */
	connectionsRemoved = 0;
	readonly dirtyListeners = new Set<string>();
	readonly dirtyConnections = new Set<string>();
	readonly dirtyLogs = new Set<string>();
	isNoticesChanged = false;
	readonly #options: ModelOptions;
	#sampledBytesIn = 0;
	#sampledBytesOut = 0;

	constructor(options: ModelOptions) {
		this.#options = options;
		this.logs = new LogBook(options.logBytes, options.logEntryBytes);
		this.udp = new UdpModel(this.logs, this.dirtyLogs);
		this.relays = new RelayModel(this.logs, this.dirtyLogs);
		this.lan = new LanModel({maxGone: options.maxLanGone, maxHistory: options.maxLanHistory});
	}

	/** Fold one event in. */
	apply(event: BusEvent): void {
		this.lastSeq = event.seq;
		this.udp.apply(event);
		this.system.apply(event);
		this.rules.apply(event);
		this.relays.apply(event);
		this.lan.apply(event);
		switch (event.type) {
			case 'data-received': {
				const connection = this.connections.get(event.connection);
				if (connection) {
					connection.bytesIn += event.bytes;
					this.bytesIn += event.bytes;
					this.dirtyConnections.add(connection.id);
					if (connection.framing === 'raw') {
						this.#log(connection.id, event, 'in', 'chunk', event.bytes, event.data);
					}

					if (connection.relay !== undefined) {
						this.relays.received(connection.id, event, connection.framing === 'raw');
					}
				}

				break;
			}

			case 'message-received': {
				const connection = this.connections.get(event.connection);
				if (connection) {
					connection.messagesIn++;
					this.dirtyConnections.add(connection.id);
					this.logs.appendData(connection.id, event.seq, event.at, 'in', 'message', event.data, event.bytes, undefined, this.dirtyLogs, event.delimiter === 'crlf');
					if (connection.relay !== undefined) {
						this.relays.message(connection.id, event);
					}
				}

				break;
			}

			case 'data-sent': {
				const connection = this.connections.get(event.connection);
				if (connection) {
					connection.bytesOut += event.bytes;
					connection.queued = event.queued;
					this.bytesOut += event.bytes;
					this.dirtyConnections.add(connection.id);
					this.#log(connection.id, event, 'out', 'chunk', event.bytes, event.data);
				}

				break;
			}

			case 'send-queued': {
				this.#update(event.connection, (connection) => {
					connection.queued = event.queued;
				});
				break;
			}

			case 'message-partial': {
				this.#note(event.connection, event, `partial, ${event.bytes} bytes: the peer sent FIN before the message was complete`, true);
				break;
			}

			case 'framing-overflowed': {
				this.#note(event.connection, event, event.message, true);
				break;
			}

			case 'listener-opened': {
				this.listeners.set(event.listener, {
					id: event.listener,
					address: event.address,
					port: event.port,
					// The framing as it is (the panes compare it); the row's framing cell adds `·tls` for display.
					framing: event.framing,
					isTls: event.tls !== undefined,
					target: event.target,
					state: 'listening',
					accepted: 0,
					open: 0,
					refused: 0,
					openedAt: event.at,
					closedAt: undefined,
					row: undefined,
				});
				this.isMembershipChanged = true;
				this.#note(event.listener, event, `listening on ${event.address}:${event.port} (${event.framing}${event.tls ? ', TLS' : ''})`, false);
				// The certificate a TLS listener serves: what its clients must trust, or pin by fingerprint.
				for (const note of event.tls ? certificateNotes(event.tls.certificate, 'our certificate') : []) {
					this.#note(event.listener, event, note.text, note.isError);
				}

				break;
			}

			case 'listener-closed': {
				const listener = this.listeners.get(event.listener);
				if (listener) {
					listener.state = 'closed';
					listener.closedAt = event.at;
					this.dirtyListeners.add(listener.id);
					this.#note(listener.id, event, `stopped listening after ${event.accepted} connection(s)`, false);
				}

				break;
			}

			case 'connection-dialing': {
				const dialing = newConnectionModel(event.connection, 'dialed', null, event.framing, event.remote, event.at, 'connecting');
				dialing.isHalfOpen = event.isHalfOpen;
				dialing.relay = event.relay;
				dialing.partner = event.partner;
				this.connections.set(event.connection, dialing);
				this.addedConnections.push(event.connection);
				this.isMembershipChanged = true;
				// A relay's dialed half: its relay's log tells the dial (idle pairs then cost no log of their own).
				if (event.relay === undefined) {
					this.#note(event.connection, event, `connecting to ${event.remote.address}:${event.remote.port}`, false);
				}
				break;
			}

			case 'connection-opened': {
				let connection = this.connections.get(event.connection);
				if (connection) {
					connection.state = 'open';
					connection.remote = event.remote;
					this.dirtyConnections.add(connection.id);
				} else {
					connection = newConnectionModel(event.connection, event.origin, event.listener, event.framing, event.remote, event.at, 'open');
					this.connections.set(connection.id, connection);
					this.addedConnections.push(connection.id);
					this.isMembershipChanged = true;
				}

				connection.local = event.local;
				connection.isHalfOpen = event.isHalfOpen;
				connection.relay = event.relay;
				connection.partner = event.partner;
				if (event.tls) {
					// The framing stays as it is (raw chunks are logged, line messages marked, Enter ends a line): the
					// row's `tls` says TLS, and the framing cell shows `·tls`, or `·tls!` for an unverified peer.
					connection.tls = {protocol: event.tls.protocol, alpn: event.tls.alpn, isInsecure: event.tls.isInsecure === true};
					if (event.tls.isInsecure) {
						const why = event.tls.verifyError ? `: ${event.tls.verifyError}` : '';
						this.#notice({seq: event.seq, at: event.at, level: 'error', target: connection.id, code: 'TLS_INSECURE', message: `${connection.id} is not verified (--insecure)${why}`});
					}
				}

				const listener = event.listener ? this.listeners.get(event.listener) : undefined;
				if (listener) {
					listener.accepted++;
					listener.open++;
					this.dirtyListeners.add(listener.id);
					// The listener's log tells who came in (the connection's own log stays empty until it has news).
					this.#note(listener.id, event, `accepted ${connection.id} from ${hostPort(event.remote)}`, false);
				}

				// A dial's log already began with "connecting to"; an accepted connection gets its log when
				// something happens on it (the pane header names its 4-tuple): 10,000 idle accepts make no notes.
				if (event.origin === 'dialed' && event.relay === undefined) {
					this.#note(connection.id, event, `connected: ${event.local.address}:${event.local.port} → ${event.remote.address}:${event.remote.port}`, false);
				}

				// A TLS session is news: its version, cipher, ALPN and certificate, one note each.
				for (const note of event.tls ? tlsNotes(event.tls, event.origin === 'accepted') : []) {
					this.#note(connection.id, event, note.text, note.isError);
				}

				break;
			}

			case 'connection-half-closed': {
				this.#update(event.connection, (connection) => {
					if (connection.state === 'open') {
						connection.state = event.by === 'local' ? 'half-closed-local' : 'half-closed-remote';
					}

					if (event.by === 'remote') {
						connection.halfClosedAt = event.at;
					}
				});
				this.#note(event.connection, event, event.by === 'local' ? 'we sent FIN (shutdown): still reading' : 'peer sent FIN: it will send no more', false);
				break;
			}

			case 'connection-closed': {
				this.#update(event.connection, (connection) => {
					const wasOpen = connection.state !== 'connecting';
					connection.state = event.reason;
					connection.closeReason = event.reason;
					connection.closedAt = event.at;
					connection.queued = 0;
					connection.unsent = event.unsent;
					connection.rateIn = 0;
					connection.rateOut = 0;
					connection.isStalled = false;
					// The event's counters are the socket's own: they settle any difference.
					this.bytesIn += event.bytesIn - connection.bytesIn;
					this.bytesOut += event.bytesOut - connection.bytesOut;
					connection.bytesIn = event.bytesIn;
					connection.bytesOut = event.bytesOut;
					const listener = connection.listener ? this.listeners.get(connection.listener) : undefined;
					if (listener && wasOpen) {
						listener.open--;
						this.dirtyListeners.add(listener.id);
					}
				});
				const unsent = event.unsent > 0 ? `, ${event.unsent} B unsent` : '';
				this.#note(event.connection, event, `${event.reason}${event.code ? ` (${event.code})` : ''}: ${event.bytesIn} B in, ${event.bytesOut} B out${unsent}`, event.reason !== 'closed');
				break;
			}

			case 'socket-failed': {
				this.#update(event.target, (connection) => {
					connection.error = {code: event.code, message: event.message};
				});
				this.#note(event.target, event, event.message, true, event.code);
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: event.target, code: event.code, message: event.message});
				break;
			}

			case 'command-failed': {
				// A command aimed at a socket we know (even a closed one) is noted in its log as well.
				const target = event.target !== undefined && (this.connections.has(event.target) || this.listeners.has(event.target)) ? event.target : undefined;
				if (target !== undefined) {
					this.#note(target, event, event.message, true, event.code);
				}

				this.#notice({seq: event.seq, at: event.at, level: 'error', target, code: event.code, message: event.message});
				break;
			}

			case 'tls-handshake-failed': {
				this.#note(event.listener, event, event.message, true, event.code);
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: event.listener, code: event.code, message: event.message});
				break;
			}

			case 'connection-refused': {
				this.refusedTotal++;
				this.refused.push({seq: event.seq, at: event.at, listener: event.listener, address: event.remote.address, port: event.remote.port, reason: event.reason, rule: event.rule});
				if (this.refused.length > this.#options.maxNotices * 2) {
					this.refused = this.refused.slice(-this.#options.maxNotices);
				}

				this.isRefusedChanged = true;
				const listener = this.listeners.get(event.listener);
				if (listener) {
					listener.refused++;
					this.dirtyListeners.add(listener.id);
				}

				const why = event.reason === 'limit' ? 'over the connection limit' : `denied (${event.rule ?? 'rule'})`;
				this.#note(event.listener, event, `refused ${event.remote.address}:${event.remote.port}: ${why}`, false);
				break;
			}

			case 'datagram-refused': {
				// Counted with TCP refusals: one rule set, one count of who was turned away.
				this.refusedTotal += event.count;
				this.refused.push({seq: event.seq, at: event.at, listener: event.socket, address: event.from.address, port: event.from.port, reason: 'denied', rule: event.rule});
				if (this.refused.length > this.#options.maxNotices * 2) {
					this.refused = this.refused.slice(-this.#options.maxNotices);
				}

				this.isRefusedChanged = true;
				const times = event.count === 1 ? '' : ` (${event.count} datagrams)`;
				this.#note(event.socket, event, `refused datagrams from ${event.from.address}:${event.from.port}: denied (${event.rule})${times}`, false);
				break;
			}

			case 'half-open-changed': {
				this.#notice({seq: event.seq, at: event.at, level: 'info', target: undefined, code: undefined, message: event.isHalfOpen ? "half-open on: from now on a peer's FIN leaves the connection open until you close it" : "half-open off: from now on a peer's FIN closes the connection after its queue"});
				break;
			}

			case 'admission-changed': {
				this.admission = {allow: event.allow, deny: event.deny, maxConnections: event.maxConnections};
				this.isRefusedChanged = true;
				this.#notice({seq: event.seq, at: event.at, level: 'info', target: undefined, code: undefined, message: `admission: allow ${event.allow.join(', ') || 'all'}; deny ${event.deny.join(', ') || 'none'}; max ${event.maxConnections} per listener`});
				break;
			}

			case 'connection-stalled': {
				this.#update(event.connection, (connection) => {
					connection.isStalled = true;
				});
				const message = `stalled: ${event.queued} B queued have not drained for ${Math.round(event.stalledMs / 1000)} s — the peer is not reading or is gone (reset with R)`;
				this.#note(event.connection, event, message, true);
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: event.connection, code: 'STALLED', message: `${event.connection} ${message}`});
				break;
			}

			case 'connection-unstalled': {
				this.#update(event.connection, (connection) => {
					connection.isStalled = false;
				});
				this.#note(event.connection, event, 'queue draining again', false);
				break;
			}

			case 'resource-exhausted': {
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: undefined, code: 'EMFILE', message: event.message});
				break;
			}

			case 'kernel-drops-changed': {
				// The status bar shows drops at netdash's own sockets, not other programs'.
				this.kernelDrops = event.socketDrops;
				this.isRefusedChanged = true;
				break;
			}

			case 'log-file-failed':
			case 'pcap-file-failed': {
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: undefined, code: event.code, message: event.message});
				break;
			}

			case 'subscriber-failed': {
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: undefined, code: 'SUBSCRIBER_FAILED', message: event.message});
				break;
			}

			default: {
				const notice = workbenchNotice(event);
				if (notice) {
					this.#notice({seq: event.seq, at: event.at, code: undefined, ...notice});
				}
			}
		}
	}

	/** Bytes netdash received: every TCP connection's and every UDP socket's (the status bar's ←). */
	get totalBytesIn(): number {
		return this.bytesIn + this.udp.bytesIn;
	}

	/** Bytes netdash sent, TCP and UDP (the status bar's →). */
	get totalBytesOut(): number {
		return this.bytesOut + this.udp.bytesOut;
	}

	/** Take a rate sample: bytes since the last one over `seconds`, in total (TCP and UDP) and per connection (connection-model.ts). */
	sample(seconds: number, now = Date.now()): void {
		const bytesIn = this.totalBytesIn;
		const bytesOut = this.totalBytesOut;
		const rateIn = (bytesIn - this.#sampledBytesIn) / seconds;
		const rateOut = (bytesOut - this.#sampledBytesOut) / seconds;
		this.isRatesChanged ||= rateIn !== this.rateIn || rateOut !== this.rateOut;
		this.rateIn = rateIn;
		this.rateOut = rateOut;
		this.#sampledBytesIn = bytesIn;
		this.#sampledBytesOut = bytesOut;
		const limit = this.#options.historyLength;
		for (const connection of this.connections.values()) {
			if (sampleConnection(connection, seconds, now, limit)) {
				this.dirtyConnections.add(connection.id);
			}
		}
	}

	/** True when a connection's queue has kept growing (connection-model.ts). */
	static readonly isQueueGrowing = isQueueGrowing;

	/** Remove closed connections and listeners, and their logs. */
	clearClosed(): void {
		const gone: string[] = [];
		for (const connection of this.connections.values()) {
			if (connection.closedAt !== undefined) {
				gone.push(connection.id);
			}
		}

		for (const listener of this.listeners.values()) {
			if (listener.state === 'closed') {
				gone.push(listener.id);
			}
		}

		for (const id of gone) {
			if (this.connections.delete(id)) {
				this.connectionsRemoved++;
			}

			this.listeners.delete(id);
			this.dirtyLogs.add(id);
		}

		for (const id of [...this.udp.clearClosed(), ...this.relays.clearClosed()]) {
			gone.push(id);
			this.dirtyLogs.add(id);
		}

		this.logs.delete(gone);
		this.isMembershipChanged ||= gone.length > 0;
	}

	#update(id: string, change: (connection: ConnectionModel) => void): void {
		const connection = this.connections.get(id);
		if (connection) {
			change(connection);
			this.dirtyConnections.add(id);
		}
	}

	#log(id: string, event: BusEvent, direction: 'in' | 'out', kind: 'chunk' | 'message', bytes: number, data: Buffer): void {
		this.logs.appendData(id, event.seq, event.at, direction, kind, data, bytes, undefined, this.dirtyLogs);
	}

	#note(id: string, event: BusEvent, text: string, isError: boolean, code?: string): void {
		this.logs.appendNote(id, event.seq, event.at, code && !text.includes(code) ? `${text} (${code})` : text, isError, this.dirtyLogs);
	}

	#notice(notice: Notice): void {
		this.notices.push(notice);
		if (this.notices.length > this.#options.maxNotices * 2) {
			const drop = this.notices.length - this.#options.maxNotices;
			this.notices = this.notices.slice(drop);
			this.evictedNotices += drop;
		}

		this.isNoticesChanged = true;
	}
}
