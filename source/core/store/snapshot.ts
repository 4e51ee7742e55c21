import type {CloseReason, Endpoint, Origin, PeerFields, ProbeResults, RuleView, ServiceProtocol} from '../events.js';
import type {ConnectionState} from '../tcp/connection.js';
import type {SystemSocketRates} from '../system/types.js';
import type {LogView} from './log.js';

/** A TCP listener as the panes show it. */
export type ListenerRow = {
	readonly id: string;
	readonly address: string;
	readonly port: number;
	/** How it frames what its connections receive: `raw`, `line`, `u16`, `u32` or `fixed:N`. */
	readonly framing: string;
	/** It serves TLS (the framing cell shows `raw·tls`). */
	readonly isTls: boolean;
	/** A forward's target: where each client it accepts is relayed to (undefined for a plain listener). */
	readonly target: Endpoint | undefined;
	readonly state: 'listening' | 'closed';
	/** Connections accepted over its life. */
	readonly accepted: number;
	/** Accepted connections still open. */
	readonly open: number;
	/** Clients turned away (denied or over the limit). */
	readonly refused: number;
	readonly openedAt: number;
	readonly closedAt: number | undefined;
};

/** A TCP connection as the panes show it. Counters are exact. */
export type ConnectionRow = {
	readonly id: string;
	readonly origin: Origin;
	readonly listener: string | null;
	/** How what it receives is framed: `raw`, `line`, `u16`, `u32` or `fixed:N` (TLS or not: see `tls`). */
	readonly framing: string;
	readonly state: ConnectionState;
	/** Our end; undefined while connecting. */
	readonly local: Endpoint | undefined;
	/** The peer (while connecting: the host and port as given). */
	readonly remote: Endpoint;
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Bytes accepted by send and not yet handed to the kernel. */
	readonly queued: number;
	/** Bytes that never left because the connection ended first. */
	readonly unsent: number;
	/** Framed messages received. */
	readonly messagesIn: number;
	/** Bytes per second over the last sample interval. */
	readonly rateIn: number;
	readonly rateOut: number;
	/** Recent rate samples, oldest first (for sparklines). */
	readonly historyIn: readonly number[];
	readonly historyOut: readonly number[];
	/** True when the queue has grown over the last samples: the peer is not reading. */
	readonly isQueueGrowing: boolean;
	/** True when queued bytes have not drained for the stall timeout (a reset is offered). */
	readonly isStalled: boolean;
	/** True when the peer's FIN leaves it open (`--half-open`, `halfopen on`). */
	readonly isHalfOpen: boolean;
	/** When the peer sent its FIN (epoch ms), if it did. */
	readonly halfClosedAt: number | undefined;
	/** A half-open connection whose peer sent FIN: how long it has waited for us to close, in ms (updated each rate sample). */
	readonly waitedMs: number;
	readonly openedAt: number;
	readonly closedAt: number | undefined;
	readonly closeReason: CloseReason | undefined;
	/** The last failure on it, if any. */
	readonly error: {readonly code: string; readonly message: string} | undefined;
	/** The relay it is one half of (`R1`), if any: the accepted client or the connection dialed for it. */
	readonly relay: string | undefined;
	/** The other half of its relay. */
	readonly partner: string | undefined;
	/** TLS connections: the protocol version, the ALPN agreed on, and whether the peer went unverified (--insecure). */
	readonly tls?: {readonly protocol: string; readonly alpn: string | null; readonly isInsecure: boolean} | undefined;
};

/** Which way through a relay (issue 13). */
export type RelayDirectionName = 'to-server' | 'to-client';

/** A chunk an intercepted relay holds until it is released or dropped. */
export type HeldChunkRow = {
	readonly chunk: number;
	readonly direction: RelayDirectionName;
	readonly bytes: number;
	/** A copy of its bytes (at most the relay's high-water mark ever waits). */
	readonly data: Buffer;
	readonly at: number;
};

