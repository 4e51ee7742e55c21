import net from 'node:net';
import type {Bus} from '../bus.js';
import type {CloseReason, Endpoint} from '../events.js';
import type {ConnectionInit, ConnectionTap, TcpConnection} from '../tcp/connection.js';
import type {TcpListener} from '../tcp/listener.js';
import {NetdashError} from '../errors.js';
import {RelayLayer, defaultRelayLimits, type RelayLimits, type RelayOutput, type RelaySide} from './relay-layer.js';

/** A direction through a relay, as commands and events name it. */
export type RelayDirection = 'to-server' | 'to-client';

/** A step a person or script takes on a relay (issue 13, point 4). */
export type RelayStep =
	/** Hold chunks going one way (off: release what is held, in order). */
	| {type: 'intercept'; direction: RelayDirection; isOn: boolean}
	/** Send a held chunk on, or `data` in its place (edited). */
	| {type: 'release'; chunk: number; data?: Buffer}
	| {type: 'drop'; chunk: number}
	/** Send bytes of our own towards one side. */
	| {type: 'inject'; direction: RelayDirection; data: Buffer}
	/** Pace one direction at `bytesPerSecond` (0: no limit). */
	| {type: 'throttle'; direction: RelayDirection; bytesPerSecond: number};

/** How often a throttled direction is fed: small slices keep the pace even. */
const THROTTLE_TICK_MS = 100;

/** A throttled direction: bytes wait here (counted as queued by the layer, so the source is paused past 1 MiB). */
type Throttle = {bytesPerSecond: number; pending: Buffer[]; timer: NodeJS.Timeout | undefined; isFinWaiting: boolean};

function sideOf(direction: RelayDirection): RelaySide {
	return direction === 'to-server' ? 'server' : 'client';
}

function directionOf(side: RelaySide): RelayDirection {
	return side === 'server' ? 'to-server' : 'to-client';
}

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
	readonly #throttles: Partial<Record<RelaySide, Throttle>> = {};

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

	/** Take a step (intercept, release, drop, inject); each is an event. Throws NetdashError when it cannot be taken. */
	steer(step: RelayStep, ref?: string): void {
		const withRef = ref ? {ref} : {};
		switch (step.type) {
			case 'intercept': {
				this.#bus.emit({type: 'relay-intercept-changed', relay: this.id, direction: step.direction, isOn: step.isOn, ...withRef});
				this.#run(this.#layer.handle({type: 'intercept', to: sideOf(step.direction), isOn: step.isOn}), ref);
				break;
			}

			case 'release': {
				this.#run(this.#layer.handle({type: 'release', chunk: step.chunk, data: step.data}), ref);
				break;
			}

			case 'drop': {
				this.#run(this.#layer.handle({type: 'drop', chunk: step.chunk}), ref);
				break;
			}

			case 'throttle': {
				if (!Number.isFinite(step.bytesPerSecond) || step.bytesPerSecond < 0) {
					throw new NetdashError('BAD_RATE', `a throttle is a number of bytes per second, 0 or more, not ${step.bytesPerSecond}`);
				}

				this.#setThrottle(sideOf(step.direction), step.bytesPerSecond);
				this.#bus.emit({type: 'relay-throttle-changed', relay: this.id, direction: step.direction, bytesPerSecond: step.bytesPerSecond, ...withRef});
				break;
			}

			case 'inject': {
				const outputs = this.#layer.handle({type: 'inject', to: sideOf(step.direction), data: step.data});
				if (outputs[0]?.type === 'send') {
					this.#bus.emit({type: 'relay-injected', relay: this.id, direction: step.direction, bytes: step.data.length, data: step.data, ...withRef});
				}

				this.#run(outputs, ref);
				break;
			}
		}
	}

	#setThrottle(side: RelaySide, bytesPerSecond: number): void {
		const throttle = this.#throttles[side];
		if (bytesPerSecond > 0) {
			if (throttle) {
				throttle.bytesPerSecond = bytesPerSecond;
			} else {
				this.#throttles[side] = {bytesPerSecond, pending: [], timer: undefined, isFinWaiting: false};
			}

			return;
		}

		if (throttle) {
			// Off: what waits goes at once, then a FIN that waited behind it.
			delete this.#throttles[side];
			clearInterval(throttle.timer);
			for (const piece of throttle.pending) {
				this.#half(side).relaySend(piece);
			}

			if (throttle.isFinWaiting) {
				this.#shutdown(side);
			}
		}
	}

	/** Send towards a side, at its throttle's pace when it has one. */
	#send(side: RelaySide, data: Buffer): void {
		const throttle = this.#throttles[side];
		if (!throttle) {
			this.#half(side).relaySend(data);
			return;
		}

		throttle.pending.push(data);
		throttle.timer ??= setInterval(() => {
			this.#tick(side, throttle);
		}, THROTTLE_TICK_MS);
	}

	#tick(side: RelaySide, throttle: Throttle): void {
		let budget = Math.max(1, Math.floor((throttle.bytesPerSecond * THROTTLE_TICK_MS) / 1000));
		const half = this.#half(side);
		while (budget > 0 && throttle.pending.length > 0) {
			const head = throttle.pending[0]!;
			const piece = head.subarray(0, budget);
			half.relaySend(piece);
			budget -= piece.length;
			if (piece.length === head.length) {
				throttle.pending.shift();
			} else {
				throttle.pending[0] = head.subarray(piece.length);
			}
		}

		if (throttle.pending.length === 0) {
			clearInterval(throttle.timer);
			throttle.timer = undefined;
			if (throttle.isFinWaiting) {
				throttle.isFinWaiting = false;
				this.#shutdown(side);
			}
		}
	}

	#shutdown(side: RelaySide): void {
		const throttle = this.#throttles[side];
		if (throttle && throttle.pending.length > 0) {
			throttle.isFinWaiting = true; // The FIN goes after the paced bytes.
			return;
		}

		const half = this.#half(side);
		if (half.isOpen && !half.isWriteEnded) {
			half.shutdown();
		}
	}

	#sideOf(connection: TcpConnection): RelaySide {
		return connection === this.client ? 'client' : 'server';
	}

	#half(side: RelaySide): TcpConnection {
		return side === 'client' ? this.client : this.server;
	}

	#run(outputs: RelayOutput[], ref?: string): void {
		const withRef = ref ? {ref} : {};
		for (const output of outputs) {
			switch (output.type) {
				case 'held': {
					this.#bus.emit({type: 'relay-chunk-held', relay: this.id, chunk: output.chunk, direction: directionOf(output.to), bytes: output.data.length, data: output.data});
					break;
				}

				case 'released': {
					this.#bus.emit({type: 'relay-chunk-released', relay: this.id, chunk: output.chunk, direction: directionOf(output.to), bytes: output.bytes, isEdited: output.isEdited, ...withRef});
					break;
				}

				case 'dropped': {
					this.#bus.emit({type: 'relay-chunk-dropped', relay: this.id, chunk: output.chunk, direction: directionOf(output.to), bytes: output.bytes, ...withRef});
					break;
				}

				case 'refused': {
					throw new NetdashError(output.code, `${this.id}: ${output.message}`);
				}

				case 'send': {
					this.#send(output.to, output.data);
					break;
				}

				case 'shutdown': {
					this.#shutdown(output.side);
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
					for (const throttle of Object.values(this.#throttles)) {
						clearInterval(throttle.timer);
					}

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
