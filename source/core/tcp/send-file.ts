import type {FileHandle} from 'node:fs/promises';
import {builtin} from '../builtin.js';
import type {Bus} from '../bus.js';
import {NetdashError, errorCode, oneLine} from '../errors.js';
import type {TcpConnection} from './connection.js';

/** Loaded by the first file sent (builtin.ts). */
const fsPromises = builtin<typeof import('node:fs/promises')>('node:fs/promises');

/** Bytes read from the file at once: fewer, larger pieces than the socket's write chunk, so fewer `send-queued` events. */
const readBytes = 256 * 1024;

/** One file streaming to one connection. */
type FileSend = {
	readonly path: string;
	/** Resolves when the file is wholly queued, or when streaming stopped. */
	done: Promise<void>;
	/** Set by stop(): the reason it stopped, reported once the read in flight returns. */
	stopped: {code: string; message: string} | undefined;
};

/**
 * The files being streamed to connections (`sendfile`), at most one per
 * connection. A file is read one piece at a time, and the next piece only
 * when the connection's queue has room for it: memory stays within
 * `maxQueuedBytes` whatever the file's size, and the file goes out at the
 * pace the peer reads.
 */
export class FileSends {
	readonly #bus: Bus;
	readonly #sends = new Map<string, FileSend>();

	constructor(bus: Bus) {
		this.#bus = bus;
	}

	/** True while a file streams to connection `id`. */
	has(id: string): boolean {
		return this.#sends.has(id);
	}

	/** Resolves when the file streaming to `id` is wholly queued or stopped; undefined when none is. */
	whenDone(id: string): Promise<void> | undefined {
		return this.#sends.get(id)?.done;
	}

	/** Start streaming `path` to `connection`; `sendfile-started` follows, then `sendfile-finished` or `sendfile-failed`. */
	start(connection: TcpConnection, path: string, ref: string | undefined): void {
		connection.assertWritable();
		if (this.#sends.has(connection.id)) {
			throw new NetdashError('BUSY', `${connection.id} is already sending the file ${this.#sends.get(connection.id)!.path}: wait for sendfile-finished`);
		}

		const send: FileSend = {path, done: Promise.resolve(), stopped: undefined};
		send.done = this.#stream(connection, send, ref).finally(() => {
			this.#sends.delete(connection.id);
		});
		this.#sends.set(connection.id, send);
	}

	/** Stop the file streaming to `id`, if any: what is queued still goes; `sendfile-failed` says why it stopped. */
	stop(id: string, why: string): void {
		const send = this.#sends.get(id);
		if (send && !send.stopped) {
			send.stopped = {code: 'STOPPED', message: `${id} stopped sending ${send.path}: ${why}`};
		}
	}

	/** Stop every file. */
	stopAll(why: string): void {
		for (const id of this.#sends.keys()) {
			this.stop(id, why);
		}
	}

	async #stream(connection: TcpConnection, send: FileSend, ref: string | undefined): Promise<void> {
		const {id} = connection;
		const {path} = send;
		const withRef = ref ? {ref} : {};
		let bytes = 0;
		let handle: FileHandle | undefined;
		try {
			handle = await fsPromises().open(path, 'r');
			const info = await handle.stat();
			this.#bus.emit({type: 'sendfile-started', connection: id, path, size: info.isFile() ? info.size : null, ...withRef});
			for (;;) {
				// Room first, then read: a piece read is a piece queued at once, never one held waiting.
				await connection.whenRoom(readBytes);
				if (send.stopped) {
					break;
				}

				const buffer = Buffer.allocUnsafeSlow(readBytes);
				const {bytesRead} = await handle.read(buffer, 0, readBytes, null);
				if (send.stopped) {
					break;
				}

				if (bytesRead === 0) {
					this.#bus.emit({type: 'sendfile-finished', connection: id, path, bytes, ...withRef});
					return;
				}

				connection.send(buffer.subarray(0, bytesRead), ref);
				bytes += bytesRead;
			}

			this.#bus.emit({type: 'sendfile-failed', connection: id, path, bytes, ...send.stopped!, ...withRef});
		} catch (error) {
			const isRead = handle !== undefined && !(error instanceof NetdashError);
			const message = error instanceof NetdashError ? oneLine(error) : `cannot ${isRead ? 'read' : 'open'} ${path}: ${oneLine(error)}`;
			this.#bus.emit({type: 'sendfile-failed', connection: id, path, bytes, code: errorCode(error), message, ...withRef});
		} finally {
			await handle?.close().catch(() => undefined);
		}
	}
}
