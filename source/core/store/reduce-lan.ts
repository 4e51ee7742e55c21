import type {BusEvent, PeerFields, ServiceFields, ServiceProtocol} from '../events.js';
import type {LanHistoryRow, LanHostRow, LanServiceRow, ProbeResultsRow, Snapshot} from './snapshot.js';

/** Bounds of what the LAN table keeps. */
export type LanModelOptions = {
	/** Services that left or expired kept (as `gone`) under their host, oldest dropped first. @default 64 */
	maxGone?: number;
	/** History rows kept, oldest dropped first. @default 100 */
	maxHistory?: number;
};

type ServiceModel = {-readonly [K in keyof LanServiceRow]: LanServiceRow[K]} & {row: LanServiceRow | undefined};

/** `_ipp._tcp` is TCP (so are netdash's offered ports, and a Syncthing device announcing `tcp://`). */
function isTcpType(serviceType: string): boolean {
	return /\._tcp(?:\.|$)/.test(serviceType);
}

function fromService(event: ServiceFields): Omit<ServiceModel, 'row'> {
	return {
		id: `${event.protocol} ${event.key}`,
		protocol: event.protocol,
		key: event.key,
		name: event.name,
		serviceType: event.serviceType,
		host: event.host,
		address: event.address,
		ports: event.port === null ? [] : [event.port],
		isTcp: event.port !== null && (isTcpType(event.serviceType) || (event.protocol === 'syncthing' && (event.details.addresses ?? '').includes('tcp://'))),
		state: event.state,
		rttMs: null,
		firstSeen: event.firstSeen,
		lastSeen: event.lastSeen,
	};
}

function fromPeer(event: PeerFields): Omit<ServiceModel, 'row'> {
	return {
		id: `netdash ${event.instanceId}`,
		protocol: 'netdash',
		key: event.instanceId,
		name: event.name,
		serviceType: 'netdash',
		host: event.address,
		address: event.address,
		ports: [...event.ports],
		isTcp: event.ports.length > 0,
		state: event.state === 'expired' ? 'gone' : event.state,
		rttMs: event.rttMs,
		firstSeen: event.firstSeen,
		lastSeen: event.lastSeen,
	};
}

/**
 * One table of what is on the subnet: netdash peers (`peer-*`) and the
 * services every LAN protocol reports (`service-*`: mDNS, SSDP, Syncthing)
 * folded into hosts by address, each service `fresh`, `stale` or `gone`, with
 * a bounded history of what appeared, expired, said bye or restarted. It does
 * not care which protocol found a host.
 */
export class LanModel {
	/** By `protocol key`, in order of first appearance. */
	readonly #services = new Map<string, ServiceModel>();
	/** Ids of gone services, oldest first (bounded). */
	readonly #gone = new Set<string>();
	/** Why each gone service went: a `bye` followed by the same service again is a restart. */
	readonly #goneReason = new Map<string, LanHistoryRow['kind']>();
	readonly #history: LanHistoryRow[] = [];
	readonly #maxGone: number;
	readonly #maxHistory: number;
	/** The latest broadcast probes' results, oldest first (bounded). */
	readonly #probes: ProbeResultsRow[] = [];
	#isProbesChanged = false;
	/** LAN protocols browsing now (`services-browsing`), until discovery stops. */
	#browsing: readonly ServiceProtocol[] = [];
	#isChanged = false;
	#isHistoryChanged = false;

	constructor(options: LanModelOptions = {}) {
		this.#maxGone = options.maxGone ?? 64;
		this.#maxHistory = options.maxHistory ?? 100;
	}

	/** True when the next snapshot needs new hosts or history. */
	get isChanged(): boolean {
		return this.#isChanged || this.#isHistoryChanged || this.#isProbesChanged;
	}

	/** Fold one event in (others are ignored). */
	apply(event: BusEvent): void {
		switch (event.type) {
			case 'service-discovered':
			case 'service-updated': {
				this.#see(fromService(event), event.at);
				break;
			}

			case 'peer-discovered':
			case 'peer-updated': {
				// A restart is said once, by the new instance; the old one's `peer-left` (`restarted`) only removes it.
				const restartOf = event.type === 'peer-discovered' ? event.restartOf : undefined;
				this.#see(fromPeer(event), event.at, restartOf === undefined ? undefined : 'restarted');
				break;
			}

			case 'service-expired': {
				this.#leave(`${event.protocol} ${event.key}`, 'expired', event.at);
				break;
			}

			case 'service-left': {
				this.#leave(`${event.protocol} ${event.key}`, event.reason, event.at);
				if (event.reason === 'stopped' && this.#browsing.includes(event.protocol)) {
					this.#browsing = Object.freeze(this.#browsing.filter((protocol) => protocol !== event.protocol));
				}

				break;
			}

			case 'probe-results': {
				const {seq: _, type: __, ref: ___, ...row} = event;
				this.#probes.push(Object.freeze(row));
				if (this.#probes.length > 8) {
					this.#probes.shift();
				}

				this.#isProbesChanged = true;
				break;
			}

			case 'services-browsing': {
				this.#browsing = Object.freeze([...new Set([...this.#browsing, ...event.protocols])]);
				this.#isChanged = true;
				break;
			}

			case 'peer-expired': {
				this.#leave(`netdash ${event.instanceId}`, 'expired', event.at);
				break;
			}

			case 'peer-left': {
				const id = `netdash ${event.instanceId}`;
				if (event.reason === 'restarted') {
					this.#forget(id);
				} else {
					this.#leave(id, event.reason, event.at);
				}

				break;
			}

			case 'discovery-stopped': {
				this.#browsing = Object.freeze([]);
				this.#isChanged = true;
				// The peers leave with discovery (the Peers list empties too); what they were stays in the history.
				for (const [id, service] of this.#services) {
					if (service.protocol === 'netdash' && service.state !== 'gone') {
						this.#leave(id, 'stopped', event.at);
					}
				}

				break;
			}

			default:
		}
	}

