/**
 * The commands given to one UDP socket, carried out strictly one after
 * another in the order they were given. node:dgram does not keep that order
 * by itself: a send resolves its address on a later tick (even an IP
 * literal), so a `broadcast on` given after a send would reach the kernel
 * first; and sends made before the socket is bound wait in a queue of
 * node:dgram's that a close overtakes, losing them without a callback. Here
 * a command that must wait (a name to look up, a connect, a close that waits
 * for its sends) holds back every command after it.
 */

/** What a command returns: a Promise holds the queue until it settles. */
type Step = {ref: string | undefined; run: () => unknown};

/** An ordered queue of one socket's commands. */
export class CommandQueue {
	readonly #steps: Step[] = [];
	readonly #onFailed: (error: unknown, ref: string | undefined) => void;
	#isBusy = false;
	#isHeld = true;

	/** `onFailed` reports a queued command that threw when its turn came (as `command-failed`). */
	constructor(onFailed: (error: unknown, ref: string | undefined) => void) {
		this.#onFailed = onFailed;
	}

	/** True when nothing is waiting or running: a new command would run at once. */
	get isIdle(): boolean {
		return !this.#isHeld && !this.#isBusy && this.#steps.length === 0;
	}

	/**
	 * Run `run` now when the queue is idle (what it throws goes to the
	 * caller, and its result is returned), else queue it and return
	 * `queued`.
	 */
	add<T>(ref: string | undefined, run: () => T, queued: T): T {
		if (!this.isIdle) {
			this.#steps.push({ref, run});
			return queued;
		}

		const result = run();
		this.#await(result);
		return result;
	}

	/** Hold every command (while the socket binds), or let them go. */
	hold(isHeld: boolean): void {
		this.#isHeld = isHeld;
		this.#pump();
	}

	#await(result: unknown): void {
		if (result instanceof Promise) {
			this.#isBusy = true;
			const settle = () => {
				this.#isBusy = false;
				this.#pump();
			};
			// A rejection is the step's own to report; here it only releases the queue.
			result.then(settle, settle);
		}
	}

	#pump(): void {
		while (!this.#isHeld && !this.#isBusy && this.#steps.length > 0) {
			const step = this.#steps.shift()!;
			try {
				this.#await(step.run());
			} catch (error) {
				this.#onFailed(error, step.ref);
			}
		}
	}
}
