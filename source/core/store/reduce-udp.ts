import {formatAddress} from '../errors.js';
import type {BusEvent, Endpoint, PeerFields} from '../events.js';
import type {LogBook} from './log.js';
import type {DiscoveryView, ForeignRow, PeerRow, Snapshot, SourceRow, UdpSocketRow} from './snapshot.js';

/** Bounds of what the UDP part of the model keeps. */
export type UdpModelOptions = {
	/** Foreign senders kept (least recently heard dropped first). @default 64 */
	maxForeign?: number;
	/** Sources with drop counters kept. @default 32 */
	maxSources?: number;
	/** Bytes of a foreign datagram kept. @default 32 */
	foreignBytes?: number;
};

type UdpSocketModel = {-readonly [K in keyof UdpSocketRow]: UdpSocketRow[K]} & {row: UdpSocketRow | undefined};

type Mutable<T> = {-readonly [K in keyof T]: T[K]};

type DiscoveryModel = Omit<Mutable<DiscoveryView>, 'dropped'> & {dropped: Record<string, number>};

/** The id of the log that holds discovery's notes (peers found, left, expired). */
export const DISCOVERY_LOG = 'discovery';

const idleDiscovery: DiscoveryView = Object.freeze({
	state: 'off',
	port: undefined,
	instanceId: undefined,
	name: undefined,
	intervalMs: undefined,
	targets: Object.freeze([]),
	received: 0,
	accepted: 0,
	own: 0,
	peerCount: 0,
	peersEvicted: 0,
	sourceCount: 0,
	sourcesEvicted: 0,
	dropped: Object.freeze({}),
	droppedTotal: 0,
	rateLimited: 0,
	foreign: 0,
	foreignEvicted: 0,
	probes: 0,
	peersExpired: 0,
	peersLeft: 0,
	sources: Object.freeze([]),
	error: undefined,
});

/**
 * UDP sockets, discovery peers, foreign senders and discovery counters,
 * folded from bus events with exact counters. Datagrams go to the socket's
 * log as `datagram` entries whose `text` is the peer address. Rows that did
 * not change are reused by reference in the next snapshot.
 */
export class UdpModel {
	/** Formatted peer addresses by address, then port (bounded). */
	readonly #peerTexts = new Map<string, Map<number, string>>();
	readonly sockets = new Map<string, UdpSocketModel>();
	/** Bytes of every datagram its sockets received and sent, closed sockets' included (netdash's totals add TCP's). */
	bytesIn = 0;
	bytesOut = 0;
	/** By instance id, in order of discovery. */
	readonly peers = new Map<string, {fields: PeerFields; via: PeerRow['via']; row: PeerRow | undefined}>();
	/** By `address:port`, least recently heard first. */
	readonly foreign = new Map<string, Mutable<ForeignRow>>();
	#discovery: DiscoveryModel = {...idleDiscovery, dropped: {}};
	#sources = new Map<string, Mutable<SourceRow>>();
	#isSocketsChanged = false;
	readonly #dirtySockets = new Set<string>();
	#isPeersChanged = false;
	readonly #dirtyPeers = new Set<string>();
	#isForeignChanged = false;
	#isDiscoveryChanged = false;
	readonly #logs: LogBook;
	readonly #dirtyLogs: Set<string>;
	readonly #maxForeign: number;
	readonly #maxSources: number;
	readonly #foreignBytes: number;

	constructor(logs: LogBook, dirtyLogs: Set<string>, options: UdpModelOptions = {}) {
		this.#logs = logs;
		this.#dirtyLogs = dirtyLogs;
		this.#maxForeign = options.maxForeign ?? 64;
		this.#maxSources = options.maxSources ?? 32;
		this.#foreignBytes = options.foreignBytes ?? 32;
	}

	/** True when the next snapshot must carry something new from here. */
	get isChanged(): boolean {
		return this.#isSocketsChanged || this.#dirtySockets.size > 0 || this.#isPeersChanged || this.#dirtyPeers.size > 0 || this.#isForeignChanged || this.#isDiscoveryChanged;
	}

