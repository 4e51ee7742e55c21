/**
 * Writing for the capture writer threads (`--log`, `--pcap`): node builtins
 * only, so a worker loads it from the source or the bundle alike.
 */
import {fstatSync, ftruncateSync, writeSync} from 'node:fs';

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
