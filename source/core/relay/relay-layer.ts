import type {CloseReason} from '../events.js';

/**
 * The relay's logic with no socket in it (sans-IO, after mitmproxy's
 * `proxy/layers/tcp.py`): facts about the two halves come in, commands for
 * the glue (relay.ts) come out. Bytes pass unchanged and in order; a FIN
 * becomes a half-close of the other side, a RST a RST; reading one side
 * stops while the other side's queue is full, so memory per pair stays
 * bounded. Testable with no socket at all (test/core/relay-layer.test.ts).
 */

/** Which half: the client that connected to the forward, or the server the relay dialed for it. */
export type RelaySide = 'client' | 'server';

/** How a relay ended. `upstream-failed`: the server could not be reached (refused, timed out). */
export type RelayEndReason = 'closed' | 'reset' | 'failed' | 'upstream-failed';

/** A fact about one half, reported by the glue. */
export type RelayInput =
	| {type: 'server-connected'}
	| {type: 'data'; from: RelaySide; data: Buffer}
	/** The side sent its FIN. */
	| {type: 'fin'; from: RelaySide}
	/** Bytes queued towards `to` were handed to the kernel. */
	| {type: 'written'; to: RelaySide; bytes: number}
	| {type: 'closed'; side: RelaySide; reason: CloseReason; code?: string | undefined; message?: string | undefined}
	/** Hold (or stop holding, releasing what is held in order) chunks going towards `to`. */
	| {type: 'intercept'; to: RelaySide; isOn: boolean}
	/** Send a held chunk on, as it was or as `data` (edited). */
	| {type: 'release'; chunk: number; data?: Buffer | undefined}
	| {type: 'drop'; chunk: number}
	/** Bytes of our own towards `to`, in order with what is relayed. */
	| {type: 'inject'; to: RelaySide; data: Buffer};

/** A command for the glue to carry out. */
export type RelayOutput =
	| {type: 'send'; to: RelaySide; data: Buffer}
	/** Send a FIN to the side after what is queued for it. */
	| {type: 'shutdown'; side: RelaySide}
	/** Abort the side with a RST; `code` says why on its `connection-closed`. */
	| {type: 'reset'; side: RelaySide; code: string; message?: string}
	/** Close the side (FIN after its queue, then release): its partner is gone. */
	| {type: 'close'; side: RelaySide}
	/** Stop / restart reading from the side. */
	| {type: 'pause'; side: RelaySide}
	| {type: 'resume'; side: RelaySide}
	/** A chunk towards `to` is held (intercept is on), as chunk number `chunk`. */
	| {type: 'held'; chunk: number; to: RelaySide; data: Buffer}
	| {type: 'released'; chunk: number; to: RelaySide; bytes: number; isEdited: boolean}
	| {type: 'dropped'; chunk: number; to: RelaySide; bytes: number}
	/** A step could not be taken (unknown chunk, side gone): one line for `command-failed`. */
	| {type: 'refused'; code: string; message: string}
	/** Both halves are gone: the relay is over. */
	| {type: 'ended'; reason: RelayEndReason; code?: string; message?: string};

/** Bounds of a relay's memory. */
export type RelayLimits = {
	/** Bytes queued towards one side at which reading the other side stops. */
	highWater: number;
	/** Bytes queued towards one side at or below which reading the other side starts again. */
	lowWater: number;
};

/** The default bounds: 1 MiB queued per direction at most (plus one read chunk, at most 64 KiB). */
export const defaultRelayLimits: RelayLimits = {highWater: 1024 * 1024, lowWater: 256 * 1024};

type HalfState = {
	isOpen: boolean;
	/** We have asked for a FIN to go to this side. */
	isFinSent: boolean;
	/** Bytes queued towards this side, not yet in the kernel. */
	queued: number;
	/** Reading from this side is paused. */
	isPaused: boolean;
	/** Chunks towards this side held by intercept, oldest first, and their bytes. */
	isIntercepted: boolean;
	held: Array<{chunk: number; data: Buffer}>;
	heldBytes: number;
	/** A FIN from the other side waits for the held chunks to go first. */
	isFinWaiting: boolean;
	/** Whether it was ever connected (the client always is). */
	wasConnected: boolean;
};

