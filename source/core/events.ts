/**
 * The vocabulary of netdash: one discriminated union of bus events. The UI
 * folds them into snapshots and `--json` prints them, one per line, so every
 * name here is part of the public scripting contract (see readme.md).
 *
 * Events are facts in the past tense. None is called `error`: a failure is a
 * fact too (`socket-failed`, `command-failed`).
 */

/** An address and port as the kernel reports it. */
export type Endpoint = {
	address: string;
	port: number;
};

/** Fields the bus adds to every event. */
export type EventBase = {
	/** 1, 2, 3, … per run, with no gaps. */
	seq: number;
	/** Epoch milliseconds when the event was emitted. */
	at: number;
	/** The `ref` of the command that caused this event, when it carried one (`null` on a `command-failed` without one). */
	ref?: string | null;
};

/** How a connection came to be. */
export type Origin = 'accepted' | 'dialed';

/** Why a connection ended: a normal close, a reset (RST either way, EPIPE, ECONNABORTED) or any other failure. */
export type CloseReason = 'closed' | 'reset' | 'failed';

/** A TCP listener is bound and accepting. */
export type ListenerOpened = {
	type: 'listener-opened';
	listener: string;
	address: string;
	port: number;
	/** The framing given to every connection it accepts (`raw`, `line`, `u16`, `u32`, `fixed:N`). */
	framing: string;
	/** Present when the listen command chose: whether its connections stay half-open after the peer's FIN (otherwise the default, see `half-open-changed`). */
	isHalfOpen?: boolean;
	/** Present on a forward (`--forward`, `forward`): where each client it accepts is relayed to. */
	target?: Endpoint;
};

// Relay (issue 13, branch relay): the events of --forward / --forward-udp and of steering a relay, from here to UdpRelayClosed.

/**
 * A forward accepted a client: it becomes one half of relay `relay`, and
 * `server` is dialed to `target` for it. Each half is an ordinary
 * connection whose opening events name the relay and its partner.
 */
export type RelayOpened = {
	type: 'relay-opened';
	relay: string;
	listener: string;
	/** The accepted client's connection id. */
	client: string;
	/** The connection dialed to the target. */
	server: string;
	target: Endpoint;
};

/** Both halves of a relay are gone. */
export type RelayClosed = {
	type: 'relay-closed';
	relay: string;
	client: string;
	server: string;
	/** `closed` (FIN both ways), `reset` (a RST passed on), `failed`, or `upstream-failed` (the target refused or timed out; the client was reset). */
	reason: 'closed' | 'reset' | 'failed' | 'upstream-failed';
	/** Bytes handed to the server and to the client, exact. */
	bytesToServer: number;
	bytesToClient: number;
	code?: string;
	message?: string;
};

/** Intercept was turned on or off for one direction of a relay (`on` false releases what is held, in order). */
export type RelayInterceptChanged = {
	type: 'relay-intercept-changed';
	relay: string;
	direction: 'to-server' | 'to-client';
	isOn: boolean;
};

/** A chunk going one way through an intercepted relay is held, as chunk number `chunk`, until released or dropped. */
export type RelayChunkHeld = {
	type: 'relay-chunk-held';
	relay: string;
	chunk: number;
	direction: 'to-server' | 'to-client';
	bytes: number;
	data: Buffer;
};

/** A held chunk was sent on (`isEdited`: other bytes in its place; `bytes` is what was sent). */
export type RelayChunkReleased = {
	type: 'relay-chunk-released';
	relay: string;
	chunk: number;
	direction: 'to-server' | 'to-client';
	bytes: number;
	isEdited: boolean;
};

/** A held chunk was dropped: its bytes never reach the other side. */
export type RelayChunkDropped = {
	type: 'relay-chunk-dropped';
	relay: string;
	chunk: number;
	direction: 'to-server' | 'to-client';
	bytes: number;
};

/** One direction of a relay is paced at `bytesPerSecond` from now on (0: no limit). */
export type RelayThrottleChanged = {
	type: 'relay-throttle-changed';
	relay: string;
	direction: 'to-server' | 'to-client';
	bytesPerSecond: number;
};

/** Bytes of our own were queued towards one side of a relay (in order with what is relayed). */
export type RelayInjected = {
	type: 'relay-injected';
	relay: string;
	direction: 'to-server' | 'to-client';
	bytes: number;
	data: Buffer;
};