	/** Fold one event in (events that are not about UDP or discovery are ignored). */
	apply(event: BusEvent): void {
		switch (event.type) {
			case 'udp-bound': {
				this.sockets.set(event.socket, {
					id: event.socket,
					address: event.address,
					port: event.port,
					state: 'bound',
					remote: undefined,
					isBroadcast: event.isBroadcast,
					isEcho: event.isEcho,
					datagramsIn: 0,
					datagramsOut: 0,
					bytesIn: 0,
					bytesOut: 0,
					requestsCompleted: 0,
					requestsFailed: 0,
					repliesIgnored: 0,
					lastRttMs: undefined,
					openedAt: event.at,
					closedAt: undefined,
					error: undefined,
					row: undefined,
				});
				this.#isSocketsChanged = true;
				const modes = [event.isBroadcast ? 'broadcast' : '', event.isEcho ? 'echo' : ''].filter(Boolean);
				this.#note(event.socket, event, `UDP bound to ${formatAddress(event.address, event.port)}${modes.length > 0 ? ` (${modes.join(', ')})` : ''}`);
				break;
			}

			case 'udp-connected': {
				this.#update(event.socket, (socket) => {
					socket.state = 'connected';
					socket.remote = event.remote;
				});
				this.#note(event.socket, event, `connected to ${formatAddress(event.remote.address, event.remote.port)}: the kernel now drops datagrams from anyone else`);
				break;
			}

