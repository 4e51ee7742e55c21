/**
 * The `--pcap` writer thread: turns batches of records (the same batches
 * the `--log` writer takes, see log-writer.ts) into pcapng blocks and
 * appends each batch's blocks in one write. Node builtins and `.ts` imports
 * only, so Node can start it from the built file or, under the test runner,
 * from the TypeScript source by type stripping.
 */
import {parentPort, workerData} from 'node:worker_threads';
import {appendWholeV, payloadsOf} from './append.ts';
import type {FromWriter, ToWriter, WriterData} from './log-writer.ts';
import {type CaptureRecord, PcapSynth} from './pcap-synth.ts';

const port = parentPort!;
const {fd, isRegular, slots} = workerData as WriterData;
let hasFailed = false;
let blocks: Buffer[] = [];
let size = 0;
const synth = new PcapSynth((block) => {
	blocks.push(block);
	size += block.length;
});

/** Write the blocks built so far in one piece (whole blocks only: a cut file ends on a block). */
function writeBlocks(): void {
	const pending = blocks;
	const length = size;
	blocks = [];
	size = 0;
	if (hasFailed || length === 0) {
		return;
	}

	try {
		appendWholeV(fd, isRegular, pending, length);
	} catch (error) {
		hasFailed = true;
		const {code, message} = error as NodeJS.ErrnoException;
		port.postMessage({kind: 'failed', code: code ?? 'UNKNOWN', message: String(message).split('\n', 1)[0] ?? ''} satisfies FromWriter);
	}
}

// The section header and interface description go out at once: even a session with no packet is a valid file.
writeBlocks();

port.on('message', (message: ToWriter) => {
	if (message.kind === 'close') {
		port.postMessage({kind: 'closed'} satisfies FromWriter);
		port.close();
		return;
	}

	const blob = payloadsOf(message, slots);
	let offset = 0;
	for (const [index, head] of message.heads.entries()) {
		const record = JSON.parse(head) as CaptureRecord;
		const length = message.lengths[index]!;
		if (length >= 0) {
			record.data = blob.subarray(offset, offset + length);
			offset += length;
		}

		synth.add(record);
	}

	// Every piece of the batch (payloads included, which lie in the blob) is written: the blob can go back.
	writeBlocks();
	port.postMessage({kind: 'written', cost: message.cost, slot: message.slot} satisfies FromWriter);
});
