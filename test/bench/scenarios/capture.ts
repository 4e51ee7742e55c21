import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {alternate, cpuPerGiB, peakMiB} from './carry.js';
import {formatVolume, MiB, type Scenario} from './context.js';
import {externalTools, type TcpRun} from './tcp-runs.js';

const throughput = (runs: readonly TcpRun[]) => runs.map((run) => run.mibps);
const fileRatio = (runs: readonly TcpRun[]) => median(runs.map((run) => (run.fileBytes ?? Number.NaN) / run.bytes));

/**
 * Capture: the same transfer with `--log FILE` (every byte kept as base64
 * JSON lines, flushed before the sink closes) against the raw sink, against
 * plain Node writing the same base64 to a file (how much of the cost is the
 * file system's), and against `ncat -l -x FILE` (a hex dump). Then `--pcap
 * FILE` (binary pcapng) against the raw sink and plain Node writing the
 * same chunks to a file. ncat manages ≈ 23 MiB/s, so its
 * comparison uses a smaller volume than the raw one.
 */
export const capture: Scenario = {
	name: 'capture',
	order: 30,
	async run(context) {
		const bytes = context.isQuick ? 64 * MiB : 1024 * MiB;
		// Below ~16 MiB netdash's start-up (JIT warm-up) dominates its side.
		const ncatBytes = context.isQuick ? 16 * MiB : 64 * MiB;
		const versusRaw = await alternate(context, 'capture', ['netdash-log', 'raw', 'raw-file'], {bytes});
		const logged = versusRaw.get('netdash-log')!;
		const raw = versusRaw.get('raw')!;
		const rawFile = versusRaw.get('raw-file')!;
		const rows: Row[] = [
			judge({
				scenario: `Capture ${formatVolume(bytes)}, --log`,
				unit: 'MiB/s',
				netdash: median(throughput(logged)),
				baseline: median(throughput(raw)),
				baselineName: 'raw net',
				ratio: pairedRatio(throughput(logged), throughput(raw)),
				target: {on: 'ratio', op: '>=', value: 0.5},
				notes: `file ${formatNumber(fileRatio(logged))} B per B carried; CPU ${formatNumber(cpuPerGiB(logged))} vs ${formatNumber(cpuPerGiB(raw))} ms/GiB; peak RSS ${formatNumber(peakMiB(logged))} MiB`,
				samples: {netdash: throughput(logged), baseline: throughput(raw)},
				details: {fileBytesPerByte: fileRatio(logged), cpuMsPerGiB: {netdash: cpuPerGiB(logged), raw: cpuPerGiB(raw)}, peakRssMiB: {netdash: peakMiB(logged), raw: peakMiB(raw)}},
			}),
			// The ceiling this machine's file system sets: plain Node writing the same base64 to a file.
			judge({
				scenario: `Capture ${formatVolume(bytes)}, --log`,
				unit: 'MiB/s',
				netdash: median(throughput(logged)),
				baseline: median(throughput(rawFile)),
				baselineName: 'raw net + base64 to file',
				ratio: pairedRatio(throughput(logged), throughput(rawFile)),
				notes: `the file system's share: raw net + base64 to file is ${formatNumber(median(throughput(rawFile)) / median(throughput(raw)))}× raw net; CPU ${formatNumber(cpuPerGiB(rawFile))} ms/GiB`,
				samples: {netdash: throughput(logged), baseline: throughput(rawFile)},
				details: {cpuMsPerGiB: {netdash: cpuPerGiB(logged), rawFile: cpuPerGiB(rawFile)}, peakRssMiB: {rawFile: peakMiB(rawFile)}},
			}),
		];

		// --pcap: the same bytes in binary, side by side with the raw sink and plain Node writing the chunks to a file.
		const versusPcap = await alternate(context, 'capture pcap', ['netdash-pcap', 'raw', 'raw-bytes-file'], {bytes});
		const captured = versusPcap.get('netdash-pcap')!;
		const rawAgain = versusPcap.get('raw')!;
		const rawBytesFile = versusPcap.get('raw-bytes-file')!;
		rows.push(
			judge({
				scenario: `Capture ${formatVolume(bytes)}, --pcap`,
				unit: 'MiB/s',
				netdash: median(throughput(captured)),
				baseline: median(throughput(rawAgain)),
				baselineName: 'raw net',
				ratio: pairedRatio(throughput(captured), throughput(rawAgain)),
				target: {on: 'ratio', op: '>=', value: 0.5},
				notes: `file ${formatNumber(fileRatio(captured))} B per B carried; CPU ${formatNumber(cpuPerGiB(captured))} vs ${formatNumber(cpuPerGiB(rawAgain))} ms/GiB; peak RSS ${formatNumber(peakMiB(captured))} MiB`,
				samples: {netdash: throughput(captured), baseline: throughput(rawAgain)},
				details: {fileBytesPerByte: fileRatio(captured), cpuMsPerGiB: {netdash: cpuPerGiB(captured), raw: cpuPerGiB(rawAgain)}, peakRssMiB: {netdash: peakMiB(captured), raw: peakMiB(rawAgain)}},
			}),
			judge({
				scenario: `Capture ${formatVolume(bytes)}, --pcap`,
				unit: 'MiB/s',
				netdash: median(throughput(captured)),
				baseline: median(throughput(rawBytesFile)),
				baselineName: 'raw net + bytes to file',
				ratio: pairedRatio(throughput(captured), throughput(rawBytesFile)),
				target: {on: 'ratio', op: '>=', value: 0.9},
				notes: `file ${formatNumber(fileRatio(captured))} vs ${formatNumber(fileRatio(rawBytesFile))} B per B carried; raw net + bytes to file is ${formatNumber(median(throughput(rawBytesFile)) / median(throughput(rawAgain)))}× raw net; CPU ${formatNumber(cpuPerGiB(rawBytesFile))} ms/GiB`,
				samples: {netdash: throughput(captured), baseline: throughput(rawBytesFile)},
				details: {fileBytesPerByte: {netdash: fileRatio(captured), rawBytesFile: fileRatio(rawBytesFile)}, cpuMsPerGiB: {netdash: cpuPerGiB(captured), rawBytesFile: cpuPerGiB(rawBytesFile)}},
			}),
		);

		if (externalTools.ncat) {
			const versusNcat = await alternate(context, 'capture vs ncat', ['netdash-log', 'ncat-x'], {bytes: ncatBytes});
			const small = versusNcat.get('netdash-log')!;
			const ncat = versusNcat.get('ncat-x')!;
			rows.push(
				judge({
					scenario: `Capture ${formatVolume(ncatBytes)}, --log`,
					unit: 'MiB/s',
					netdash: median(throughput(small)),
					baseline: median(throughput(ncat)),
					baselineName: 'ncat -x',
					ratio: pairedRatio(throughput(small), throughput(ncat)),
					target: {on: 'ratio', op: '>=', value: 10},
					notes: `file ${formatNumber(fileRatio(small))} vs ${formatNumber(fileRatio(ncat))} B per B carried`,
					samples: {netdash: throughput(small), baseline: throughput(ncat)},
				}),
			);
		} else {
			rows.push({scenario: `Capture ${formatVolume(ncatBytes)}, --log`, unit: 'MiB/s', baselineName: 'ncat -x', status: 'skipped', notes: 'ncat not installed (apt-get install ncat)'});
		}

		return rows;
	},
};