			case 'udp-broadcast-changed': {
				this.#update(event.socket, (socket) => {
					socket.isBroadcast = event.isBroadcast;
				});
				this.#note(event.socket, event, event.isBroadcast ? 'broadcast on' : 'broadcast off');
				break;
			}

			case 'datagram-received': {
				// The hot path of a flood: no closure, no string per datagram (addresses are cached).
				const socket = this.sockets.get(event.socket);
				if (socket) {
					socket.datagramsIn++;
					socket.bytesIn += event.bytes;
					this.bytesIn += event.bytes;
					this.#dirtySockets.add(event.socket);
				}

				this.#datagram(event.socket, event, 'in', event.from, event.data);
				break;
			}

			case 'datagram-sent': {
				this.#update(event.socket, (socket) => {
					socket.datagramsOut++;
					socket.bytesOut += event.bytes;
					this.bytesOut += event.bytes;
				});
				this.#datagram(event.socket, event, 'out', event.to, event.data);
				if (event.warning) {
					this.#note(event.socket, event, event.warning);
				}

				break;
			}

			case 'udp-closed': {
				this.#update(event.socket, (socket) => {
					socket.state = 'closed';
					socket.closedAt = event.at;
					// The socket's own counters settle any difference, in the totals too.
					this.bytesIn += event.bytesIn - socket.bytesIn;
					this.bytesOut += event.bytesOut - socket.bytesOut;
					socket.datagramsIn = event.datagramsIn;
					socket.datagramsOut = event.datagramsOut;
					socket.bytesIn = event.bytesIn;
					socket.bytesOut = event.bytesOut;
				});
				this.#note(event.socket, event, `closed: ${event.datagramsIn} datagrams in (${event.bytesIn} B), ${event.datagramsOut} out (${event.bytesOut} B)`);
				break;
			}

			case 'request-completed': {
				this.#update(event.socket, (socket) => {
					socket.requestsCompleted++;
					socket.lastRttMs = event.rttMs;
				});
				this.#note(event.socket, event, `request ${hex(event.requestId)} answered by ${formatAddress(event.from.address, event.from.port)} in ${event.rttMs} ms (attempt ${event.attempts})`);
				break;
			}

			case 'request-failed': {
				this.#update(event.socket, (socket) => {
					socket.requestsFailed++;
				});
				this.#note(event.socket, event, `request ${hex(event.requestId)} failed: ${event.message}`, true);
				break;
			}

			case 'reply-ignored': {
				this.#update(event.socket, (socket) => {
					socket.repliesIgnored++;
				});
				this.#note(event.socket, event, `ignored a ${event.reason} reply ${hex(event.requestId)} from ${formatAddress(event.from.address, event.from.port)}`);
				break;
			}

			case 'socket-failed': {
				if (event.target === DISCOVERY_LOG) {
					this.#discovery.error = {code: event.code, message: event.message};
					this.#isDiscoveryChanged = true;
				} else {
					this.#update(event.target, (socket) => {
						socket.error = {code: event.code, message: event.message};
					});
				}

				break;
			}

			case 'discovery-started': {
				this.#discovery = {
					...idleDiscovery,
					dropped: {},
					state: 'running',
					port: event.port,
					instanceId: event.instanceId,
					name: event.name,
					intervalMs: event.intervalMs,
					targets: Object.freeze(event.targets.map((target) => Object.freeze({...target}))),
				};
				this.#sources = new Map();
				this.#isDiscoveryChanged = true;
				this.#note(DISCOVERY_LOG, event, `discovery on port ${event.port} as ${JSON.stringify(event.name)} (${event.instanceId}), announcing every ${event.intervalMs / 1000} s to ${event.targets.map((target) => formatAddress(target.address, target.port)).join(', ') || 'nowhere'}`);
				break;
			}

			case 'discovery-stopped': {
				this.#discovery.state = event.reason === 'failed' ? 'failed' : 'stopped';
				this.#discovery.received = event.received;
				this.#isDiscoveryChanged = true;
				// The core's table is gone with the run.
				if (this.peers.size > 0) {
					this.peers.clear();
					this.#isPeersChanged = true;
				}

				this.#note(DISCOVERY_LOG, event, `discovery ${this.#discovery.state}: ${event.received} datagrams received, ${event.dropped} dropped`, event.reason === 'failed');
				break;
			}

			case 'discovery-stats': {
				const discovery = this.#discovery;
				discovery.received = event.received;
				discovery.accepted = event.accepted;
				discovery.own = event.own;
				discovery.peerCount = event.peers;
				discovery.peersEvicted = event.peersEvicted;
				discovery.sourceCount = event.sources;
				discovery.sourcesEvicted = event.sourcesEvicted;
				this.#isDiscoveryChanged = true;
				break;
			}

			case 'probe-sent': {
				this.#discovery.probes++;
				this.#isDiscoveryChanged = true;
				break;
			}

			case 'peer-discovered':
			case 'peer-updated': {
				const fields = peerFields(event);
				const known = this.peers.get(event.instanceId);
				if (known) {
					known.fields = fields;
					this.#dirtyPeers.add(event.instanceId);
				} else {
					this.peers.set(event.instanceId, {fields, via: event.type === 'peer-discovered' ? event.via : 'announce', row: undefined});
					this.#isPeersChanged = true;
				}

				if (event.type === 'peer-discovered') {
					const restart = event.restartOf ? ` (restarted; was ${event.restartOf})` : '';
					this.#note(DISCOVERY_LOG, event, `peer ${JSON.stringify(event.name)} at ${formatAddress(event.address, event.port)} discovered by ${event.via}${restart}`);
				} else if (event.changed.includes('state')) {
					this.#note(DISCOVERY_LOG, event, `peer ${JSON.stringify(event.name)} at ${formatAddress(event.address, event.port)} is ${event.state}`);
				}

				break;
			}

			case 'peer-expired':
			case 'peer-left': {
				if (this.peers.delete(event.instanceId)) {
					this.#isPeersChanged = true;
				}

				if (event.type === 'peer-expired') {
					this.#discovery.peersExpired++;
				} else {
					this.#discovery.peersLeft++;
				}

				this.#isDiscoveryChanged = true;
				const why = event.type === 'peer-expired' ? 'expired (three announces missed)' : `left (${event.reason})`;
				this.#note(DISCOVERY_LOG, event, `peer ${JSON.stringify(event.name)} at ${formatAddress(event.address, event.port)} ${why}`);
				break;
			}

			case 'foreign-datagram': {
				this.#foreign(event.from, event.bytes, event.data, event.at, event.count ?? 1);
				break;
			}

			case 'datagram-refused': {
				// Discovery's refusals are drops too (its counters add up to what it received); a socket's show in its row.
				if (event.socket === 'discovery') {
					const discovery = this.#discovery;
					discovery.dropped.denied = (discovery.dropped.denied ?? 0) + event.count;
					discovery.droppedTotal += event.count;
					this.#isDiscoveryChanged = true;
				}

				break;
			}

			case 'packet-dropped': {
				const discovery = this.#discovery;
				discovery.dropped[event.reason] = (discovery.dropped[event.reason] ?? 0) + event.count;
				discovery.droppedTotal += event.count;
				if (event.reason === 'rate-limited') {
					discovery.rateLimited += event.count;
				}

				this.#source(event.from.address, event.reason, event.count, event.at);
				this.#isDiscoveryChanged = true;
				break;
			}
		}
	}

	/** Forget closed sockets; returns their ids (their logs go too). */
	clearClosed(): string[] {
		const gone: string[] = [];
		for (const socket of this.sockets.values()) {
			if (socket.state === 'closed') {
				gone.push(socket.id);
			}
		}

		for (const id of gone) {
			this.sockets.delete(id);
		}

		this.#isSocketsChanged ||= gone.length > 0;
		return gone;
	}

	/** The UDP part of the next snapshot, reusing rows and arrays of `previous` that did not change. */
	build(previous: Snapshot | undefined): Pick<Snapshot, 'udpSockets' | 'peers' | 'foreign' | 'discovery'> {
		let udpSockets = previous?.udpSockets;
		if (!udpSockets || this.#isSocketsChanged || this.#dirtySockets.size > 0) {
			const rows: UdpSocketRow[] = [];
			for (const socket of this.sockets.values()) {
				if (!socket.row || this.#dirtySockets.has(socket.id)) {
					const {row: _, ...fields} = socket;
					socket.row = Object.freeze(fields);
				}

				rows.push(socket.row);
			}

			udpSockets = Object.freeze(rows);
		}

		let peers = previous?.peers;
		if (!peers || this.#isPeersChanged || this.#dirtyPeers.size > 0) {
			const rows: PeerRow[] = [];
			for (const peer of this.peers.values()) {
				if (!peer.row || this.#dirtyPeers.has(peer.fields.instanceId)) {
					peer.row = Object.freeze({...peer.fields, ports: Object.freeze([...peer.fields.ports]), via: peer.via});
				}

				rows.push(peer.row);
			}

			peers = Object.freeze(rows);
		}

		let foreign = previous?.foreign;
		if (!foreign || this.#isForeignChanged) {
			foreign = Object.freeze([...this.foreign.values()].map((row) => Object.freeze({...row})));
		}

		let discovery = previous?.discovery;
		if (!discovery || this.#isDiscoveryChanged) {
			discovery = Object.freeze({
				...this.#discovery,
				dropped: Object.freeze({...this.#discovery.dropped}),
				sources: Object.freeze([...this.#sources.values()].map((row) => Object.freeze({...row}))),
			});
		}

		this.#isSocketsChanged = false;
		this.#dirtySockets.clear();
		this.#isPeersChanged = false;
		this.#dirtyPeers.clear();
		this.#isForeignChanged = false;
		this.#isDiscoveryChanged = false;
		return {udpSockets, peers, foreign, discovery};
	}

	#update(id: string, change: (socket: UdpSocketModel) => void): void {
		const socket = this.sockets.get(id);
		if (socket) {
			change(socket);
			this.#dirtySockets.add(id);
		}
	}

	#foreign(from: Endpoint, bytes: number, data: Buffer, at: number, count: number): void {
		const key = formatAddress(from.address, from.port);
		let row = this.foreign.get(key);
		if (row) {
			this.foreign.delete(key);
		} else {
			row = {address: from.address, port: from.port, datagrams: 0, bytes: 0, lastBytes: 0, firstAt: at, lastAt: at, data: Buffer.alloc(0)};
			if (this.foreign.size >= this.#maxForeign) {
				this.foreign.delete(this.foreign.keys().next().value!);
				this.#discovery.foreignEvicted++;
			}
		}

		// One event stands for `count` datagrams (summed by discovery once a second); their sizes are known only in total for the last.
		row.datagrams += count;
		row.bytes += bytes * count;
		row.lastBytes = bytes;
		row.lastAt = at;
		row.data = this.#logs.copy(data, this.#foreignBytes);
		this.foreign.set(key, row);
		this.#discovery.foreign += count;
		this.#isForeignChanged = true;
		this.#isDiscoveryChanged = true;
	}

	#source(address: string, reason: string, count: number, at: number): void {
		let row = this.#sources.get(address);
		if (row) {
			this.#sources.delete(address);
		} else {
			row = {address, dropped: 0, rateLimited: 0, lastReason: reason, lastAt: at};
			if (this.#sources.size >= this.#maxSources) {
				this.#sources.delete(this.#sources.keys().next().value!);
			}
		}

		row.dropped += count;
		if (reason === 'rate-limited') {
			row.rateLimited += count;
		}

		row.lastReason = reason;
		row.lastAt = at;
		this.#sources.set(address, row);
	}

	#datagram(id: string, event: BusEvent, direction: 'in' | 'out', peer: Endpoint, data: Buffer): void {
		this.#logs.appendData(id, event.seq, event.at, direction, 'datagram', data, data.length, this.#peerText(peer), this.#dirtyLogs);
	}

	/** `address:port` of a datagram's peer, from a small cache: a flood comes from few senders. */
	#peerText(peer: Endpoint): string {
		let ports = this.#peerTexts.get(peer.address);
		if (!ports) {
			if (this.#peerTexts.size >= 256) {
				this.#peerTexts.clear();
			}

			ports = new Map();
			this.#peerTexts.set(peer.address, ports);
		}

		let text = ports.get(peer.port);
		if (text === undefined) {
			if (ports.size >= 256) {
				ports.clear();
			}

			text = formatAddress(peer.address, peer.port);
			ports.set(peer.port, text);
		}

		return text;
	}

	#note(id: string, event: BusEvent, text: string, isError = false): void {
		this.#logs.appendNote(id, event.seq, event.at, text, isError, this.#dirtyLogs);
	}
}

/** Only the peer's fields, without the event's own. */
function peerFields(peer: PeerFields): PeerFields {
	const {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen} = peer;
	return {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen};
}

function hex(requestId: number): string {
	return `0x${requestId.toString(16).padStart(8, '0')}`;
}