/**
 * A relayed pair as the panes show it (issue 13): the client a forward
 * accepted and the connection dialed for it, whose own rows stay in
 * `connections`. Counters are exact.
 */
export type RelayRow = {
	readonly id: string;
	readonly listener: string;
	/** The accepted client's connection id, and the one dialed to the target for it. */
	readonly client: string;
	readonly server: string;
	readonly target: Endpoint;
	readonly state: 'open' | 'closed';
	readonly closeReason: 'closed' | 'reset' | 'failed' | 'upstream-failed' | undefined;
	/** Why it failed, when it did (the upstream refused or timed out). */
	readonly error: {readonly code: string; readonly message: string} | undefined;
	/** Bytes the client sent (towards the server) and the server sent (towards the client). */
	readonly bytesToServer: number;
	readonly bytesToClient: number;
	/** Directions whose chunks are held. */
	readonly intercept: Readonly<Record<RelayDirectionName, boolean>>;
	/** Pace of each direction in bytes/s (0: none). */
	readonly throttle: Readonly<Record<RelayDirectionName, number>>;
	/** Chunks held now, oldest first. */
	readonly held: readonly HeldChunkRow[];
	readonly openedAt: number;
	readonly closedAt: number | undefined;
};

/** A UDP socket as the panes show it. Counters are exact. */
export type UdpSocketRow = {
	readonly id: string;
	readonly address: string;
	readonly port: number;
	readonly state: 'bound' | 'connected' | 'closed';
	/** The one peer of a connected socket. */
	readonly remote: Endpoint | undefined;
	readonly isBroadcast: boolean;
	readonly isEcho: boolean;
	readonly datagramsIn: number;
	readonly datagramsOut: number;
	readonly bytesIn: number;
	readonly bytesOut: number;
	readonly requestsCompleted: number;
	readonly requestsFailed: number;
	/** Replies that matched no request in flight. */
	readonly repliesIgnored: number;
	readonly lastRttMs: number | undefined;
	readonly openedAt: number;
	readonly closedAt: number | undefined;
	/** The last failure on it (a UDP send failure leaves the socket open). */
	readonly error: {readonly code: string; readonly message: string} | undefined;
};

/** A netdash instance found by discovery. `name` is as sent: escape it for display. */
export type PeerRow = Readonly<Omit<PeerFields, 'ports'>> & {
	readonly ports: readonly number[];
	/** The packet kind that revealed it. */
	readonly via: 'announce' | 'probe' | 'reply';
};

/** A sender of datagrams on the discovery port that are not netdash's. */
export type ForeignRow = {
	readonly address: string;
	readonly port: number;
	readonly datagrams: number;
	readonly bytes: number;
	/** Size of the last one. */
	readonly lastBytes: number;
	readonly firstAt: number;
	readonly lastAt: number;
	/** The first bytes of the last one (escape them for display). */
	readonly data: Buffer;
};

/** Drop counters of one source address on the discovery port. */
export type SourceRow = {
	readonly address: string;
	readonly dropped: number;
	readonly rateLimited: number;
	readonly lastReason: string;
	readonly lastAt: number;
};

/** Discovery's state and counters. */
export type DiscoveryView = {
	readonly state: 'off' | 'running' | 'stopped' | 'failed';
	readonly port: number | undefined;
	readonly instanceId: string | undefined;
	readonly name: string | undefined;
	readonly intervalMs: number | undefined;
	readonly targets: readonly Endpoint[];
	/** Datagrams received over the run (from `discovery-stats`, once per interval, and at the stop). */
	readonly received: number;
	/** Of those, acted on; our own (ignored). */
	readonly accepted: number;
	readonly own: number;
	/** Peers in the core's table and peers evicted from it; sources tracked and forgotten (LRU). */
	readonly peerCount: number;
	readonly peersEvicted: number;
	readonly sourceCount: number;
	readonly sourcesEvicted: number;
	/** Dropped datagrams by reason (`bad-magic`, `truncated`, `rate-limited`, `table-full`, …). */
	readonly dropped: Readonly<Record<string, number>>;
	readonly droppedTotal: number;
	readonly rateLimited: number;
	readonly foreign: number;
	/** Foreign senders forgotten to keep the list bounded. */
	readonly foreignEvicted: number;
	readonly probes: number;
	readonly peersExpired: number;
	readonly peersLeft: number;
	/** Sources that had datagrams dropped, least recently first (bounded). */
	readonly sources: readonly SourceRow[];
	/** The last failure of the discovery socket. */
	readonly error: {readonly code: string; readonly message: string} | undefined;
};

