import type {BusEvent, CloseReason, Endpoint, Origin} from '../events.js';
import type {ConnectionState} from '../tcp/connection.js';
import {LogBook} from './log.js';
import {UdpModel} from './reduce-udp.js';
import {SystemModel} from './reduce-system.js';
import type {AdmissionView, ConnectionRow, ListenerRow, Notice, RefusedRow} from './snapshot.js';

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
};

type ListenerModel = {
	id: string;
	address: string;
	port: number;
	framing: string;
	target: Endpoint | undefined;
	state: 'listening' | 'closed';
	accepted: number;
	open: number;
	refused: number;
	openedAt: number;
	closedAt: number | undefined;
	row: ListenerRow | undefined;
};

type ConnectionModel = {
	id: string;
	origin: Origin;
	listener: string | null;
	framing: string;
	state: ConnectionState;
	local: Endpoint | undefined;
	remote: Endpoint;
	bytesIn: number;
	bytesOut: number;
	queued: number;
	unsent: number;
	messagesIn: number;
	rateIn: number;
	rateOut: number;
	historyIn: number[];
	historyOut: number[];
	sampledIn: number;
	sampledOut: number;
	sampledQueued: number;
	queueGrowth: number;
	isStalled: boolean;
	isHalfOpen: boolean;
	halfClosedAt: number | undefined;
	waitedMs: number;
	openedAt: number;
	closedAt: number | undefined;
	closeReason: CloseReason | undefined;
	error: {code: string; message: string} | undefined;
	relay: string | undefined;
	partner: string | undefined;
	row: ConnectionRow | undefined;
};

/** The history of a connection with no sample yet: one shared frozen array, not two per connection. */
const noHistory: number[] = Object.freeze([]) as unknown as number[];

/** Samples of growth in a row after which a queue counts as growing. */
const QUEUE_GROWTH_SAMPLES = 3;

/**
 * The working model: folds bus events in with exact counters. It is
 * mutable and private to the store; `store.ts` turns it into immutable
 * snapshots. Every change marks what it touched, so publishing only
 * rebuilds those rows.
 */
