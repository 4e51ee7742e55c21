/**
 * The discovery peer table: peers by instance id (least recently heard
 * first, the order eviction reads), indexed by endpoint and by address, with
 * restart detection and the verified flag. See protocol.ts for the rules;
 * this file holds the state they act on. Events go out through `emit`.
 */
import type {Endpoint, EventInput, PeerFields} from '../events.js';
import type {DiscoveryPacket} from './codec.js';

/** A peer as the table holds it: its public fields, and whether it proved its address. */
type Peer = PeerFields & {isVerified: boolean};

/** One datagram from a peer, as the table needs it. */
export type Sighting = {
	packet: DiscoveryPacket;
	from: Endpoint;
	via: 'announce' | 'probe' | 'reply';
	/** The round trip, when this is the first answer to one of our probes. */
	rttMs: number | undefined;
	/** False when the datagram may have been cut to fit (its name and ports are not trusted). */
	isWhole: boolean;
	/** It answered one of our probes: proof of its address. */
	isVerified: boolean;
};

/** What the table needs from the protocol. */
export type PeerTableSettings = {
	maxPeers: number;
	maxPeersPerAddress: number;
	intervalMs: number;
	now: () => number;
	emit: (event: EventInput) => void;
};

/** Replaced ids and shared endpoints remembered for restart detection. */
const RESTART_MEMORY = 64;

function endpointKey(from: Endpoint): string {
	return `${from.address}:${from.port}`;
}

/** A copy of the fields of a peer, for an event. */
function fields(peer: Peer): PeerFields {
	const {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen} = peer;
	return {instanceId, name, address, port, ports, state, rttMs, firstSeen, lastSeen};
}

function decrement(counts: Map<string, number>, key: string): void {
	const count = (counts.get(key) ?? 1) - 1;
	if (count > 0) {
		counts.set(key, count);
	} else {
		counts.delete(key);
	}
}

function samePorts(a: readonly number[], b: readonly number[]): boolean {
	return a.length === b.length && a.every((port, index) => port === b[index]);
}

/** See the module comment. */
export class PeerTable {
	/** Peers evicted to stay within `maxPeers`. */
	evicted = 0;
	/** By instance id, least recently heard first. */
	readonly #peers = new Map<string, Peer>();
	readonly #byEndpoint = new Map<string, string>();
	readonly #perAddress = new Map<string, number>();
	readonly #replaced = new Map<string, string>();
	readonly #shared = new Set<string>();
	/** Verified peers per address: their datagrams skip the global bucket. */
	readonly #verifiedAddresses = new Map<string, number>();
	readonly #settings: PeerTableSettings;

	constructor(settings: PeerTableSettings) {
		this.#settings = settings;
	}

	/** Peers in the table now. */
	get size(): number {
		return this.#peers.size;
	}

