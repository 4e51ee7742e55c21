/** A piece of a send waiting for the kernel, with the `ref` of the send it came from. */
export type QueuedPiece = {piece: Buffer; ref: string | undefined};

/**
 * A connection's own send queue, fed to the socket one piece at a time (the
 * sendall loop), and the callers waiting for room in it. Pieces handed to the socket together would go out as one writev
 * whose callbacks all fire when the whole batch is in the kernel —
 * megabytes later for a slow reader: bytesOut froze, a reading peer looked
 * stalled, and bytes the peer had read were counted unsent on a reset.
 */
export class SendQueue {
	#pending: QueuedPiece[] | undefined;
	#pendingHead = 0;
	#queued = 0;
	/** Callers waiting for room in the queue (scripts' sends, a file being streamed). */
	#roomWaiters: Array<{bytes: number; resolve: () => void}> | undefined;

	/** Bytes accepted and not yet handed to the kernel, the piece in flight included. */
	get queued(): number {
		return this.#queued;
	}

	/** Queue `bytes` in pieces of at most `chunk` bytes, so counters and the queue move as it drains. */
	push(bytes: Buffer, ref: string | undefined, chunk: number): void {
		this.#queued += bytes.length;
		for (let offset = 0; offset < bytes.length; offset += chunk) {
			// Made on the first send: most accepted connections at scale never send.
			(this.#pending ??= []).push({piece: bytes.subarray(offset, offset + chunk), ref});
		}
	}

	/** Take the next piece to hand to the kernel (it still counts as queued until {@link written}); undefined when none waits. */
	shift(): QueuedPiece | undefined {
		const pending = this.#pending;
		const next = pending?.[this.#pendingHead];
		if (!next) {
			return undefined;
		}

		pending![this.#pendingHead++] = undefined as never;
		if (this.#pendingHead > 1024 && this.#pendingHead * 2 > pending!.length) {
			pending!.splice(0, this.#pendingHead);
			this.#pendingHead = 0;
		}

		return next;
	}

	/** A piece of `bytes` is in the kernel. */
	written(bytes: number): void {
		this.#queued -= bytes;
	}

	/** True while any caller waits for room. */
	get hasRoomWaiters(): boolean {
		return this.#roomWaiters !== undefined;
	}

	/** Resolves when {@link wakeRoomWaiters} finds room for `bytes`. */
	waitForRoom(bytes: number): Promise<void> {
		return new Promise((resolve) => {
			(this.#roomWaiters ??= []).push({bytes, resolve});
		});
	}

	/** Resolve the callers `hasRoom` now finds room for; the others wait on. */
	wakeRoomWaiters(hasRoom: (bytes: number) => boolean): void {
		const waiters = this.#roomWaiters;
		if (!waiters) {
			return;
		}

		this.#roomWaiters = undefined;
		for (const waiter of waiters) {
			if (hasRoom(waiter.bytes)) {
				waiter.resolve();
			} else {
				(this.#roomWaiters ??= []).push(waiter);
			}
		}
	}
}