	/** The snapshot's `hosts` and `lanHistory`, reused from `previous` when nothing changed. */
	build(previous: Snapshot | undefined): Pick<Snapshot, 'hosts' | 'lanHistory' | 'lanBrowsing' | 'probes'> {
		let hosts = previous?.hosts;
		const lanBrowsing = this.#browsing;
		if (!hosts || this.#isChanged) {
			const byAddress = new Map<string, LanServiceRow[]>();
			for (const service of this.#services.values()) {
				service.row ??= Object.freeze({...withoutRow(service), ports: Object.freeze([...service.ports])});
				const list = byAddress.get(service.address);
				if (list) {
					list.push(service.row);
				} else {
					byAddress.set(service.address, [service.row]);
				}
			}

			// What is there comes first: within a host, gone services after the live ones; hosts with nothing live after the others.
			const rows = [...byAddress].map(([address, services]) => hostRow(address, [...services.filter((row) => row.state !== 'gone'), ...services.filter((row) => row.state === 'gone')]));
			hosts = Object.freeze([...rows.filter((row) => row.state !== 'gone'), ...rows.filter((row) => row.state === 'gone')]);
			this.#isChanged = false;
		}

		let lanHistory = previous?.lanHistory;
		if (!lanHistory || this.#isHistoryChanged) {
			lanHistory = Object.freeze([...this.#history]);
			this.#isHistoryChanged = false;
		}

		let probes = previous?.probes;
		if (!probes || this.#isProbesChanged) {
			probes = Object.freeze([...this.#probes]);
			this.#isProbesChanged = false;
		}

		return {hosts, lanHistory, lanBrowsing, probes};
	}

	#see(fields: Omit<ServiceModel, 'row'>, at: number, kind?: LanHistoryRow['kind']): void {
		const known = this.#services.get(fields.id);
		if (known?.state === 'gone') {
			// Back after it went: in its old place; after a bye, that is a restart.
			const reason = this.#goneReason.get(fields.id);
			this.#gone.delete(fields.id);
			this.#goneReason.delete(fields.id);
			this.#record(kind ?? (reason === 'bye' ? 'restarted' : 'appeared'), fields, at);
		} else if (!known) {
			this.#record(kind ?? 'appeared', fields, at);
		}

		if (known) {
			Object.assign(known, fields, {row: undefined});
		} else {
			this.#services.set(fields.id, {...fields, row: undefined});
		}

		this.#isChanged = true;
	}

	#leave(id: string, kind: LanHistoryRow['kind'], at: number): void {
		const service = this.#services.get(id);
		if (!service || service.state === 'gone') {
			return;
		}

		service.state = 'gone';
		service.row = undefined;
		this.#record(kind, service, at);
		this.#gone.add(id);
		this.#goneReason.set(id, kind);
		if (this.#gone.size > this.#maxGone) {
			const [oldest] = this.#gone;
			this.#forget(oldest!);
		}

		this.#isChanged = true;
	}

	/** Remove a service from the table, whatever its state. */
	#forget(id: string): void {
		if (this.#services.delete(id)) {
			this.#isChanged = true;
		}

		this.#gone.delete(id);
		this.#goneReason.delete(id);
	}

	#record(kind: LanHistoryRow['kind'], service: Pick<LanServiceRow, 'protocol' | 'name' | 'address' | 'ports' | 'serviceType'>, at: number): void {
		this.#history.push(Object.freeze({at, kind, protocol: service.protocol, name: service.name, serviceType: service.serviceType, address: service.address, port: service.ports[0] ?? null}));
		if (this.#history.length > this.#maxHistory) {
			this.#history.splice(0, this.#history.length - this.#maxHistory);
		}

		this.#isHistoryChanged = true;
	}
}

function withoutRow(service: ServiceModel): LanServiceRow {
	const {row: _, ...fields} = service;
	return fields;
}

const stateOrder: Record<LanServiceRow['state'], number> = {fresh: 0, stale: 1, gone: 2};

/** A host: its address, the host name its services give, and its freshest state. */
function hostRow(address: string, services: readonly LanServiceRow[]): LanHostRow {
	// An mDNS host name (`printer.local`) names the machine best, else any host name a service gave; a peer's name is its own, not the machine's.
	const named = services.find((service) => service.protocol === 'mdns' && service.host !== address) ?? services.find((service) => service.protocol !== 'netdash' && service.host !== address);
	const name = named?.host ?? address;
	const state = services.reduce<LanServiceRow['state']>((best, service) => (stateOrder[service.state] < stateOrder[best] ? service.state : best), 'gone');
	return Object.freeze({address, name, state, services: Object.freeze(services)});
}