export class Model {
	readonly listeners = new Map<string, ListenerModel>();
	readonly connections = new Map<string, ConnectionModel>();
	readonly logs: LogBook;
	/** UDP sockets, discovery peers, foreign senders and discovery counters. */
	readonly udp: UdpModel;
	/** The machine's sockets (core/system/). */
	readonly system = new SystemModel();
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
	admission: AdmissionView = {allow: [], deny: [], maxConnections: 100};
	kernelDrops = 0;
	/** Set when rows were added or removed (the row arrays must be rebuilt). */
	isMembershipChanged = true;
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
	}

	/** Fold one event in. */
	apply(event: BusEvent): void {
		this.lastSeq = event.seq;
		this.udp.apply(event);
		this.system.apply(event);
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
				}

				break;
			}

			case 'message-received': {
				const connection = this.connections.get(event.connection);
				if (connection) {
					connection.messagesIn++;
					this.dirtyConnections.add(connection.id);
					this.logs.appendData(connection.id, event.seq, event.at, 'in', 'message', event.data, event.bytes, undefined, this.dirtyLogs, event.delimiter === 'crlf');
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
					framing: event.framing,
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
				this.#note(event.listener, event, `listening on ${event.address}:${event.port} (${event.framing})`, false);
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
				const dialing = this.#newConnection(event.connection, 'dialed', null, event.framing, event.remote, event.at, 'connecting');
				dialing.isHalfOpen = event.isHalfOpen;
				dialing.relay = event.relay;
				dialing.partner = event.partner;
				this.connections.set(event.connection, dialing);
				this.isMembershipChanged = true;
				this.#note(event.connection, event, `connecting to ${event.remote.address}:${event.remote.port}`, false);
				break;
			}

			case 'connection-opened': {
				let connection = this.connections.get(event.connection);
				if (connection) {
					connection.state = 'open';
					connection.remote = event.remote;
					this.dirtyConnections.add(connection.id);
				} else {
					connection = this.#newConnection(event.connection, event.origin, event.listener, event.framing, event.remote, event.at, 'open');
					this.connections.set(connection.id, connection);
					this.isMembershipChanged = true;
				}

				connection.local = event.local;
				connection.isHalfOpen = event.isHalfOpen;
				connection.relay = event.relay;
				connection.partner = event.partner;
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
				if (event.origin === 'dialed') {
					this.#note(connection.id, event, `connected: ${event.local.address}:${event.local.port} → ${event.remote.address}:${event.remote.port}`, false);
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

			case 'log-file-failed': {
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: undefined, code: event.code, message: event.message});
				break;
			}

			case 'subscriber-failed': {
				this.#notice({seq: event.seq, at: event.at, level: 'error', target: undefined, code: 'SUBSCRIBER_FAILED', message: event.message});
				break;
			}
		}
	}

	/** Take a rate sample: bytes since the last one over `seconds`. */
	sample(seconds: number): void {
		this.rateIn = (this.bytesIn - this.#sampledBytesIn) / seconds;
		this.rateOut = (this.bytesOut - this.#sampledBytesOut) / seconds;
		this.#sampledBytesIn = this.bytesIn;
		this.#sampledBytesOut = this.bytesOut;
		const limit = this.#options.historyLength;
		const now = Date.now();
		for (const connection of this.connections.values()) {
			if (connection.isHalfOpen && connection.halfClosedAt !== undefined && connection.closedAt === undefined) {
				// A half-open connection waits on us after the peer's FIN: the row says for how long.
				connection.waitedMs = now - connection.halfClosedAt;
				this.dirtyConnections.add(connection.id);
			}

			if (connection.closedAt !== undefined && connection.rateIn === 0 && connection.rateOut === 0) {
				continue;
			}

			const rateIn = (connection.bytesIn - connection.sampledIn) / seconds;
			const rateOut = (connection.bytesOut - connection.sampledOut) / seconds;
			connection.sampledIn = connection.bytesIn;
			connection.sampledOut = connection.bytesOut;
			connection.queueGrowth = connection.queued > connection.sampledQueued ? connection.queueGrowth + 1 : connection.queued === 0 ? 0 : connection.queueGrowth;
			connection.sampledQueued = connection.queued;
			if (rateIn === 0 && rateOut === 0 && connection.rateIn === 0 && connection.rateOut === 0 && connection.historyIn.length === 0) {
				continue; // Idle and nothing to draw: leave the row as it is.
			}

			connection.rateIn = rateIn;
			connection.rateOut = rateOut;
			connection.historyIn = [...connection.historyIn.slice(1 - limit), rateIn];
			connection.historyOut = [...connection.historyOut.slice(1 - limit), rateOut];
			this.dirtyConnections.add(connection.id);
		}
	}

	/** True when a connection's queue has kept growing. */
	static isQueueGrowing(connection: {queued: number; queueGrowth: number}): boolean {
		return connection.queued > 0 && connection.queueGrowth >= QUEUE_GROWTH_SAMPLES;
	}

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
			this.connections.delete(id);
			this.listeners.delete(id);
			this.dirtyLogs.add(id);
		}

		for (const id of this.udp.clearClosed()) {
			gone.push(id);
			this.dirtyLogs.add(id);
		}

		this.logs.delete(gone);
		this.isMembershipChanged ||= gone.length > 0;
	}

	#newConnection(id: string, origin: Origin, listener: string | null, framing: string, remote: Endpoint, at: number, state: ConnectionState): ConnectionModel {
		return {
			id,
			origin,
			listener,
			framing,
			state,
			local: undefined,
			remote,
			bytesIn: 0,
			bytesOut: 0,
			queued: 0,
			unsent: 0,
			messagesIn: 0,
			rateIn: 0,
			rateOut: 0,
			historyIn: noHistory,
			historyOut: noHistory,
			sampledIn: 0,
			sampledOut: 0,
			sampledQueued: 0,
			queueGrowth: 0,
			isStalled: false,
			isHalfOpen: false,
			halfClosedAt: undefined,
			waitedMs: 0,
			openedAt: at,
			closedAt: undefined,
			closeReason: undefined,
			error: undefined,
			relay: undefined,
			partner: undefined,
			row: undefined,
		};
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
