import type {Core} from '../core.js';
import {startCaptureWorker} from './capture-worker.js';
import {openCaptureFile} from './open-file.js';
import {pcapRecordTypes} from './pcap-synth.js';

/** An open `--pcap` file. */
export type PcapFile = {
	/** Write what is queued, close every connection's stream as it stands, and close the file. */
	close(): Promise<void>;
};

/** How to open a `--pcap` file. */
export type PcapFileOptions = {
	/** Bytes on their way to disk past which events are left out and counted. @default 128 MiB */
	maxQueuedBytes?: number;
};

/**
 * `--pcap FILE`: every TCP connection and UDP datagram netdash handles,
 * written as a pcapng file that Wireshark and tshark open as if captured on
 * the wire (pcap-synth.ts builds the packets, pcapng.ts the blocks). The
 * file is opened like the `--log` file (not through a symbolic link, 0600
 * when created, a regular file only) and started again empty: a pcapng file
 * is one header followed by blocks. Packets are built and written on a
 * worker thread (pcap-writer.ts), whole blocks per write, so a SIGKILL
 * leaves a file readable up to its last block; if writing fails (disk full,
 * permission), `pcap-file-failed` says so once and the session goes on, the
 * file holding every block written before. Throws NetdashError when the file
 * cannot be opened.
 */
export function openPcapFile(core: Core, path: string, options: PcapFileOptions = {}): PcapFile {
	const {fd, stats} = openCaptureFile(path, {noun: 'capture file', flag: '--pcap', code: 'PCAP'}, {allowSpecial: false, mode: 'truncate'});
	const writer = startCaptureWorker(core, {
		fd,
		stats,
		path,
		writer: 'pcap-writer',
		output: 'pcap',
		maxQueuedBytes: options.maxQueuedBytes ?? 128 * 1024 * 1024,
		// A postMessage costs about the same however big the batch (measured on this loaded 2-core
		// machine: ~0.09 ms of CPU for a round trip alone, 0.3–0.8 ms each inside a busy sink): one per
		// 64 KiB chunk was the largest item of the --pcap sink's profile. Writing packets is cheap
		// next to --log's base64, so fewer, bigger batches win here; 4 ms is nothing next to the
		// 100 ms lag bound.
		batch: {bytes: 512 * 1024, delayMs: 4},
		failed: (code, message) => ({type: 'pcap-file-failed', path, code, message: `cannot write the capture file ${path}: ${message} — the session goes on without it`}),
	});
	// It borrows received bytes: the writer copies each payload into its batch as the event comes.
	const unsubscribe = core.bus.subscribe((event) => {
		// Only what becomes packets crosses to the writer thread.
		if (pcapRecordTypes.has(event.type)) {
			writer.addEvent(event);
		}
	}, {borrows: true});
	writer.onStop = unsubscribe;
	return {
		async close() {
			unsubscribe();
			await writer.close();
		},
	};
}
