import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {formatVolume, MiB, type BenchContext, type Scenario} from './context.js';
import {externalTools, runIperf3, runTcp, type TcpRun, type TcpSink} from './tcp-runs.js';

/** CPU ms per GiB carried, median over runs. */
export function cpuPerGiB(runs: readonly TcpRun[]): number {
	return median(runs.map((run) => ((run.cpuMs ?? Number.NaN) / run.bytes) * 1024 * MiB));
}

/** Peak RSS in MiB, median over runs. */
export function peakMiB(runs: readonly TcpRun[]): number {
	return median(runs.map((run) => (run.peakRssKiB ?? Number.NaN) / 1024));
}

/** Run `kinds` in turn, `count` times: netdash, baseline, netdash, baseline… */
export async function alternate(context: BenchContext, label: string, kinds: readonly TcpSink[], options: {bytes: number}): Promise<Map<TcpSink, TcpRun[]>> {
	const results = new Map<TcpSink, TcpRun[]>(kinds.map((kind) => [kind, []]));
	for (let index = 0; index < context.runs; index++) {
		for (const kind of kinds) {
			const run = await runTcp(kind, {bytes: options.bytes, tmpDir: context.tmpDir, stub: context.isStub});
			results.get(kind)!.push(run);
			context.progress(`${label} ${index + 1}/${context.runs} ${kind}: ${run.mibps.toFixed(0)} MiB/s`);
		}
	}

	return results;
}

/**
 * Carry: one TCP connection into a headless netdash listener (core, store
 * publishing, bounded logs) against a raw `net` sink, the same raw sender
 * for both. socat and iperf3 are shown for orientation when installed.
 */
export const carry: Scenario = {
	name: 'carry',
	order: 20,
	async run(context) {
		const bytes = context.isQuick ? 128 * MiB : 1024 * MiB;
		// Warm the page cache and the CPU's clocks; not counted.
		await runTcp('netdash', {bytes: 64 * MiB, tmpDir: context.tmpDir});
		await runTcp('raw', {bytes: 64 * MiB, tmpDir: context.tmpDir});
		// The references are for orientation only: left out of a quick run.
		const hasSocat = externalTools.socat && !context.isQuick;
		const kinds: TcpSink[] = hasSocat ? ['netdash', 'raw', 'socat'] : ['netdash', 'raw'];
		const results = await alternate(context, 'carry', kinds, {bytes});
		const netdash = results.get('netdash')!;
		const raw = results.get('raw')!;
		const throughput = (runs: readonly TcpRun[]) => runs.map((run) => run.mibps);
		const rows: Row[] = [
			judge({
				scenario: `Carry ${formatVolume(bytes)}, headless`,
				unit: 'MiB/s',
				netdash: median(throughput(netdash)),
				baseline: median(throughput(raw)),
				baselineName: 'raw net',
				ratio: pairedRatio(throughput(netdash), throughput(raw)),
				target: {on: 'ratio', op: '>=', value: 0.9},
				notes: `CPU ${formatNumber(cpuPerGiB(netdash))} vs ${formatNumber(cpuPerGiB(raw))} ms/GiB; peak RSS ${formatNumber(peakMiB(netdash))} vs ${formatNumber(peakMiB(raw))} MiB`,
				samples: {netdash: throughput(netdash), baseline: throughput(raw)},
				details: {cpuMsPerGiB: {netdash: cpuPerGiB(netdash), raw: cpuPerGiB(raw)}, peakRssMiB: {netdash: peakMiB(netdash), raw: peakMiB(raw)}, sink: netdash.map((run) => run.sink)},
			}),
		];

		if (context.isQuick) {
			return rows;
		}

		const socat = results.get('socat');
		rows.push(
			socat
				? judge({
						scenario: `Carry ${formatVolume(bytes)}, reference`,
						unit: 'MiB/s',
						netdash: median(throughput(netdash)),
						baseline: median(throughput(socat)),
						baselineName: 'socat',
						ratio: pairedRatio(throughput(netdash), throughput(socat)),
						samples: {netdash: throughput(netdash), baseline: throughput(socat)},
					})
				: {scenario: `Carry ${formatVolume(bytes)}, reference`, unit: 'MiB/s', baselineName: 'socat', status: 'skipped', notes: 'socat not installed (apt-get install socat)'},
		);

		if (externalTools.iperf3) {
			const iperf: number[] = [];
			let failure: string | undefined;
			for (let index = 0; index < Math.min(3, context.runs) && failure === undefined; index++) {
				try {
					iperf.push(await runIperf3(bytes));
				} catch (error) {
					// A reference that fails must not take the measured rows with it.
					failure = error instanceof Error ? error.message : String(error);
				}
			}

			rows.push(
				failure === undefined
					? judge({
							scenario: `Carry ${formatVolume(bytes)}, reference`,
							unit: 'MiB/s',
							netdash: median(throughput(netdash)),
							baseline: median(iperf),
							baselineName: 'iperf3, own client',
							ratio: median(throughput(netdash)) / median(iperf),
							notes: 'ceiling: iperf3 uses its own C sender',
							samples: {baseline: iperf},
						})
					: {scenario: `Carry ${formatVolume(bytes)}, reference`, unit: 'MiB/s', baselineName: 'iperf3', status: 'error', notes: failure},
			);
		} else {
			rows.push({scenario: `Carry ${formatVolume(bytes)}, reference`, unit: 'MiB/s', baselineName: 'iperf3', status: 'skipped', notes: 'iperf3 not installed (apt-get install iperf3)'});
		}

		return rows;
	},
};