/** A UDP forward heard from a new client address: socket `upstream` (its own source port) now speaks to the target for it. */
export type UdpRelayOpened = {
	type: 'udp-relay-opened';
	relay: string;
	/** The forward's own socket (where clients send). */
	socket: string;
	upstream: string;
	client: Endpoint;
	target: Endpoint;
};

/** A UDP forward's session ended: idle for the timeout (`expired`), or its socket closed. */
export type UdpRelayClosed = {
	type: 'udp-relay-closed';
	relay: string;
	socket: string;
	upstream: string;
	client: Endpoint;
	reason: 'expired' | 'closed';
	datagramsToServer: number;
	datagramsToClient: number;
};

/** A TCP listener stopped accepting. */
export type ListenerClosed = {
	type: 'listener-closed';
	listener: string;
	/** Connections it accepted over its life. */
	accepted: number;
};

/** A dial began: the connection exists in state `connecting`. */
export type ConnectionDialing = {
	type: 'connection-dialing';
	connection: string;
	/** The host and port as the user gave them (the host may be a name). */
	remote: Endpoint;
	framing: string;
	/** True when the peer's FIN leaves it open (`--half-open`); false when it then closes, after its queue. */
	isHalfOpen: boolean;
	/** On one half of a relay: the relay's id (`R1`) and the other half's connection id. */
	relay?: string;
	partner?: string;
};

/** A connection is established (dialed and connected, or accepted). */
export type ConnectionOpened = {
	type: 'connection-opened';
	connection: string;
	/** The listener that accepted it, or null when dialed. */
	listener: string | null;
	origin: Origin;
	local: Endpoint;
	remote: Endpoint;
	framing: string;
	/** True when the peer's FIN leaves it open (`--half-open`); false when it then closes, after its queue. */
	isHalfOpen: boolean;
	/** On one half of a relay: the relay's id (`R1`) and the other half's connection id. */
	relay?: string;
	partner?: string;
};

/** Bytes arrived from the peer. `data` is the chunk itself; `--json` prints it as `base64`. */
export type DataReceived = {
	type: 'data-received';
	connection: string;
	bytes: number;
	data: Buffer;
};

/** A send was accepted into the connection's write queue. */
export type SendQueued = {
	type: 'send-queued';
	connection: string;
	bytes: number;
	/** Bytes queued but not yet handed to the kernel, after this send. */
	queued: number;
};

/** Bytes were handed to the kernel (a send may be split into several of these). */
export type DataSent = {
	type: 'data-sent';
	connection: string;
	bytes: number;
	data: Buffer;
	/** Bytes still queued after these left. */
	queued: number;
};

/** A whole message, cut from the stream by the connection's framing. */
export type MessageReceived = {
	type: 'message-received';
	connection: string;
	bytes: number;
	data: Buffer;
	/** Line framing: the terminator that ended the line (not in `data`). */
	delimiter?: 'lf' | 'crlf';
};

/** The peer sent FIN with an unfinished message in the framer (a line without its LF, a frame short of its length): those bytes are never delivered as a message. */
export type MessagePartial = {
	type: 'message-partial';
	connection: string;
	/** Bytes of the unfinished message (a length prefix counted too). */
	bytes: number;
};

/** The framer discarded bytes it could not frame (an over-long line or length). The raw bytes were still reported as `data-received`. */
export type FramingOverflowed = {
	type: 'framing-overflowed';
	connection: string;
	bytes: number;
	message: string;
};

/** One direction of a connection finished: `local` we sent FIN (shutdown), `remote` the peer did. */
export type ConnectionHalfClosed = {
	type: 'connection-half-closed';
	connection: string;
	by: 'local' | 'remote';
};

/** The default of half-open changed (`halfopen on|off`); it applies to open connections that did not choose their own. */
export type HalfOpenChanged = {
	type: 'half-open-changed';
	isHalfOpen: boolean;
};

/** A connection ended. Counters are exact. */
export type ConnectionClosed = {
	type: 'connection-closed';
	connection: string;
	reason: CloseReason;
	bytesIn: number;
	bytesOut: number;
	/** Bytes accepted by `send` that never left (the connection ended first). */
	unsent: number;
	/** The error code when reason is `reset` or `failed`. */
	code?: string;
};

