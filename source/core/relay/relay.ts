import net from 'node:net';
import type {Bus} from '../bus.js';
import type {CloseReason, Endpoint} from '../events.js';
import type {ConnectionInit, ConnectionTap, TcpConnection} from '../tcp/connection.js';
import type {TcpListener} from '../tcp/listener.js';
import {RelayLayer, defaultRelayLimits, type RelayLimits, type RelayOutput, type RelaySide} from './relay-layer.js';

/** What a connection needs from the core that the relay cannot make itself. */
export type RelayHost = {
	/** The next connection id (`C…`), from the core's one sequence. */
	nextConnectionId(): string;
	/** Make a connection on `socket` and register it with the core like any other (commands, holds, closeAll). */
	adopt(socket: net.Socket, init: Pick<ConnectionInit, 'id' | 'origin' | 'listener' | 'framing' | 'dial' | 'local' | 'relay' | 'tap'>): TcpConnection;
};

/**
 * One relayed pair: the client a forward accepted and the connection dialed
 * for it. Glue only: every decision is the layer's (relay-layer.ts); this
 * turns socket facts into layer inputs and layer outputs into socket calls.
 */
export class Relay implements ConnectionTap {
	readonly id: string;
	readonly client: TcpConnection;
	readonly server: TcpConnection;
	readonly #layer: RelayLayer;
	readonly #bus: Bus;
	readonly #onEnded: (relay: Relay) => void;

	constructor(bus: Bus, host: RelayHost, init: {id: string; socket: net.Socket; listener: TcpListener; target: Endpoint; limits?: RelayLimits; onEnded: (relay: Relay) => void}) {
		this.id = init.id;
		this.#bus = bus;
		this.#layer = new RelayLayer(init.limits ?? defaultRelayLimits);
		this.#onEnded = init.onEnded;
		const clientId = host.nextConnectionId();
		const serverId = host.nextConnectionId();
		const {listener, target} = init;
		bus.emit({type: 'relay-opened', relay: this.id, listener: listener.id, client: clientId, server: serverId, target});
		// Both halves stay open after their peer's FIN: the relay passes each FIN on and closes when both are done.
		this.client = host.adopt(init.socket, {
			id: clientId,
			origin: 'accepted',
			listener: listener.id,
			framing: listener.framing,
			...(listener.localEnd ? {local: listener.localEnd} : {}),
			relay: {id: this.id, partner: serverId},
			tap: this,
		});
		const socket = new net.Socket({allowHalfOpen: true});
		this.server = host.adopt(socket, {
			id: serverId,
			origin: 'dialed',
			listener: null,
			framing: listener.framing,
			dial: {host: target.address, port: target.port},
			relay: {id: this.id, partner: clientId},
			tap: this,
		});
		socket.connect({host: target.address, port: target.port});
	}

	/** Bytes queued towards a side, held by the relay. */
	queued(side: RelaySide): number {
		return this.#layer.queued(side);
	}

	connected(): void {
		this.#run(this.#layer.handle({type: 'server-connected'}));
	}

	received(connection: TcpConnection, chunk: Buffer): void {
		this.#run(this.#layer.handle({type: 'data', from: this.#sideOf(connection), data: chunk}));
	}

	peerEnded(connection: TcpConnection): void {
		this.#run(this.#layer.handle({type: 'fin', from: this.#sideOf(connection)}));
	}

	written(connection: TcpConnection, bytes: number): void {
		this.#run(this.#layer.handle({type: 'written', to: this.#sideOf(connection), bytes}));
	}

	closed(connection: TcpConnection, reason: CloseReason, error: {code: string; message: string} | undefined): void {
		this.#run(this.#layer.handle({type: 'closed', side: this.#sideOf(connection), reason, code: error?.code, message: error?.message}));
	}

	#sideOf(connection: TcpConnection): RelaySide {
		return connection === this.client ? 'client' : 'server';
	}

	#half(side: RelaySide): TcpConnection {
		return side === 'client' ? this.client : this.server;
	}

	#run(outputs: RelayOutput[]): void {
		for (const output of outputs) {
			switch (output.type) {
				case 'send': {
					this.#half(output.to).relaySend(output.data);
					break;
				}

				case 'shutdown': {
					const half = this.#half(output.side);
					if (half.isOpen && !half.isWriteEnded) {
						half.shutdown();
					}

					break;
				}

				case 'reset': {
					const half = this.#half(output.side);
					if (half.isOpen) {
						if (output.message) {
							this.#bus.emit({type: 'socket-failed', target: half.id, code: output.code, message: output.message});
						}

						half.reset(undefined, output.code);
					}

					break;
				}

				case 'close': {
					const half = this.#half(output.side);
					if (half.isOpen && !(half.isWriteEnded && half.isReadEnded)) {
						half.close();
					}

					break;
				}

				case 'pause':
				case 'resume': {
					this.#half(output.side).setRelayReadingHeld(output.type === 'pause');
					break;
				}

				case 'ended': {
					this.#bus.emit({
						type: 'relay-closed',
						relay: this.id,
						client: this.client.id,
						server: this.server.id,
						reason: output.reason,
						bytesToServer: this.server.bytesOut,
						bytesToClient: this.client.bytesOut,
						...(output.code ? {code: output.code} : {}),
						...(output.message ? {message: output.message} : {}),
					});
					this.#onEnded(this);
					break;
				}
			}
		}
	}
}

/** Every relay of a core: forwards' accepted clients become relays R1, R2, … */
export class Relays {
	readonly #relays = new Map<string, Relay>();
	readonly #bus: Bus;
	readonly #host: RelayHost;
	readonly #limits: RelayLimits;
	#next = 1;

	constructor(bus: Bus, host: RelayHost, limits: RelayLimits = defaultRelayLimits) {
		this.#bus = bus;
		this.#host = host;
		this.#limits = limits;
	}

	/** A forward accepted `socket`: dial its target and relay between them. Synchronous, so handlers are on the socket at once. */
	accept(socket: net.Socket, listener: TcpListener): void {
		const target = listener.target!;
		const id = this.nextId();
		const relay = new Relay(this.#bus, this.#host, {
			id,
			socket,
			listener,
			target,
			limits: this.#limits,
			onEnded: (ended) => {
				this.#relays.delete(ended.id);
			},
		});
		this.#relays.set(id, relay);
	}

	/** The next relay id (`R…`): UDP forwards' sessions share the sequence. */
	nextId(): string {
		return `R${this.#next++}`;
	}

	/** A relay by id. */
	get(id: string): Relay | undefined {
		return this.#relays.get(id);
	}

	/** Relays still open. */
	get size(): number {
		return this.#relays.size;
	}
}
