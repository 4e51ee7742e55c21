/**
 * Writing for the capture writer threads (`--log`, `--pcap`): node builtins
 * only, so a worker loads it from the source or the bundle alike.
 */
import {fstatSync, ftruncateSync, writeSync, writevSync} from 'node:fs';

/** Sleeps on EAGAIN (a FIFO or terminal whose reader is slow) without spinning. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Write `length` bytes of `bytes` in as few `write` calls as the kernel
 * allows. A batch holds whole records only (lines, pcapng blocks), so a
 * file cut between two writes (SIGKILL) ends on a record. On a regular file
 * that fails part way (ENOSPC, EFBIG), what this batch wrote is truncated
 * away, so the file still ends on its last whole record.
 */
export function appendWhole(fd: number, isRegular: boolean, bytes: Uint8Array, length: number): void {
	const start = isRegular ? fstatSync(fd).size : 0;
	try {
		for (let written = 0; written < length; ) {
			try {
				written += writeSync(fd, bytes, written, length - written);
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
					throw error;
				}

				// The descriptor is non-blocking (so opening a FIFO never hangs): wait for its reader.
				Atomics.wait(pause, 0, 0, 10);
			}
		}
	} catch (error) {
		if (isRegular) {
			try {
				ftruncateSync(fd, start);
			} catch {
				// Nothing more can be done; the failure itself is what the user needs to know.
			}
		}

		throw error;
	}
}

/** The most buffers one writev takes (IOV_MAX on Linux). */
const maxIovecs = 1024;

/**
 * appendWhole for a batch held as several buffers: one writev when the
 * kernel takes it all (no copy into one buffer first), the rest written as
 * appendWhole does. Same guarantees: whole records, and on a regular file
 * that fails part way the batch is truncated away.
 */
export function appendWholeV(fd: number, isRegular: boolean, buffers: readonly Buffer[], length: number): void {
	if (buffers.length > maxIovecs) {
		appendWhole(fd, isRegular, Buffer.concat(buffers, length), length);
		return;
	}

	const start = isRegular ? fstatSync(fd).size : 0;
	let written = 0;
	try {
		written = writevSync(fd, buffers);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
			if (isRegular) {
				try {
					ftruncateSync(fd, start);
				} catch {
					// The failure itself is what the user needs to know.
				}
			}

			throw error;
		}
	}

	if (written < length) {
		// A short write (a pipe's reader, a disk filling up): finish the rest, or cut the whole batch away.
		const rest = Buffer.concat(buffers, length).subarray(written);
		try {
			appendWhole(fd, false, rest, rest.length);
		} catch (error) {
			if (isRegular) {
				try {
					ftruncateSync(fd, start);
				} catch {
					// As above.
				}
			}

			throw error;
		}
	}
}

/** A batch's payloads as one buffer: its own `blob`, or the first `size` bytes of shared slot `slot`. */
export function payloadsOf(batch: {blob?: Uint8Array; slot?: number; size?: number}, slots: readonly SharedArrayBuffer[]): Buffer {
	return batch.blob === undefined ? Buffer.from(slots[batch.slot!]!, 0, batch.size) : Buffer.from(batch.blob.buffer, batch.blob.byteOffset, batch.blob.byteLength);
}