/** A socket operation failed. `target` is the listener or connection id. */
export type SocketFailed = {
	type: 'socket-failed';
	target: string;
	code: string;
	/** One line for a person, e.g. "connection refused by 127.0.0.1:9 — nothing is listening there". */
	message: string;
};

/** A listener turned a client away: `denied` by the allow/deny rules, or over the `limit` of connections. */
export type ConnectionRefused = {
	type: 'connection-refused';
	listener: string;
	remote: Endpoint;
	reason: 'denied' | 'limit';
	/**
	 * Always present: the rule that matched (`deny 10.0.0.0/8`, `not in allow …`),
	 * `max-conns N` for `limit`, or that the client's address was unknown (it reset
	 * before it was accepted; `remote` is then empty).
	 */
	rule: string;
};

/** The admission rules changed (from a flag at start or a command while running). */
export type AdmissionChanged = {
	type: 'admission-changed';
	allow: string[];
	deny: string[];
	maxConnections: number;
};

/** Queued bytes have not drained for `stalledMs`: the peer is alive but not reading, or gone without a FIN. A reset is offered. */
export type ConnectionStalled = {
	type: 'connection-stalled';
	connection: string;
	queued: number;
	stalledMs: number;
};

/** A stalled connection's queue moved again. */
export type ConnectionUnstalled = {
	type: 'connection-unstalled';
	connection: string;
};

/** The process is at or near a resource limit the kernel would otherwise enforce silently (open files: libuv accepts and drops connections without an error). */
export type ResourceExhausted = {
	type: 'resource-exhausted';
	resource: 'file-descriptors';
	used: number;
	limit: number;
	message: string;
};

/** The kernel dropped UDP datagrams for a full receive buffer since the last sample. */
export type KernelDropsChanged = {
	type: 'kernel-drops-changed';
	/** Datagrams dropped at netdash's own sockets since it started (the `drops` column of /proc/net/udp). */
	socketDrops: number;
	/** The network namespace's total since boot (`/proc/net/snmp` RcvbufErrors): other programs' sockets count too. */
	rcvbufErrors: number;
	/** Rise of `rcvbufErrors` since netdash started. */
	sinceStart: number;
};

/**
 * An output with a capped queue (stdout in `--json`, the `--log` file) was
 * so far behind that events were left out rather than held in memory;
 * written once it drains. The `seq` numbers of the events left out are
 * missing from that output.
 */
export type OutputShed = {
	type: 'output-shed';
	output: 'stdout' | 'log';
	/** Events left out. */
	events: number;
	firstSeq: number;
	lastSeq: number;
	/** Events left out, by type. */
	types: Record<string, number>;
};

/** A file began to stream to a connection (`sendfile`). */
export type SendfileStarted = {
	type: 'sendfile-started';
	connection: string;
	path: string;
	/** The file's size when opened (null for a pipe or device, read to its end). */
	size: number | null;
};

/** Every byte of a file was queued on its connection (`data-sent` events follow as they leave). */
export type SendfileFinished = {
	type: 'sendfile-finished';
	connection: string;
	path: string;
	bytes: number;
};

/** Streaming a file stopped early: it could not be read, the connection ended, or a command stopped it. */
export type SendfileFailed = {
	type: 'sendfile-failed';
	connection: string;
	path: string;
	/** Bytes queued before it stopped. */
	bytes: number;
	code: string;
	message: string;
};

/** Writing the `--log` file failed; the session goes on without it. */
export type LogFileFailed = {
	type: 'log-file-failed';
	path: string;
	code: string;
	message: string;
};

/** A command could not be carried out (bad arguments, unknown id, malformed JSON line). */
export type CommandFailed = {
	type: 'command-failed';
	ref: string | null;
	code: string;
	message: string;
	/** The socket the command named (send, shutdown, reset, close), when it named one: its log gets the failure too. */
	target?: string;
	/** The field of a JSON command at fault (`timeout`, `allow/2`), when one is. */
	field?: string;
};

/** A bus subscriber threw; it was isolated and emission went on. */
export type SubscriberFailed = {
	type: 'subscriber-failed';
	message: string;
};

