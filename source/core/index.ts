/** The core: everything that touches sockets, with no React. */
export {Bus, type Subscriber} from './bus.js';
export {Core, createCore, type CoreOptions, type CommandOptions, type CommandRecord, type OpenOptions} from './core.js';
export {executeCommand, eventToJson, reportBadCommand, commandNames, type Command} from './commands.js';
export {NetdashError, errorCode, oneLine, explainSocketError, formatAddress} from './errors.js';
export type * from './events.js';
export {parseFraming, formatFraming, type FramingSpec} from './framing/index.js';
export {Store, createStore, type StoreOptions} from './store/store.js';
export type * from './store/snapshot.js';
export {emptyLogView, type LogEntry, type LogView, type LogDirection} from './store/log.js';
export type {ConnectionState} from './tcp/connection.js';
export type {RelayStep, RelayDirection} from './relay/relay.js';
export {MAX_DATAGRAM_BYTES, UNFRAGMENTED_BYTES, type UdpBindOptions, type RequestOptions, type UdpSocketState} from './udp/udp-socket.js';
export {DEFAULT_DISCOVERY_PORT, type DiscoveryLimits, type DiscoveryStats} from './discovery/protocol.js';
export type {DiscoveryOptions, DiscoveryState} from './discovery/discovery.js';
export {DISCOVERY_LOG} from './store/reduce-udp.js';
export {whyNotDestroyable, type DestroyTarget} from './system/destroy.js';