	/** A copy of the table, least recently heard first. */
	peers(): PeerFields[] {
		return [...this.#peers.values()].map((peer) => fields(peer));
	}

	/** Instance ids of peers that proved their address by answering a probe. */
	verifiedPeers(): string[] {
		return [...this.#peers.values()].filter((peer) => peer.isVerified).map((peer) => peer.instanceId);
	}

	/** True when a verified peer lives at `address`. */
	isVerifiedAddress(address: string): boolean {
		return this.#verifiedAddresses.has(address);
	}

	/** The peer said bye: removed. False when it is not in the table. */
	bye(instanceId: string): boolean {
		const peer = this.#peers.get(instanceId);
		if (!peer) {
			return false;
		}

		this.#remove(peer, 'bye');
		return true;
	}

	/**
	 * A peer was heard: refresh it, or add it. `ok` when it is in the table
	 * now; otherwise why it was refused (the caller counts the drop).
	 */
	observe({packet, from, via, rttMs, isWhole, isVerified}: Sighting): 'ok' | 'peer-limit' | 'table-full' {
		const now = this.#settings.now();
		const key = endpointKey(from);
		const known = this.#peers.get(packet.instanceId);
		if (known) {
			if (isVerified && !known.isVerified) {
				this.#unindex(known);
				known.isVerified = true;
				this.#index(known);
			}

			const changed: Array<'name' | 'ports' | 'address' | 'state' | 'rtt'> = [];
			if (known.address !== from.address || known.port !== from.port) {
				this.#unindex(known);
				// The proof was for the old address: anyone can send an announce carrying a known instance id.
				known.isVerified &&= isVerified || known.address === from.address;
				known.address = from.address;
				known.port = from.port;
				this.#index(known);
				changed.push('address');
			}

			if (isWhole && known.name !== packet.name) {
				known.name = packet.name;
				changed.push('name');
			}

			if (isWhole && !samePorts(known.ports, packet.ports)) {
				known.ports = packet.ports;
				changed.push('ports');
			}

			if (known.state !== 'fresh') {
				known.state = 'fresh';
				changed.push('state');
			}

			if (rttMs !== undefined) {
				known.rttMs = rttMs;
				changed.push('rtt');
			}

			known.lastSeen = now;
			// Most recently heard last: the LRU order eviction reads.
			this.#peers.delete(known.instanceId);
			this.#peers.set(known.instanceId, known);
			this.#settings.emit({type: 'peer-updated', changed, ...fields(known)});
			return 'ok';
		}

		let restartOf: string | undefined;
		if (this.#replaced.has(packet.instanceId)) {
			// The "restarted" instance is alive: two instances share this endpoint.
			this.#replaced.delete(packet.instanceId);
			this.#remember(this.#shared, key);
		} else {
			const previousId = this.#byEndpoint.get(key);
			const previous = previousId === undefined ? undefined : this.#peers.get(previousId);
			if (previous && !this.#shared.has(key)) {
				restartOf = previous.instanceId;
				this.#remove(previous, 'restarted');
				this.#replaced.set(previous.instanceId, key);
				if (this.#replaced.size > RESTART_MEMORY) {
					this.#replaced.delete(this.#replaced.keys().next().value!);
				}
			}
		}

		if (restartOf === undefined) {
			if ((this.#perAddress.get(from.address) ?? 0) >= this.#settings.maxPeersPerAddress) {
				return 'peer-limit';
			}

			if (this.#peers.size >= this.#settings.maxPeers && !this.#evictOne(isVerified)) {
				return 'table-full';
			}
		}

		const peer: Peer = {
			instanceId: packet.instanceId,
			name: packet.name,
			address: from.address,
			port: from.port,
			ports: packet.ports,
			state: 'fresh',
			rttMs: rttMs ?? null,
			firstSeen: now,
			lastSeen: now,
			isVerified,
		};
		this.#peers.set(peer.instanceId, peer);
		this.#index(peer);
		this.#settings.emit({type: 'peer-discovered', via, ...(restartOf === undefined ? {} : {restartOf}), ...fields(peer)});
		return 'ok';
	}

	/**
	 * Make room for a newcomer: evict the least recently heard peer that is
	 * not fresh (unverified ones first); if every peer is fresh, a verified
	 * newcomer evicts the least recently heard unverified peer. False when
	 * nobody may go.
	 */
	#evictOne(isVerifiedNewcomer: boolean): boolean {
		const peers = [...this.#peers.values()];
		const victim = peers.find((peer) => peer.state !== 'fresh' && !peer.isVerified)
			?? peers.find((peer) => peer.state !== 'fresh')
			?? (isVerifiedNewcomer ? peers.find((peer) => !peer.isVerified) : undefined);
		if (!victim) {
			return false;
		}

		this.evicted++;
		this.#remove(victim, 'evicted');
		return true;
	}

	#remove(peer: Peer, reason: 'bye' | 'restarted' | 'evicted' | 'expired'): void {
		this.#peers.delete(peer.instanceId);
		this.#unindex(peer);
		if (reason === 'expired') {
			peer.state = 'expired';
			this.#settings.emit({type: 'peer-expired', ...fields(peer)});
		} else {
			this.#settings.emit({type: 'peer-left', reason, ...fields(peer)});
		}
	}

	#index(peer: Peer): void {
		this.#byEndpoint.set(endpointKey(peer), peer.instanceId);
		this.#perAddress.set(peer.address, (this.#perAddress.get(peer.address) ?? 0) + 1);
		if (peer.isVerified) {
			this.#verifiedAddresses.set(peer.address, (this.#verifiedAddresses.get(peer.address) ?? 0) + 1);
		}
	}

	#unindex(peer: Peer): void {
		const key = endpointKey(peer);
		if (this.#byEndpoint.get(key) === peer.instanceId) {
			this.#byEndpoint.delete(key);
		}

		decrement(this.#perAddress, peer.address);
		if (peer.isVerified) {
			decrement(this.#verifiedAddresses, peer.address);
		}
	}

	/** Age peers: stale after 1.5 intervals of silence, expired (and removed) after 3.5. */
	sweep(now: number): void {
		const stale = 1.5 * this.#settings.intervalMs;
		const expired = 3.5 * this.#settings.intervalMs;
		for (const peer of [...this.#peers.values()]) {
			const silence = now - peer.lastSeen;
			if (silence > expired) {
				this.#remove(peer, 'expired');
			} else if (silence > stale && peer.state === 'fresh') {
				peer.state = 'stale';
				this.#settings.emit({type: 'peer-updated', changed: ['state'], ...fields(peer)});
			}
		}
	}

	#remember(set: Set<string>, key: string): void {
		set.add(key);
		if (set.size > RESTART_MEMORY) {
			set.delete(set.values().next().value!);
		}
	}
}