function other(side: RelaySide): RelaySide {
	return side === 'client' ? 'server' : 'client';
}

/** One relay's state: feed it facts with {@link RelayLayer.handle}, carry out what it returns. */
export class RelayLayer {
	readonly #limits: RelayLimits;
	readonly #halves: Record<RelaySide, HalfState> = {
		client: {isOpen: true, isFinSent: false, queued: 0, isPaused: false, wasConnected: true, isIntercepted: false, held: [], heldBytes: 0, isFinWaiting: false},
		server: {isOpen: true, isFinSent: false, queued: 0, isPaused: false, wasConnected: false, isIntercepted: false, held: [], heldBytes: 0, isFinWaiting: false},
	};

	#nextChunk = 1;

	/** The first abnormal end, which names the relay's end. */
	#end: {reason: RelayEndReason; code?: string; message?: string} | undefined;
	#isEnded = false;
	/** Bytes that arrived after the other side was gone, dropped. */
	#dropped = 0;

	constructor(limits: RelayLimits = defaultRelayLimits) {
		this.#limits = limits;
	}

	/** Bytes queued towards a side now (what the relay holds in memory for it). */
	queued(side: RelaySide): number {
		return this.#halves[side].queued;
	}

	/** True while reading from the side is paused. */
	isPaused(side: RelaySide): boolean {
		return this.#halves[side].isPaused;
	}

	/** Bytes dropped because they arrived after their destination was gone. */
	get dropped(): number {
		return this.#dropped;
	}

	/** True once both halves are gone. */
	get isEnded(): boolean {
		return this.#isEnded;
	}

	/** Take one fact in; return the commands it calls for, in order. */
	handle(input: RelayInput): RelayOutput[] {
		switch (input.type) {
			case 'server-connected': {
				this.#halves.server.wasConnected = true;
				return [];
			}

			case 'data': {
				return this.#onData(input.from, input.data);
			}

			case 'fin': {
				const to = other(input.from);
				const half = this.#halves[to];
				if (!half.isOpen || half.isFinSent) {
					return [];
				}

				if (half.held.length > 0) {
					half.isFinWaiting = true; // The FIN follows the held chunks, as it followed them on the wire.
					return [];
				}

				half.isFinSent = true;
				return [{type: 'shutdown', side: to}];
			}

			case 'intercept': {
				const half = this.#halves[input.to];
				half.isIntercepted = input.isOn;
				if (input.isOn) {
					return [];
				}

				const outputs: RelayOutput[] = [];
				for (const {chunk} of [...half.held]) {
					outputs.push(...this.#release(chunk, undefined));
				}

				return outputs;
			}

			case 'release': {
				return this.#release(input.chunk, input.data);
			}

			case 'drop': {
				const found = this.#takeHeld(input.chunk);
				if (!found) {
					return [{type: 'refused', code: 'UNKNOWN_CHUNK', message: `no held chunk ${input.chunk}`}];
				}

				return [{type: 'dropped', chunk: input.chunk, to: found.to, bytes: found.data.length}, ...this.#afterHeldGone(found.to)];
			}

			case 'inject': {
				const half = this.#halves[input.to];
				if (!half.isOpen || half.isFinSent) {
					return [{type: 'refused', code: 'NOT_WRITABLE', message: `the ${input.to} side can no longer be sent to`}];
				}

				half.queued += input.data.length;
				return [{type: 'send', to: input.to, data: input.data}];
			}

			case 'written': {
				const half = this.#halves[input.to];
				half.queued = Math.max(0, half.queued - input.bytes);
				const from = this.#halves[other(input.to)];
				if (from.isPaused && from.isOpen && half.queued + half.heldBytes <= this.#limits.lowWater) {
					from.isPaused = false;
					return [{type: 'resume', side: other(input.to)}];
				}

				return [];
			}

			case 'closed': {
				return this.#onClosed(input.side, input.reason, input.code, input.message);
			}
		}
	}

	#onData(from: RelaySide, data: Buffer): RelayOutput[] {
		const to = other(from);
		const half = this.#halves[to];
		if (!half.isOpen || half.isFinSent) {
			this.#dropped += data.length;
			return [];
		}

		const source = this.#halves[from];
		let outputs: RelayOutput[];
		if (half.isIntercepted) {
			const chunk = this.#nextChunk++;
			half.held.push({chunk, data});
			half.heldBytes += data.length;
			outputs = [{type: 'held', chunk, to, data}];
		} else {
			half.queued += data.length;
			outputs = [{type: 'send', to, data}];
		}

		// Held bytes count as well: a held direction stops its source like a slow reader does.
		if (half.queued + half.heldBytes >= this.#limits.highWater && !source.isPaused) {
			// The destination is not reading as fast as the source writes: let TCP slow the source.
			source.isPaused = true;
			outputs.push({type: 'pause', side: from});
		}

		return outputs;
	}

	#takeHeld(chunk: number): {to: RelaySide; data: Buffer} | undefined {
		for (const to of ['client', 'server'] as const) {
			const half = this.#halves[to];
			const index = half.held.findIndex((entry) => entry.chunk === chunk);
			if (index !== -1) {
				const [entry] = half.held.splice(index, 1);
				half.heldBytes -= entry!.data.length;
				return {to, data: entry!.data};
			}
		}

		return undefined;
	}

	#release(chunk: number, edited: Buffer | undefined): RelayOutput[] {
		const found = this.#takeHeld(chunk);
		if (!found) {
			return [{type: 'refused', code: 'UNKNOWN_CHUNK', message: `no held chunk ${chunk}`}];
		}

		const data = edited ?? found.data;
		const half = this.#halves[found.to];
		half.queued += data.length;
		return [{type: 'send', to: found.to, data}, {type: 'released', chunk, to: found.to, bytes: data.length, isEdited: edited !== undefined}, ...this.#afterHeldGone(found.to)];
	}

	/** After a held chunk went (or was dropped): a waiting FIN may follow, a paused source may read again. */
	#afterHeldGone(to: RelaySide): RelayOutput[] {
		const half = this.#halves[to];
		const outputs: RelayOutput[] = [];
		if (half.held.length === 0 && half.isFinWaiting && half.isOpen && !half.isFinSent) {
			half.isFinWaiting = false;
			half.isFinSent = true;
			outputs.push({type: 'shutdown', side: to});
		}

		const from = this.#halves[other(to)];
		if (from.isPaused && from.isOpen && half.queued + half.heldBytes <= this.#limits.lowWater) {
			from.isPaused = false;
			outputs.push({type: 'resume', side: other(to)});
		}

		return outputs;
	}

	/** Chunks held now, oldest first per side. */
	held(to: RelaySide): ReadonlyArray<{chunk: number; bytes: number}> {
		return this.#halves[to].held.map((entry) => ({chunk: entry.chunk, bytes: entry.data.length}));
	}

	#onClosed(side: RelaySide, reason: CloseReason, code: string | undefined, message: string | undefined): RelayOutput[] {
		const half = this.#halves[side];
		if (!half.isOpen) {
			return [];
		}

		half.isOpen = false;
		half.queued = 0;
		half.held = [];
		half.heldBytes = 0;
		const to = other(side);
		const partner = this.#halves[to];
		const outputs: RelayOutput[] = [];
		if (side === 'server' && !half.wasConnected && reason !== 'closed') {
			const why = message ?? code ?? reason;
			this.#end ??= {reason: 'upstream-failed', ...(code ? {code} : {}), message: `the server could not be reached: ${why}`};
			if (partner.isOpen) {
				outputs.push({type: 'reset', side: to, code: 'UPSTREAM_FAILED', message: `upstream failed (${code ?? reason}): ${why}`});
			}
		} else if (reason === 'closed') {
			if (partner.isOpen) {
				outputs.push({type: 'close', side: to});
			}
		} else {
			// A RST (or a failure, which loses bytes just the same) is passed on as a RST.
			this.#end ??= {reason, ...(code ? {code} : {}), message: `the ${side} ${reason === 'reset' ? 'reset the connection' : 'failed'}${code ? ` (${code})` : ''}`};
			if (partner.isOpen) {
				outputs.push({type: 'reset', side: to, code: 'RELAYED_RESET'});
			}
		}

		if (partner.isPaused) {
			partner.isPaused = false;
		}

		if (!partner.isOpen && !this.#isEnded) {
			this.#isEnded = true;
			outputs.push({type: 'ended', ...(this.#end ?? {reason: 'closed'})});
		}

		return outputs;
	}
}