/** A failure or notable fact for the status area. */
export type Notice = {
	readonly seq: number;
	readonly at: number;
	readonly level: 'error' | 'info';
	/** The socket it concerns, when one. */
	readonly target: string | undefined;
	readonly code: string | undefined;
	readonly message: string;
};

/** Totals for the status bar. */
export type Totals = {
	readonly listeners: number;
	readonly connections: number;
	/** Bytes received and sent over the run: every TCP connection's and every UDP socket's datagrams. */
	readonly bytesIn: number;
	readonly bytesOut: number;
	/** Bytes per second of those, over the last sample interval. */
	readonly rateIn: number;
	readonly rateOut: number;
	/** Log entries evicted over the run (all sockets). */
	readonly evictedEntries: number;
	readonly evictedBytes: number;
	/** Events seen (the bus `seq` of the last one folded). */
	readonly events: number;
	/** Notices evicted from the bounded notice list. */
	readonly evictedNotices: number;
	/** Clients refused by all listeners. */
	readonly refused: number;
	/** UDP datagrams the kernel dropped at netdash's own sockets for a full receive buffer (Linux). */
	readonly kernelDrops: number;
};

/** A client a listener turned away. */
export type RefusedRow = {
	readonly seq: number;
	readonly at: number;
	readonly listener: string;
	readonly address: string;
	readonly port: number;
	readonly reason: 'denied' | 'limit';
	readonly rule: string | undefined;
};

/** Rates kept per socket of the machine, for its sparklines. */
export const systemHistoryLength = 16;

/** One socket of the machine as the System pane shows it. */
export type SystemRow = SystemSocketRates & {
	/** Its identity across refreshes (core/system/diff.ts socketKey). */
	readonly key: string;
	/** When netdash first saw it (epoch ms): its age. */
	readonly firstSeen: number;
	/** Its recent rates (bytes/s, 0 when unknown), oldest first, one per refresh up to `sampledAt`. */
	readonly historyIn: readonly number[];
	readonly historyOut: readonly number[];
	/**
	 * The refresh (SystemView.refreshes) of the histories' last sample. A
	 * socket that did not change since kept its rates, so the refreshes after
	 * it repeat the last sample: rows are reused, not rebuilt, each refresh.
	 */
	readonly sampledAt: number;
};

/** The machine's sockets as last read (`sockets` / `watch-sockets`): what the System pane shows. */
export type SystemView = {
	/** Every socket of the last reading, with rates when a watch runs. */
	readonly sockets: readonly SystemRow[];
	/** Refreshes folded so far. */
	readonly refreshes: number;
	/** What the reading could not show, one sentence each. */
	readonly missing: readonly string[];
	/** When it was read (epoch ms); absent before the first reading. */
	readonly refreshedAt?: number;
};

/** Who may connect, as in force now. */
export type AdmissionView = {
	readonly allow: readonly string[];
	readonly deny: readonly string[];
	readonly maxConnections: number;
};

/** An auto-reply rule as listed: pattern, reply, state, hits, replies, skipped, options. */
export type RuleRow = Readonly<RuleView>;

/**
 * What the UI renders: immutable, and the same object until the next
 * publish. Rows that did not change keep their identity between snapshots.
 */
