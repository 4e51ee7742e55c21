import type {Endpoint} from './base.js';

/** Bus events of LAN discovery: mDNS, SSDP and Syncthing services, and packets that are not netdash's. Re-exported by ../events.ts, which holds the BusEvent union. */

/** The LAN protocols netdash browses beside its own: mDNS/DNS-SD, SSDP/UPnP and Syncthing local discovery. */
export type ServiceProtocol = 'mdns' | 'ssdp' | 'syncthing';

/**
 * What the service table knows about one service another program announces
 * on the subnet. Every text field is as received (escape it for display).
 */
export type ServiceFields = {
	protocol: ServiceProtocol;
	/** Unique within the protocol: the mDNS instance name, the UPnP device `uuid:…`, the Syncthing device id. */
	key: string;
	/** Instance name (mDNS), friendlyName or server (SSDP), short device id (Syncthing). */
	name: string;
	/** Service type (`_ipp._tcp`), UPnP device type (`urn:schemas-upnp-org:device:MediaServer:1`), or `syncthing` (not `type`: that names the event). */
	serviceType: string;
	/** The host name it gave (mDNS SRV target, SSDP LOCATION host), or its address. */
	host: string;
	/** The address it is reached at: IPv4 when it has one (an A record), else IPv6 (AAAA; link-local with its `%interface`), else the sender. */
	address: string;
	/** Its port, when the protocol gives one. */
	port: number | null;
	/** TXT pairs (mDNS); empty for the others. */
	txt: Record<string, string>;
	/** Protocol-specific fields: manufacturer, model, location, addresses, instance id, … */
	details: Record<string, string>;
	/** `fresh`; `stale` once its TTL (or max-age) ran out unrefreshed; it is removed (`service-expired`) a grace time later. */
	state: 'fresh' | 'stale';
	firstSeen: number;
	lastSeen: number;
	/** When it turns stale unless heard again (epoch ms). */
	expiresAt: number;
};

/** A service was announced or answered for the first time. */
export type ServiceDiscovered = {
	type: 'service-discovered';
} & ServiceFields;

/** A known service changed, was refreshed after going stale, or went stale (`changed` lists what). */
export type ServiceUpdated = {
	type: 'service-updated';
	changed: Array<'name' | 'host' | 'address' | 'port' | 'txt' | 'details' | 'state'>;
} & ServiceFields;

/** A service stayed silent past its TTL and grace time, and was removed. */
export type ServiceExpired = {
	type: 'service-expired';
} & ServiceFields;

/** A service was removed at once: it said goodbye (TTL 0, ssdp:byebye), was evicted to keep the table bounded, or browsing stopped. */
export type ServiceLeft = {
	type: 'service-left';
	reason: 'bye' | 'evicted' | 'stopped';
} & ServiceFields;

/** Browsing of the LAN protocols started: which ones, and the interface addresses they listen on (IPv6 as `fe80::…%eth0`). */
export type ServicesBrowsing = {
	type: 'services-browsing';
	protocols: ServiceProtocol[];
	interfaces: string[];
};

/** A datagram on the discovery port that is not netdash's (no magic): someone else broadcasts here. */
export type ForeignDatagram = {
	type: 'foreign-datagram';
	from: Endpoint;
	/** Its full size. */
	bytes: number;
	/** Its first bytes (at most 64). */
	data: Buffer;
	/** Foreign datagrams this event stands for (the last one's size and bytes are shown): at most one event per second. @default 1 */
	count?: number;
};

/**
 * Datagrams on the discovery port were dropped: malformed (a codec reason
 * such as `bad-magic` or `truncated`), `bad-source` (from a broadcast,
 * multicast or network address), `rate-limited` (one source over its
 * rate), `overloaded` (everyone together over the global rate),
 * `unknown-request`, `unknown-peer`, `table-full` or `peer-limit`. Drops are
 * summed per reason into at most one event per second (`count`); `from` is
 * the last source.
 */
export type PacketDropped = {
	type: 'packet-dropped';
	from: Endpoint;
	reason: string;
	/** Size of the (last) datagram. */
	bytes: number;
	/** Datagrams this event stands for. */
	count: number;
};

// Broadcast probe (issue 15, point 5): one datagram, every reply within a window.

/** One host that answered a broadcast probe: its first reply, and how many it sent. */
export type ProbeResponder = {
	from: Endpoint;
	/** From the send to its first reply. */
	rttMs: number;
	/** Replies it sent within the window (counted, not listed). */
	replies: number;
	/** Size of its first reply. */
	bytes: number;
	/** Its first reply's first bytes (at most 64), base64. */
	base64: string;
};

/** A broadcast probe's window closed: every responder, once, with its round trip and count. */
export type ProbeResults = {
	type: 'probe-results';
	/** `P1`, `P2`, … */
	probe: string;
	/** Where the datagram went (a named address, or every interface's directed broadcast). */
	targets: Endpoint[];
	/** Size of the datagram sent. */
	bytes: number;
	windowMs: number;
	/** Replies received in all. */
	replies: number;
	/** Responders beyond the first 256, counted only. */
	unlisted: number;
	/** Replies from addresses the allow/deny rules refuse: counted, not listed. */
	refused: number;
	responders: ProbeResponder[];
	/** Replies the kernel dropped at the probe's socket because its receive buffer was full (Linux only). */
	kernelDrops?: number;
	/** The send failed (e.g. EACCES, ENETUNREACH). */
	error?: {code: string; message: string};
};
