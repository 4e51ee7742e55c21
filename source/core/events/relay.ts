import type {Endpoint} from './base.js';

/** Bus events of Relays: --forward / --forward-udp and steering a relay. Re-exported by ../events.ts, which holds the BusEvent union. */

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
