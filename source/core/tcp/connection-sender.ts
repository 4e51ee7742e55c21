import type net from 'node:net';
import type {Bus} from '../bus.js';
import {NetdashError, type SocketContext} from '../errors.js';
import type {ConnectionState, TcpConnection} from './connection.js';
import type {ConnectionLimits, ConnectionTap} from './connection-init.js';
import {SendQueue} from './send-queue.js';

/**
 * The sending side of a connection: bytes accepted by send() wait in its
 * SendQueue and are handed to the socket one piece at a time, each a
 * `data-sent` event; callers wait for room; a watchdog tells when the queue
 * stops moving; our FIN follows the last queued byte. TcpConnection is its
 * one subclass and supplies the state, the failure and the socket. A base
 * class rather than an object the connection holds: 10,000 connections
 * hold no extra object each, and the pump, run per piece, reads fields of
 * the connection itself.
 */
export abstract class ConnectionSender {
	readonly id: string;
	// Set once here and read by the subclass as well: one field each per connection, not two.
	protected readonly socket: net.Socket;
	protected readonly bus: Bus;
	protected readonly limits: ConnectionLimits;
	protected readonly tap: ConnectionTap | undefined;
	/** True while netdash's own output is backed up: queued pieces wait (each one sent is an event to write). */
	protected isSendingHeld = false;
	#bytesOut = 0;
	/** Bytes accepted by send() (all of them, flushed or not). */
	#bytesAccepted = 0;
	#isWriteEnded = false;
	/** When the queue last moved (a write completed) or was last empty. */
	#progressAt = Date.now();
	#isStalled = false;
	/** Our own send queue, fed to the socket one piece at a time (send-queue.ts); made on the first send (most accepted connections at scale never send). */
	#sendQueue: SendQueue | undefined;
	#isWriting = false;
	/** `end()` waits until the queue is empty, so our FIN follows every queued byte. */
	#endWhenDrained: (() => void) | undefined;

	constructor(bus: Bus, socket: net.Socket, id: string, limits: ConnectionLimits, tap: ConnectionTap | undefined) {
		this.bus = bus;
		this.socket = socket;
		this.id = id;
		this.limits = limits;
		this.tap = tap;
	}

