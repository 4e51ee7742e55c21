import type {Endpoint} from './base.js';
import type {CertificateSummary, TlsInfo} from './tls.js';

/** Bus events of TCP listeners and connections: opening, data, framing, half-close, closing, admission, stalls and sendfile. Re-exported by ../events.ts, which holds the BusEvent union. */

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
	/** Present when it serves TLS: the certificate it presents. */
	tls?: {certificate: CertificateSummary};
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
	/** Present on TLS connections: the session, after its handshake. Data events carry plaintext. */
	tls?: TlsInfo;
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