/** A UDP socket is bound (ids `U1`, `U2`, …). */
export type UdpBound = {
	type: 'udp-bound';
	socket: string;
	address: string;
	port: number;
	/** True when it may send to broadcast addresses (SO_BROADCAST). */
	isBroadcast: boolean;
	/** True when it answers every request (see `udpRequest`) with a reply carrying the same id. */
	isEcho: boolean;
};

/** A UDP socket was connected: it now sends only there, and the kernel drops datagrams from anyone else. */
export type UdpConnected = {
	type: 'udp-connected';
	socket: string;
	remote: Endpoint;
};

/** SO_BROADCAST was turned on or off on a UDP socket. */
export type UdpBroadcastChanged = {
	type: 'udp-broadcast-changed';
	socket: string;
	isBroadcast: boolean;
};

/** One datagram arrived, whole. `data` is the datagram; `--json` prints it as `base64`. */
export type DatagramReceived = {
	type: 'datagram-received';
	socket: string;
	from: Endpoint;
	bytes: number;
	data: Buffer;
};

/**
 * Datagrams from a source the allow/deny rules refuse were dropped unread
 * (no `datagram-received`, no echo, no discovery reply). `socket` is a UDP
 * socket id or `discovery`. The first is reported at once, then at most one
 * event per rule per second per socket, `count` saying how many it stands for.
 */
export type DatagramRefused = {
	type: 'datagram-refused';
	socket: string;
	/** The (last) refused source. */
	from: Endpoint;
	/** The rule that matched, e.g. `deny 10.0.0.0/8`. */
	rule: string;
	/** Size of the (last) datagram. */
	bytes: number;
	/** Datagrams this event stands for. */
	count: number;
};

/** The kernel took one datagram (it may still be lost on the way: UDP never says). */
export type DatagramSent = {
	type: 'datagram-sent';
	socket: string;
	to: Endpoint;
	bytes: number;
	data: Buffer;
	/** Set when the datagram is larger than the route's MTU carries: "… will fragment (over N on the route's M-byte MTU); a lost fragment loses all of it". */
	warning?: string;
	/** For a request (see `request-completed`): its id and which attempt this is (1, 2, …). */
	requestId?: number;
	attempt?: number;
};

/** A UDP socket is closed. Counters are exact. */
export type UdpClosed = {
	type: 'udp-closed';
	socket: string;
	datagramsIn: number;
	datagramsOut: number;
	bytesIn: number;
	bytesOut: number;
	/** Datagrams dropped while netdash's output was backed up (see `datagrams-dropped`). */
	dropped: number;
};

/**
 * Datagrams a UDP socket received and dropped, unread, because netdash's
 * output (stdout, the `--log` file) was backed up: counted like the
 * kernel's own drops instead of queued in memory. At most once per watch
 * interval per socket, when the count rose.
 */
export type DatagramsDropped = {
	type: 'datagrams-dropped';
	socket: string;
	reason: 'backpressure';
	/** Dropped since the last such event. */
	count: number;
	/** Dropped since the socket was bound. */
	total: number;
};

/** A reply carrying a request's id arrived. */
export type RequestCompleted = {
	type: 'request-completed';
	socket: string;
	requestId: number;
	/** Round trip of the attempt the reply answers (the reply echoes the attempt number). */
	rttMs: number;
	/** Attempts sent, the answered one included. */
	attempts: number;
	from: Endpoint;
};

/** A request got no reply after all its attempts, or could not be sent. */
export type RequestFailed = {
	type: 'request-failed';
	socket: string;
	requestId: number;
	attempts: number;
	to: Endpoint;
	message: string;
};

/** A reply that matches no request in flight was ignored (counted on the socket). */
export type ReplyIgnored = {
	type: 'reply-ignored';
	socket: string;
	from: Endpoint;
	requestId: number;
	/** `unknown`: never asked (or long forgotten); `duplicate`: the request was already answered. */
	reason: 'unknown' | 'duplicate';
};

/** Discovery is running: its socket is bound and the first announce and probe are out. */
export type DiscoveryStarted = {
	type: 'discovery-started';
	port: number;
	/** This run's random instance id (16 hex characters). */
	instanceId: string;
	name: string;
	intervalMs: number;
	/** Where announces and probes go (directed broadcast addresses, or what `--broadcast-address` named). */
	targets: Endpoint[];
};