	/** Bytes in the send queue (none before the first send). */
	get #queued(): number {
		return this.#sendQueue?.queued ?? 0;
	}

	/** Current state. */
	abstract get state(): ConnectionState;

	/** True until the connection has ended (closed, reset or failed). */
	abstract get isOpen(): boolean;

	/** Bytes handed to the kernel, exact. */
	get bytesOut(): number {
		return this.#bytesOut;
	}

	/** Bytes accepted by send but not yet handed to the kernel. */
	get queued(): number {
		return this.#queued;
	}

	/**
	 * Queues bytes to send. Never blocks: the bytes wait in memory (bounded by
	 * `maxQueuedBytes`) while the kernel's buffer is full, and leave as the
	 * peer reads. Each piece that leaves is a `data-sent` event.
	 * The buffer must not be changed afterwards (it is sent without a copy).
	 */
	send(bytes: Buffer, ref?: string): void {
		this.assertWritable();

		const queued = this.#queued;
		const limit = this.limits.maxQueuedBytes;
		if (bytes.length > limit) {
			// No peer, however fast, could make room for it: the send itself is over the limit.
			throw new NetdashError('TOO_LARGE', `${this.id} cannot send ${bytes.length} bytes at once: that is larger than the queue limit of ${limit} bytes (--max-queued); split it or raise the limit`);
		}

		if (queued + bytes.length > limit) {
			throw new NetdashError(
				'QUEUE_FULL',
				`${this.id} cannot queue ${bytes.length} more bytes: ${queued} already wait and the limit is ${this.limits.maxQueuedBytes} — the peer is not reading fast enough`,
			);
		}

		this.#enqueue(bytes, ref);
		// Write callbacks never run synchronously, so this precedes every data-sent of the send.
		this.bus.emit({type: 'send-queued', connection: this.id, bytes: bytes.length, queued: this.#queued, ...(ref ? {ref} : {})});
		this.pump();
	}

	/**
	 * Queue bytes a relay passes on from its other half: no queue limit (the
	 * relay bounds its pair by pausing the reader) and no `send-queued` (the
	 * other half's `data-received` already told of them); `data-sent` follows
	 * as they leave. Does nothing once our side can no longer send.
	 */
	relaySend(bytes: Buffer): void {
		if (!this.isOpen || this.#isWriteEnded) {
			return;
		}

		this.#enqueue(bytes, undefined);
		this.pump();
	}

	#enqueue(bytes: Buffer, ref: string | undefined): void {
		this.#bytesAccepted += bytes.length;
		(this.#sendQueue ??= new SendQueue()).push(bytes, ref, this.limits.writeChunkBytes);
	}

	/** True once our FIN is queued or sent (shutdown, close, or after the peer's FIN when not half-open). */
	get isWriteEnded(): boolean {
		return this.#isWriteEnded;
	}

	/** Throws NOT_WRITABLE unless bytes may still be queued (open, and our side not shut down). */
	assertWritable(): void {
		if (!this.isOpen || this.#isWriteEnded || this.socket.writableEnded) {
			throw new NetdashError('NOT_WRITABLE', `${this.id} cannot send: ${this.whyNotWritable()}`);
		}
	}

	/**
	 * Resolves once `bytes` more fit under `maxQueuedBytes` (or the queue is
	 * empty, or the connection can no longer send — the send then fails on
	 * its own); undefined when they fit now. How a script's sends and a
	 * streamed file are slowed to the pace the peer reads at.
	 */
	whenRoom(bytes: number): Promise<void> | undefined {
		if (this.#hasRoom(bytes)) {
			return undefined;
		}

		return (this.#sendQueue ??= new SendQueue()).waitForRoom(bytes);
	}

	#hasRoom(bytes: number): boolean {
		return !this.isOpen || this.#isWriteEnded || this.#queued === 0 || this.#queued + bytes <= this.limits.maxQueuedBytes;
	}

	/** Wake the callers waiting for room that now have it (after a write, and at the end, when all do). */
	protected wakeRoomWaiters(): void {
		// The predicate is made only when someone waits: no closure per connection or per write.
		if (this.#sendQueue?.hasRoomWaiters) {
			this.#sendQueue.wakeRoomWaiters((bytes) => this.#hasRoom(bytes));
		}
	}

	/** True while the queue has not drained for the stall timeout. */
	get isStalled(): boolean {
		return this.#isStalled;
	}

	/**
	 * The progress watchdog: queued bytes that have not moved for `stallMs`
	 * mean the peer is alive but not reading, or gone without a FIN (TCP
	 * alone reports nothing for ~15 minutes).
	 */
	checkStall(now: number, stallMs: number): void {
		const queued = this.#queued;
		if (queued === 0 || !this.isOpen) {
			this.#progressAt = now;
			this.#unstall();
			return;
		}

		if (!this.#isStalled && now - this.#progressAt >= stallMs) {
			this.#isStalled = true;
			this.bus.emit({type: 'connection-stalled', connection: this.id, queued, stalledMs: now - this.#progressAt});
		}
	}

	/**
	 * Our side sends no more (shutdown, close, or the peer's FIN when not
	 * half-open): `end` (our FIN) runs once the queue is empty.
	 */
	protected endAfterQueue(end: () => void): void {
		this.#isWriteEnded = true;
		if (this.#queued === 0) {
			end();
		} else {
			this.#endWhenDrained = end;
		}
	}

	/** Hand the next queued piece to the socket once the previous one is in the kernel. */
	protected pump(): void {
		if (this.#isWriting || this.state === 'connecting' || this.isSendingHeld) {
			return; // A dial's queue starts on connect; a held one on release.
		}

		const next = this.#sendQueue?.shift();
		if (!next) {
			const end = this.#endWhenDrained;
			this.#endWhenDrained = undefined;
			end?.();
			return;
		}

		this.#isWriting = true;
		const {piece, ref} = next;
		try {
			this.socket.write(piece, (error) => {
				this.#isWriting = false;
				if (error) {
					return; // Reported by the socket's 'error' and close; what is left counts as unsent.
				}

				this.#bytesOut += piece.length;
				this.#sendQueue!.written(piece.length);
				this.#progressAt = Date.now();
				this.#unstall();
				this.bus.emit({
					type: 'data-sent',
					connection: this.id,
					bytes: piece.length,
					data: piece,
					queued: this.#queued,
					...(ref ? {ref} : {}),
				});
				// TcpConnection is the one subclass: the tap is told of the connection itself.
				this.tap?.written(this as unknown as TcpConnection, piece.length);
				this.wakeRoomWaiters();
				this.pump();
			});
		} catch (error) {
			// write() can throw synchronously after the peer's FIN (nodejs/node#24111).
			this.#isWriting = false;
			this.fail(error, 'send');
		}
	}

	#unstall(): void {
		if (this.#isStalled) {
			this.#isStalled = false;
			this.bus.emit({type: 'connection-unstalled', connection: this.id});
		}
	}

	/** Bytes accepted by send() that never reached the kernel (dropped by a reset, or left at the close). */
	protected get unsent(): number {
		return this.#bytesAccepted - this.#bytesOut;
	}

	/** Why nothing more may be sent, for NOT_WRITABLE. */
	protected whyNotWritable(): string {
		if (!this.isOpen) {
			return `it is ${this.state}`;
		}

		return 'our side is already shut down (FIN sent)';
	}

	/** Record the failure (unless one is already the cause) and destroy the socket. */
	protected abstract fail(error: unknown, operation: SocketContext['operation']): void;
}
