import {createWriteStream, type WriteStream} from 'node:fs';
import {openCaptureFile} from '../capture/open-file.js';
import type {Bus} from '../bus.js';
import {NetdashError, errorCode, oneLine} from '../errors.js';

/**
 * Raw saves (`save C1 PATH`): what a connection receives (or sends) from now
 * on, written byte for byte to a file, like `nc > file`, until it closes.
 */

/** Which bytes: `in` what the peer sent, `out` what we sent. */
export type SaveDirection = 'in' | 'out';

/** Bytes waiting for the disk before the connection's reading is held (TCP then slows the peer). */
const HOLD_BYTES = 8 * 1024 * 1024;

type Save = {
	readonly connection: string;
	readonly path: string;
	readonly direction: SaveDirection;
	readonly stream: WriteStream;
	bytes: number;
	isHeld: boolean;
	isOver: boolean;
};

/** What saves need of the core. */
export type SaveHost = {
	/** Throws NetdashError `UNKNOWN_ID` when the connection is not open. */
	assertOpen(connection: string): void;
	holdReading(holder: string, isHeld: boolean): void;
};

/**
 * Open a save file with the capture files' rules (capture/open-file.ts): no
 * symbolic link, 0600 when new, no FIFO, only the user's own regular file,
 * and an existing one emptied (as `> file` does) only after those checks.
 */
function openSaveFile(path: string): number {
	return openCaptureFile(path, {noun: 'save file', flag: ':save', code: 'SAVE'}, {allowSpecial: false, mode: 'truncate'}).fd;
}

/** The raw saves of one core. */
export class Saves {
	readonly #bus: Bus;
	readonly #host: SaveHost;
	/** By `connection direction`. */
	readonly #saves = new Map<string, Save>();

	constructor(bus: Bus, host: SaveHost) {
		this.#bus = bus;
		this.#host = host;
		bus.subscribe((event) => {
			if (this.#saves.size === 0) {
				return;
			}

			switch (event.type) {
				case 'data-received':
				case 'data-sent': {
					const save = this.#saves.get(`${event.connection} ${event.type === 'data-received' ? 'in' : 'out'}`);
					if (save) {
						// A received chunk may be the shared read buffer (tcp/shared-reads.ts): the file gets a copy.
						this.#write(save, event.type === 'data-received' ? Buffer.from(event.data) : event.data);
					}

					break;
				}

				case 'connection-closed': {
					for (const direction of ['in', 'out'] as const) {
						const save = this.#saves.get(`${event.connection} ${direction}`);
						if (save) {
							this.#end(save);
						}
					}

					break;
				}

				default:
			}
		}, {borrows: true});
	}

	/** Start saving; a save of the same connection and direction ends first. @throws NetdashError when the connection is not open or the file cannot be opened. */
	start(connection: string, path: string, direction: SaveDirection, ref?: string): void {
		this.#host.assertOpen(connection);
		const fd = openSaveFile(path);
		const key = `${connection} ${direction}`;
		const old = this.#saves.get(key);
		if (old) {
			this.#end(old);
		}

		const save: Save = {connection, path, direction, stream: createWriteStream('', {fd, autoClose: true}), bytes: 0, isHeld: false, isOver: false};
		save.stream.on('error', (error) => {
			this.#fail(save, error);
		});
		save.stream.on('drain', () => {
			this.#hold(save, false);
		});
		this.#saves.set(key, save);
		this.#bus.emit({type: 'save-started', connection, path, direction, ...(ref ? {ref} : {})});
	}

	/** End every save (closing everything). */
	endAll(): void {
		for (const save of [...this.#saves.values()]) {
			this.#end(save);
		}
	}

	#write(save: Save, data: Buffer): void {
		save.bytes += data.length;
		// Sent bytes are netdash's own and never change; received ones come here copied.
		if (!save.stream.write(data) && save.stream.writableLength >= HOLD_BYTES) {
			this.#hold(save, true);
		}
	}

	#hold(save: Save, isHeld: boolean): void {
		if (save.isHeld !== isHeld) {
			save.isHeld = isHeld;
			this.#host.holdReading(`save ${save.connection} ${save.direction}`, isHeld);
		}
	}

	#forget(save: Save): boolean {
		if (save.isOver) {
			return false;
		}

		save.isOver = true;
		this.#hold(save, false);
		const key = `${save.connection} ${save.direction}`;
		if (this.#saves.get(key) === save) {
			this.#saves.delete(key);
		}

		return true;
	}

	#end(save: Save): void {
		if (!this.#forget(save)) {
			return;
		}

		// The byte count is reported once the file holds them all.
		save.stream.end(() => {
			this.#bus.emit({type: 'save-finished', connection: save.connection, path: save.path, direction: save.direction, bytes: save.bytes});
		});
	}

	#fail(save: Save, error: unknown): void {
		const wasOpen = this.#forget(save);
		save.stream.destroy();
		if (wasOpen || save.isOver) {
			this.#bus.emit({type: 'save-failed', connection: save.connection, path: save.path, direction: save.direction, code: errorCode(error), message: `saving ${save.connection} to ${save.path} failed: ${oneLine(error)}`, bytes: save.bytes});
		}
	}
}