/** Discovery stopped (after its `bye` went out) or its socket failed. */
export type DiscoveryStopped = {
	type: 'discovery-stopped';
	reason: 'stopped' | 'failed';
	/** Datagrams received on the discovery port over the run. */
	received: number;
	/** Of those, dropped (malformed, rate-limited, refused by a limit). */
	dropped: number;
};

/**
 * Discovery's exact counters, at most once per interval and only when they
 * changed: `received` = `accepted` + `own` + `foreign` + `dropped`.
 */
export type DiscoveryStatsReported = {
	type: 'discovery-stats';
	received: number;
	accepted: number;
	own: number;
	foreign: number;
	dropped: number;
	repliesSent: number;
	/** Peers in the table, and peers evicted from it to stay within its cap. */
	peers: number;
	peersEvicted: number;
	/** Source addresses with rate-limit state, and those forgotten to stay within its cap. */
	sources: number;
	sourcesEvicted: number;
};

/** A discovery probe went out (first try, or a resend with backoff while nobody answers). */
export type ProbeSent = {
	type: 'probe-sent';
	requestId: number;
	attempt: number;
};

/** What the peer table knows about one netdash instance. */
export type PeerFields = {
	instanceId: string;
	/** Its announced name, as sent (escape it for display). */
	name: string;
	/** Where its packets come from. */
	address: string;
	port: number;
	/** TCP ports it offers (its listeners on non-loopback addresses). */
	ports: number[];
	/** `fresh`, `stale` (one announce missed), `expired` (three missed: then removed). */
	state: 'fresh' | 'stale' | 'expired';
	/** Round trip of the last probe it answered, when one was. */
	rttMs: number | null;
	firstSeen: number;
	lastSeen: number;
};

/** A netdash instance appeared. */
export type PeerDiscovered = {
	type: 'peer-discovered';
	/** The packet kind that revealed it. */
	via: 'announce' | 'probe' | 'reply';
	/** When it replaces another instance id from the same address and port: that id (a restart). */
	restartOf?: string;
} & PeerFields;

/** A known peer was heard from again or changed (`changed` lists what: name, ports, address, state, rtt). */
export type PeerUpdated = {
	type: 'peer-updated';
	changed: Array<'name' | 'ports' | 'address' | 'state' | 'rtt'>;
} & PeerFields;

/** A peer missed three announces and was removed. */
export type PeerExpired = {
	type: 'peer-expired';
} & PeerFields;

/** A peer was removed at once: it said `bye`, restarted (new instance id, same address) or was evicted to keep the table bounded. */
export type PeerLeft = {
	type: 'peer-left';
	reason: 'bye' | 'restarted' | 'evicted';
} & PeerFields;

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

// System pane (issue 14): the machine's sockets, as core/system/ reads them.

/** A socket's transport. */
export type SocketProtocol = 'tcp' | 'udp';

/**
 * One socket of the machine as the kernel's table lists it
 * (`/proc/net/{tcp,tcp6,udp,udp6}`), before the process and the counters are
 * joined to it.
 */
export type KernelSocket = {
	protocol: SocketProtocol;
	/** 4 or 6: which table listed it (an IPv4-mapped address can sit in the IPv6 one). */
	family: 4 | 6;
	local: Endpoint;
	/** `0.0.0.0:0` / `:::0` for a listener or an unconnected UDP socket. */
	remote: Endpoint;
	/** In `ss` names: `ESTAB`, `SYN-SENT`, `LISTEN`, `TIME-WAIT`, `UNCONN`, … */
	state: string;
	/** Bytes not yet read by the program (on a TCP listener: connections waiting in the accept queue). */
	recvQueue: number;
	/** Bytes not yet acknowledged by the peer (TCP) or not yet sent (UDP). */
	sendQueue: number;
	/** The owner's user id. */
	uid: number;
	/** The socket's inode; 0 when no file holds it any more (TIME-WAIT, orphaned FIN-WAIT). */
	inode: number;
};

