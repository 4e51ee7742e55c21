/**
 * The vocabulary of netdash: one discriminated union of bus events. The UI
 * folds them into snapshots and `--json` prints them, one per line, so every
 * name here is part of the public scripting contract (see readme.md).
 *
 * Events are facts in the past tense. None is called `error`: a failure is a
 * fact too (`socket-failed`, `command-failed`).
 */

export type * from './events/base.js';
export type * from './events/tcp.js';
export type * from './events/tls.js';
export type * from './events/relay.js';
export type * from './events/resources.js';
export type * from './events/capture.js';
export type * from './events/commands.js';
export type * from './events/udp.js';
export type * from './events/discovery.js';
export type * from './events/lan.js';
export type * from './events/system.js';
export type * from './events/workbench.js';

import type {AdmissionChanged, ConnectionClosed, ConnectionDialing, ConnectionHalfClosed, ConnectionOpened, ConnectionRefused, ConnectionStalled, ConnectionUnstalled, DataReceived, DataSent, FramingOverflowed, HalfOpenChanged, ListenerClosed, ListenerOpened, MessagePartial, MessageReceived, SendQueued, SendfileFailed, SendfileFinished, SendfileStarted, SocketFailed} from './events/tcp.js';
import type {CommandFailed, SubscriberFailed} from './events/commands.js';
import type {DatagramReceived, DatagramRefused, DatagramSent, DatagramsDropped, ReplyIgnored, RequestCompleted, RequestFailed, UdpBound, UdpBroadcastChanged, UdpClosed, UdpConnected} from './events/udp.js';
import type {DiscoveryStarted, DiscoveryStatsReported, DiscoveryStopped, PeerDiscovered, PeerExpired, PeerLeft, PeerUpdated, ProbeSent} from './events/discovery.js';
import type {EventBase} from './events/base.js';
import type {ForeignDatagram, PacketDropped, ProbeResults, ServiceDiscovered, ServiceExpired, ServiceLeft, ServiceUpdated, ServicesBrowsing} from './events/lan.js';
import type {KernelDropsChanged, MemoryReturned, OutputShed, ResourceExhausted} from './events/resources.js';
import type {LogFileFailed, PcapFileFailed} from './events/capture.js';
import type {RelayChunkDropped, RelayChunkHeld, RelayChunkReleased, RelayClosed, RelayInjected, RelayInterceptChanged, RelayOpened, RelayThrottleChanged, UdpRelayClosed, UdpRelayOpened} from './events/relay.js';
import type {RuleAdded, RuleChanged, RuleReplied, RuleSkipped, RulesListed, SaveFailed, SaveFinished, SaveStarted, ScheduleFinished, ScheduleStarted, SchedulesListed} from './events/workbench.js';
import type {SystemSocketsChanged, SystemSocketsListed} from './events/system.js';
import type {TlsHandshakeFailed} from './events/tls.js';

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
		| TlsHandshakeFailed
		| AdmissionChanged
		| ConnectionStalled
		| ConnectionUnstalled
		| ResourceExhausted
		| KernelDropsChanged
		| MemoryReturned
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
		// LAN discovery (branch lan, issue 15)
		| ServiceDiscovered
		| ServiceUpdated
		| ServiceExpired
		| ServiceLeft
		| ServicesBrowsing
		| ForeignDatagram
		| PacketDropped
		// Broadcast probe (issue 15, point 5)
		| ProbeResults
		// System pane (issue 14): the machine's sockets
		| SystemSocketsListed
		| SystemSocketsChanged
		// capture (issue 16)
		| PcapFileFailed
		// Workbench (issue 17)
		| RuleAdded
		| RuleChanged
		| RuleReplied
		| RuleSkipped
		| RulesListed
		| ScheduleStarted
		| ScheduleFinished
		| SchedulesListed
		| SaveStarted
		| SaveFinished
		| SaveFailed
	);

/** Every event type name. */
export type EventType = BusEvent['type'];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<BusEvent, {type: T}>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What an emitter passes to the bus: an event without the fields the bus adds. */
export type EventInput = DistributiveOmit<BusEvent, 'seq' | 'at'>;
