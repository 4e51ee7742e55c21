import {closeSync, createReadStream, statSync} from 'node:fs';
import {createInterface} from 'node:readline';
import {NetdashError} from '../errors.js';
import {appendWhole} from './append.js';
import {openCaptureFile} from './open-file.js';
import {type CaptureRecord, PcapSynth, pcapRecordTypes} from './pcap-synth.js';

/** What `netdash export` did. */
export type ExportSummary = {
	/** Lines read from the log. */
	lines: number;
	packets: number;
	/** Records about a connection or socket whose opening the log does not hold. */
	skipped: number;
	/** Line numbers (1-based) that were not a JSON record: cut by a SIGKILL, or not a log line. */
	badLines: number[];
};

/** Bytes of blocks gathered before one write. */
const writeBatchBytes = 1024 * 1024;

/**
 * `netdash export LOG.jsonl -o FILE.pcapng`: the packets of a `--log` file,
 * built the way `--pcap` builds them (pcap-synth.ts), into a new pcapng
 * file (opened like `--pcap`: no symbolic link, 0600, started again empty).
 * A line that is not JSON is counted by its number and skipped; a file of
 * several runs (several `session-started` records) gives one capture with
 * every run in order. Throws NetdashError when a file cannot be opened, or
 * when the output is the log itself.
 */
export async function exportLogToPcap(logPath: string, outPath: string): Promise<ExportSummary> {
	const logStats = statSync(logPath, {throwIfNoEntry: false});
	if (!logStats) {
		throw new NetdashError('ENOENT', `cannot read the log file ${logPath}: it does not exist`);
	}

	const outStats = statSync(outPath, {throwIfNoEntry: false});
	if (outStats && outStats.ino === logStats.ino && outStats.dev === logStats.dev) {
		throw new NetdashError('EXPORT_SAME_FILE', `cannot export ${logPath} onto itself: name another file after -o`);
	}

	const input = createReadStream(logPath);
	// Opening fails (ENOENT, EACCES, EISDIR) before anything is written.
	await new Promise<void>((resolve, reject) => {
		input.once('open', () => resolve());
		input.once('error', (error: NodeJS.ErrnoException) => reject(new NetdashError(error.code ?? 'EXPORT_FAILED', `cannot read the log file ${logPath}: ${String(error.message).split('\n', 1)[0]}`)));
	});
	const {fd} = openCaptureFile(outPath, {noun: 'capture file', flag: '-o', code: 'PCAP'}, {allowSpecial: false, mode: 'truncate'});
	const summary: ExportSummary = {lines: 0, packets: 0, skipped: 0, badLines: []};
	let blocks: Buffer[] = [];
	let size = 0;
	const writeBlocks = () => {
		if (size > 0) {
			appendWhole(fd, true, Buffer.concat(blocks, size), size);
		}

		blocks = [];
		size = 0;
	};

	try {
		const synth = new PcapSynth((block) => {
			blocks.push(block);
			size += block.length;
		});
		for await (const line of createInterface({input, crlfDelay: Number.POSITIVE_INFINITY})) {
			summary.lines++;
			if (line === '') {
				continue;
			}

			let record: CaptureRecord & {base64?: unknown};
			try {
				record = JSON.parse(line) as CaptureRecord & {base64?: unknown};
				if (typeof record !== 'object' || record === null || typeof record.type !== 'string') {
					throw new TypeError('not a record');
				}
			} catch {
				summary.badLines.push(summary.lines);
				continue;
			}

			if (!pcapRecordTypes.has(record.type)) {
				continue;
			}

			if (typeof record.base64 === 'string') {
				record.data = Buffer.from(record.base64, 'base64');
			}

			synth.add(record);
			if (size >= writeBatchBytes) {
				writeBlocks();
			}
		}

		writeBlocks();
		summary.packets = synth.packets;
		summary.skipped = synth.skipped;
		return summary;
	} finally {
		input.destroy();
		closeSync(fd);
	}
}