/** One socket of the machine with its process and counters: a row of `system-sockets`. */
export type SystemSocket = KernelSocket & {
	/** The process holding it, or null when that cannot be read (see `whyUnknown`). */
	pid: number | null;
	/** Its command name (`/proc/PID/comm`), or `?` when the process is unknown. */
	process: string;
	/** Why the process is unknown (another user's process, TIME-WAIT, …); absent when it is known. */
	whyUnknown?: string;
	/** TCP payload bytes received; null for UDP and when the socket diagnostics cannot be read. */
	bytesIn: number | null;
	/** TCP payload bytes acknowledged by the peer; null for UDP and when the diagnostics cannot be read. */
	bytesOut: number | null;
	/** TCP smoothed rtt in ms; null when unknown. */
	rttMs: number | null;
	/** True when netdash itself holds it. */
	isOwn: boolean;
};

/** A socket in a `system-sockets-changed` event: with rates since the previous refresh. */
export type SystemSocketRates = SystemSocket & {
	/** Bytes per second received since the previous refresh; null when unknown (UDP, first sight, no ss). */
	rateIn: number | null;
	/** Bytes per second acknowledged since the previous refresh; null when unknown. */
	rateOut: number | null;
};

/** Every TCP and UDP socket of the machine, read once (`{"cmd":"sockets"}`). */
export type SystemSocketsListed = {
	type: 'system-sockets';
	sockets: SystemSocket[];
	/** What this reading could not show, one sentence each (no `ss`, other users' processes, not Linux); empty when nothing is missing. */
	missing: string[];
	/** Wall time the reading took, ms. */
	tookMs: number;
};

/**
 * What changed among the machine's sockets since the previous refresh of a
 * watch (`watch-sockets`); the first lists every socket as opened. Emitted
 * only when something changed. A socket is known by its 4-tuple, so
 * `ESTAB` → `TIME-WAIT` is a change of one socket.
 */
export type SystemSocketsChanged = {
	type: 'system-sockets-changed';
	opened: SystemSocketRates[];
	/** Sockets whose state, queues, counters, owner or rates changed. */
	changed: SystemSocketRates[];
	/** Sockets gone since the previous refresh, as last seen. */
	closed: SystemSocketRates[];
	/** Sockets on the machine now. */
	total: number;
	/** Milliseconds since the previous refresh (0 on the first): what the rates are over. */
	intervalMs: number;
	missing: string[];
	tookMs: number;
};

/** Every event on the bus. */
export type BusEvent = EventBase &
	(
		| ListenerOpened
		| ListenerClosed
		// Relay (issue 13)
		| RelayOpened
		| RelayClosed
		| UdpRelayOpened
		| RelayInterceptChanged
		| RelayChunkHeld
		| RelayChunkReleased
		| RelayChunkDropped
		| RelayInjected
		| RelayThrottleChanged
		| UdpRelayClosed
		| ConnectionDialing
		| ConnectionOpened
		| DataReceived
		| SendQueued
		| DataSent
		| MessageReceived
		| FramingOverflowed
		| MessagePartial
		| ConnectionHalfClosed
		| ConnectionClosed
		| HalfOpenChanged
		| SocketFailed
		| CommandFailed
		| SubscriberFailed
		| ConnectionRefused
		| AdmissionChanged
		| ConnectionStalled
		| ConnectionUnstalled
		| ResourceExhausted
		| KernelDropsChanged
		| LogFileFailed
		| OutputShed
		| SendfileStarted
		| SendfileFinished
		| SendfileFailed
		| DatagramsDropped
		| UdpBound
		| UdpConnected
		| UdpBroadcastChanged
		| DatagramReceived
		| DatagramRefused
		| DatagramSent
		| UdpClosed
		| RequestCompleted
		| RequestFailed
		| ReplyIgnored
		| DiscoveryStarted
		| DiscoveryStopped
		| ProbeSent
		| DiscoveryStatsReported
		| PeerDiscovered
		| PeerUpdated
		| PeerExpired
		| PeerLeft
		| ForeignDatagram
		| PacketDropped
		// System pane (issue 14): the machine's sockets
		| SystemSocketsListed
		| SystemSocketsChanged
	);

/** Every event type name. */
export type EventType = BusEvent['type'];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<BusEvent, {type: T}>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What an emitter passes to the bus: an event without the fields the bus adds. */
export type EventInput = DistributiveOmit<BusEvent, 'seq' | 'at'>;
