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

/** A command could not be carried out (bad arguments, unknown id, malformed JSON line). */
export type CommandFailed = {
	type: 'command-failed';
	ref: string | null;
	code: string;
	message: string;
};

/** A bus subscriber threw; it was isolated and emission went on. */
export type SubscriberFailed = {
	type: 'subscriber-failed';
	message: string;
};

/** Every event on the bus. */
export type BusEvent = EventBase &
	(
		| ListenerOpened
		| ListenerClosed
		| ConnectionDialing
		| ConnectionOpened
		| DataReceived
		| SendQueued
		| DataSent
		| MessageReceived
		| FramingOverflowed
		| ConnectionHalfClosed
		| ConnectionClosed
		| SocketFailed
		| CommandFailed
		| SubscriberFailed
	);

/** Every event type name. */
export type EventType = BusEvent['type'];

/** The event of one type. */
export type EventOf<T extends EventType> = Extract<BusEvent, {type: T}>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** What an emitter passes to the bus: an event without the fields the bus adds. */
export type EventInput = DistributiveOmit<BusEvent, 'seq' | 'at'>;
