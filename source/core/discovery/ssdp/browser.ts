/**
 * SSDP / UPnP browsing without sockets: messages in; searches and
 * description fetches out. One service per device (its `uuid:`), however
 * many notification types it announces. `CACHE-CONTROL: max-age` drives its
 * expiry; it is searched for again (ST: its uuid) at 80 % of that; a byebye
 * from its own address removes it at once. A description is fetched only
 * from the announcement's own address, once per device per max-age (at
 * least 30 s apart), a few at a time. It never answers a search.
 */
import {graceMs, type ServiceTable} from '../services/service-table.js';
import {DEFAULT_MAX_AGE_S, deviceKeyOf, isDeviceType, maxAgeOf, parseDescription, type DeviceDescription, type SsdpMessage} from './codec.js';
import {whyNotFetch, type FetchResult} from './fetch.js';

/** Bounds and timing of the browser. */
export type SsdpBrowserLimits = {
	/** Devices remembered. @default 256 */
	maxDevices: number;
	/** Description fetches under way at once (one per source address at most). @default 4 */
	maxFetching: number;
	/** A device is trusted at most this long without being heard again, whatever its max-age. @default 86400000 (a day) */
	maxTtlMs: number;
	/** Fetches of one device's description are at least this far apart, even when its max-age is shorter. @default 30000 */
	minRefetchMs: number;
};

/** The limits unless told otherwise. */
export const DEFAULT_SSDP_LIMITS: Readonly<SsdpBrowserLimits> = {maxDevices: 256, maxFetching: 4, maxTtlMs: 86_400_000, minRefetchMs: 30_000};

/** What the browser asks its glue to do. */
export type SsdpEffects = {
	/** Multicast an M-SEARCH for `st`. */
	search(st: string): void;
	/** GET `location`; the glue calls `described(key, result, now)` when it ends. */
	fetch(key: string, location: string, sender: string): void;
};

/** What the browser counted. */
export type SsdpCounts = {searchesSeen: number; alive: number; byes: number; searchesSent: number; fetches: number; fetchesRefused: number; refused: number; ignored: number};

type Device = {
	key: string;
	from: string;
	location: string | undefined;
	server: string | undefined;
	deviceType: string | undefined;
	/** Max-age as announced (for refetching) and as trusted (clamped by maxTtlMs). */
	announcedMs: number;
	lifetimeMs: number;
	heardAt: number;
	firstHeardAt: number;
	isSearched: boolean;
	isPublished: boolean;
	isFetching: boolean;
	/** Set while a fetch is wanted but every slot is taken. */
	wantsFetch: boolean;
	fetchedAt: number | undefined;
	outcome: string | undefined;
	description: DeviceDescription;
};

/** Waits between searches for every device: 3 s, doubling, at most 5 minutes. */
const FIRST_SEARCH_MS = 3000;
/** The longest a new device waits for its description before it is shown without: one fetch's time limit. */
const FIRST_SIGHTING_WAIT_MS = 2000;
const LONGEST_SEARCH_MS = 300_000;

/** The browser state; the glue feeds it and carries out its effects. */
export class SsdpBrowser {
	readonly counts: SsdpCounts = {searchesSeen: 0, alive: 0, byes: 0, searchesSent: 0, fetches: 0, fetchesRefused: 0, refused: 0, ignored: 0};
	readonly #devices = new Map<string, Device>();
	/** Fetches under way: device key → the address it goes to. */
	readonly #inFlight = new Map<string, string>();
	readonly #table: ServiceTable;
	readonly #effects: SsdpEffects;
	readonly #limits: SsdpBrowserLimits;
	#nextSearchAt = 0;
	#searchWait = FIRST_SEARCH_MS;

	constructor(table: ServiceTable, effects: SsdpEffects, limits: Partial<SsdpBrowserLimits> = {}) {
		this.#table = table;
		this.#effects = effects;
		this.#limits = {...DEFAULT_SSDP_LIMITS, ...limits};
	}

	/** Devices remembered. */
	get size(): number {
		return this.#devices.size;
	}

	/** Search for every device now. */
	start(now: number): void {
		this.#search('ssdp:all');
		this.#nextSearchAt = now + this.#searchWait;
	}

	/** One message from `from`. Searches are only counted: netdash never answers one. */
	receive(message: SsdpMessage, from: string, now: number): void {
		if (message.kind === 'search') {
			this.counts.searchesSeen++;
			return;
		}

		const {headers} = message;
		const usn = headers['usn'];
		if (usn === undefined || usn === '' || (message.kind === 'response' && message.status !== 200)) {
			this.counts.ignored++;
			return;
		}

		const key = deviceKeyOf(usn);
		const nts = headers['nts']?.toLowerCase();
		if (message.kind === 'notify' && nts === 'ssdp:byebye') {
			this.#byebye(key, from);
			return;
		}

		if (message.kind === 'notify' && nts !== 'ssdp:alive') {
			// `ssdp:update` and the unknown: nothing a browser needs.
			this.counts.ignored++;
			return;
		}

		this.counts.alive++;
		this.#alive(key, headers, from, now);
	}

	/** A fetch the glue ran for `key` ended. */
	described(key: string, result: FetchResult, now: number): void {
		this.#inFlight.delete(key);
		const device = this.#devices.get(key);
		if (device?.isFetching) {
			device.isFetching = false;
			device.fetchedAt = now;
			device.outcome = result.outcome === 'http-status' ? `http-${result.detail ?? '?'}` : result.outcome;
			device.description = result.outcome === 'fetched' ? parseDescription(result.body, key) : {};
			this.#publish(device, now);
		}

		this.#startWanted(now);
	}