export type Snapshot = {
	/** Increases by one per publish. */
	readonly version: number;
	readonly listeners: readonly ListenerRow[];
	readonly connections: readonly ConnectionRow[];
	/** Relayed pairs (issue 13), in order of opening; a relay's log is under its id (`R1`). */
	readonly relays: readonly RelayRow[];
	/** The log of each socket by id. */
	readonly logs: ReadonlyMap<string, LogView>;
	/** Recent failures and notes, oldest first (bounded). */
	readonly notices: readonly Notice[];
	/** The most recent refused clients, oldest first (bounded; `totals.refused` counts them all). */
	readonly refused: readonly RefusedRow[];
	readonly admission: AdmissionView;
	/** UDP sockets, in order of creation. */
	readonly udpSockets: readonly UdpSocketRow[];
	/** Discovered peers, in order of discovery. */
	readonly peers: readonly PeerRow[];
	/** Non-netdash senders on the discovery port, least recently heard first (bounded). */
	readonly foreign: readonly ForeignRow[];
	readonly discovery: DiscoveryView;
	/** Hosts on the subnet (netdash peers and LAN services grouped by address), in order of appearance. */
	readonly hosts: readonly LanHostRow[];
	/** What appeared, expired, said bye or restarted, oldest first (bounded). */
	readonly lanHistory: readonly LanHistoryRow[];
	/** LAN protocols browsing now (mDNS, SSDP, Syncthing), from `services-browsing`. */
	readonly lanBrowsing: readonly ServiceProtocol[];
	/** The last 8 broadcast probes' results (`probe-results`), oldest first. */
	readonly probes: readonly ProbeResultsRow[];
	readonly system: SystemView;
	/** Auto-reply rules in force, in the order they are tried, with their counts (workbench, issue 17). */
	readonly rules: readonly RuleRow[];
	readonly totals: Totals;
};

// LAN table (issue 15): hosts by address with every protocol's services under them.

/** One thing a host offers: a netdash peer, an mDNS service, a UPnP device, a Syncthing device. Text is as received: escape it for display. */
export type LanServiceRow = {
	/** `protocol key`: unique in the table. */
	readonly id: string;
	readonly protocol: 'netdash' | ServiceProtocol;
	/** The protocol's key: instance id, mDNS instance name, USN, device id. */
	readonly key: string;
	readonly name: string;
	/** `_ipp._tcp`, an SSDP notification type, `syncthing`, or `netdash`. */
	readonly serviceType: string;
	readonly host: string;
	readonly address: string;
	/** Its port, or a netdash peer's offered TCP ports; empty when the protocol gives none. */
	readonly ports: readonly number[];
	/** Enter may connect to it: an mDNS `._tcp` service with a port, or a peer offering ports. */
	readonly isTcp: boolean;
	/** `gone` once it expired, said bye or was stopped: kept (bounded) so the table shows what went. */
	readonly state: 'fresh' | 'stale' | 'gone';
	/** A netdash peer's round trip; null otherwise. */
	readonly rttMs: number | null;
	readonly firstSeen: number;
	readonly lastSeen: number;
};

/** A host on the subnet, by address, with its services in order of appearance. */
export type LanHostRow = {
	readonly address: string;
	/** Its mDNS host name (else another protocol's), or the address. */
	readonly name: string;
	/** Its freshest service's state. */
	readonly state: LanServiceRow['state'];
	readonly services: readonly LanServiceRow[];
};

/** One line of the LAN history. */
export type LanHistoryRow = {
	readonly at: number;
	/** Appeared (or came back); expired (silent past its TTL); said bye; restarted (a new instance after a bye, or a new netdash instance id); evicted; stopped (browsing ended). */
	readonly kind: 'appeared' | 'expired' | 'bye' | 'restarted' | 'evicted' | 'stopped';
	readonly protocol: LanServiceRow['protocol'];
	readonly name: string;
	readonly serviceType: string;
	readonly address: string;
	readonly port: number | null;
};

/** One broadcast probe's results: every responder once, with its round trip and reply count. */
export type ProbeResultsRow = Readonly<Omit<ProbeResults, 'type'>> & {readonly at: number};