	/** Search when due, search for devices about to expire, forget the expired. */
	tick(now: number): void {
		if (now >= this.#nextSearchAt) {
			this.#search('ssdp:all');
			this.#searchWait = Math.min(LONGEST_SEARCH_MS, this.#searchWait * 2);
			this.#nextSearchAt = now + this.#searchWait;
		}

		for (const [key, device] of this.#devices) {
			if (now > device.heardAt + device.lifetimeMs + graceMs(device.lifetimeMs)) {
				// The table has expired it by now; a fetch still under way is dropped with it.
				this.#devices.delete(key);
				continue;
			}

			if (!device.isPublished && !this.#isWaiting(device, now)) {
				this.#publish(device, now);
			}

			if (!device.isSearched && key.startsWith('uuid:') && now >= device.heardAt + (device.lifetimeMs * 0.8)) {
				device.isSearched = true;
				this.#search(key);
			}
		}

		this.#startWanted(now);
	}

	#search(st: string): void {
		this.counts.searchesSent++;
		this.#effects.search(st);
	}

	#byebye(key: string, from: string): void {
		const device = this.#devices.get(key);
		// Only the device's own address may say it left: a neighbour cannot remove it by naming its uuid.
		if (!device || device.from !== from) {
			this.counts.ignored++;
			return;
		}

		this.counts.byes++;
		this.#devices.delete(key);
		if (device.isPublished) {
			this.#table.remove('ssdp', key, 'bye');
		}
	}

	#alive(key: string, headers: Record<string, string>, from: string, now: number): void {
		let device = this.#devices.get(key);
		if (!device) {
			if (this.#devices.size >= this.#limits.maxDevices) {
				this.counts.refused++;
				return;
			}

			device = {
				key, from, location: undefined, server: undefined, deviceType: undefined, announcedMs: 0, lifetimeMs: 0, heardAt: now, firstHeardAt: now,
				isSearched: false, isPublished: false, isFetching: false, wantsFetch: false, fetchedAt: undefined, outcome: undefined, description: {},
			};
			this.#devices.set(key, device);
		}

		const announcedMs = Math.max(1, maxAgeOf(headers['cache-control']) ?? DEFAULT_MAX_AGE_S) * 1000;
		const nt = headers['nt'] ?? headers['st'];
		device.from = from;
		device.location = headers['location'] || device.location;
		device.server = headers['server'] || device.server;
		device.deviceType = isDeviceType(nt) ? nt : device.deviceType;
		device.announcedMs = announcedMs;
		device.lifetimeMs = Math.min(announcedMs, this.#limits.maxTtlMs);
		device.heardAt = now;
		device.isSearched = false;
		if (this.#shouldFetch(device, now)) {
			device.wantsFetch = true;
			this.#startWanted(now);
		}

		if (!this.#isWaiting(device, now)) {
			this.#publish(device, now);
		}
	}

	/**
	 * A first sighting waits for its description, so it appears once, by its
	 * name: while it is fetched (at most 2 s), or queued for a slot, but not
	 * longer than a fetch would take, so busy slots never hide a device.
	 */
	#isWaiting(device: Device, now: number): boolean {
		return !device.isPublished && (device.isFetching || (device.wantsFetch && now < device.firstHeardAt + FIRST_SIGHTING_WAIT_MS));
	}

	#shouldFetch(device: Device, now: number): boolean {
		if (device.location === undefined || device.isFetching || device.wantsFetch) {
			return false;
		}

		const refusal = whyNotFetch(device.location, device.from);
		if (refusal) {
			// Not fetched, ever, on a peer's say-so; shown as such.
			if (device.outcome !== refusal) {
				this.counts.fetchesRefused++;
				device.outcome = refusal;
				device.description = {};
			}

			return false;
		}

		return device.fetchedAt === undefined || now >= device.fetchedAt + Math.max(device.announcedMs, this.#limits.minRefetchMs);
	}

	#startWanted(now: number): void {
		for (const device of this.#devices.values()) {
			if (this.#inFlight.size >= this.#limits.maxFetching) {
				return;
			}

			if (!device.wantsFetch || this.#inFlight.has(device.key) || [...this.#inFlight.values()].includes(device.from) || device.location === undefined) {
				continue;
			}

			device.wantsFetch = false;
			device.isFetching = true;
			device.fetchedAt = now;
			this.#inFlight.set(device.key, device.from);
			this.counts.fetches++;
			this.#effects.fetch(device.key, device.location, device.from);
		}
	}

	#publish(device: Device, now: number): void {
		const {description} = device;
		let url: URL | undefined;
		try {
			url = device.location === undefined ? undefined : new URL(device.location);
		} catch {
			url = undefined;
		}

		const details: Record<string, string> = {};
		for (const [name, value] of Object.entries({
			friendlyName: description.friendlyName,
			manufacturer: description.manufacturer,
			model: description.model,
			modelNumber: description.modelNumber,
			location: device.location,
			server: device.server,
			maxAge: String(device.announcedMs / 1000),
			description: device.outcome,
		})) {
			if (value !== undefined) {
				details[name] = value;
			}
		}

		const port = url === undefined ? null : Number(url.port || (url.protocol === 'https:' ? 443 : 80));
		const isAccepted = this.#table.see({
			protocol: 'ssdp',
			key: device.key,
			name: description.friendlyName ?? device.server ?? device.key,
			serviceType: description.deviceType ?? device.deviceType ?? 'upnp:rootdevice',
			host: url?.hostname || device.from,
			address: device.from,
			port: Number.isInteger(port) ? port : null,
			txt: {},
			details,
		}, Math.max(1, device.heardAt + device.lifetimeMs - now), now);
		if (isAccepted) {
			device.isPublished = true;
		} else {
			this.counts.refused++;
			this.#devices.delete(device.key);
		}
	}
}
