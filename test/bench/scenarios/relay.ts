import {readFileSync} from 'node:fs';
import {startRole} from '../lib/child.js';
import {driver, stopDriver} from '../lib/drivers.js';
import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio, rate} from '../lib/stats.js';
import {freePort, startExternal} from '../lib/tools.js';
import {formatVolume, MiB, type BenchContext, type Scenario} from './context.js';
import {externalTools} from './tcp-runs.js';

/** Who relays: netdash headless, netdash with its dashboard drawing, or `socat … fork`. */
type RelayKind = 'netdash' | 'dashboard' | 'socat';

type RelayRun = {mibps: number; cpuMsPerGiB: number; peakRssMiB: number | undefined};

/** Clock ticks per second of /proc/PID/stat (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU ms of a process and of its children it has reaped (socat's forked handlers), from /proc. */
function cpuMsOf(pid: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	// Fields after the command name (which may hold spaces) start at field 3.
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	const ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(fields[index]), 0);
	return (ticks / USER_HZ) * 1000;
}

/** True while `pid` has children (socat's handler for the connection has not been reaped). */
function hasChildren(pid: number): boolean {
	try {
		return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() !== '';
	} catch {
		return false;
	}
}

/**
 * One transfer: the bench's raw sender → the relay → a raw Node sink, all
 * on loopback, each in its own process. Timed by the sender from connect to
 * close: the sink has read it all and its FIN came back through the relay.
 */
async function runRelay(kind: RelayKind, bytes: number): Promise<RelayRun> {
	const sink = startRole('tcp-sink', {kind: 'raw'});
	try {
		const {port: sinkPort} = await sink.next<{type: string; port: number}>('ready');
		const send = async (port: number) => {
			const sender = driver('tcp-sender');
			sender.send({type: 'send', port, bytes, seconds: 0});
			return sender.next<{type: string; ms: number; bytes: number}>('sent', 600_000);
		};

		if (kind === 'socat') {
			const port = await freePort();
			const socat = startExternal('socat', [`TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `TCP4:127.0.0.1:${sinkPort}`]);
			try {
				const pid = socat.process.pid!;
				const before = cpuMsOf(pid);
				const sent = await send(port);
				await sink.next('done', 60_000);
				// The forked handler's CPU counts once the parent has reaped it.
				for (let waited = 0; hasChildren(pid) && waited < 3000; waited += 10) {
					await new Promise((resolve) => setTimeout(resolve, 10));
				}

				return {mibps: rate(sent.bytes, sent.ms) / MiB, cpuMsPerGiB: ((cpuMsOf(pid) - before) / sent.bytes) * 1024 * MiB, peakRssMiB: undefined};
			} finally {
				socat.kill();
				await socat.exited;
			}
		}

		const relay = startRole('relay', {kind, mode: 'carry', target: sinkPort}, {env: {NODE_ENV: 'production', FORCE_COLOR: '3'}});
		try {
			const {port} = await relay.next<{type: string; port: number}>('ready');
			const sent = await send(port);
			const [measured] = await Promise.all([relay.next<{type: string; bytes: number; cpuMs: number; peakRssKiB: number}>('done', 60_000), sink.next('done', 60_000)]);
			if (measured.bytes !== sent.bytes) {
				throw new Error(`${kind} relayed ${measured.bytes} bytes of ${sent.bytes} sent`);
			}

			return {mibps: rate(sent.bytes, sent.ms) / MiB, cpuMsPerGiB: (measured.cpuMs / sent.bytes) * 1024 * MiB, peakRssMiB: measured.peakRssKiB / 1024};
		} finally {
			await relay.kill();
		}
	} finally {
		await sink.kill();
	}
}

/** RSS per idle relayed pair: `pairs` clients held open through the relay to a bare Node server. */
async function runIdle(kind: 'netdash' | 'bare', pairs: number): Promise<{kibPerPair: number; rows?: number}> {
	const nofile = pairs * 3 + 1000;
	const target = startRole('scale-server', {kind: 'raw', connections: pairs}, {nofile});
	try {
		const {port: targetPort} = await target.next<{type: string; port: number}>('ready');
		const measured = startRole('relay', {kind, mode: 'idle', target: targetPort, pairs}, {nofile, nodeFlags: ['--expose-gc'], env: {NODE_ENV: 'production'}});
		try {
			const {port} = await measured.next<{type: string; port: number}>('ready');
			const client = driver('scale-client', {nofile});
			client.send({type: 'connect', port, connections: pairs});
			const connected = await client.next<{type: string; failed: number}>('connected', 120_000);
			try {
				if (connected.failed > 0) {
					throw new Error(`${connected.failed} of ${pairs} clients could not reach the ${kind} relay`);
				}

				const idle = await measured.next<{type: string; rssBeforeKiB: number; rssAfterKiB: number; rows?: number}>('idle', 120_000);
				return {kibPerPair: (idle.rssAfterKiB - idle.rssBeforeKiB) / pairs, ...(idle.rows === undefined ? {} : {rows: idle.rows})};
			} finally {
				client.send({type: 'reset'});
				await client.next('reset-done');
			}
		} finally {
			await measured.kill();
		}
	} finally {
		await target.kill();
	}
}

/** Run each kind in turn, `runs` times, so a busy spell on the shared machine hits every kind alike. */
async function alternate<K extends string, R>(context: BenchContext, label: string, kinds: readonly K[], run: (kind: K) => Promise<R>, describe: (result: R) => string): Promise<Map<K, R[]>> {
	const results = new Map<K, R[]>(kinds.map((kind) => [kind, []]));
	for (let index = 0; index < context.runs; index++) {
		for (const kind of kinds) {
			const result = await run(kind);
			results.get(kind)!.push(result);
			context.progress(`${label} ${index + 1}/${context.runs} ${kind}: ${describe(result)}`);
		}
	}

	return results;
}

/**
 * Relay (issue 13): 1 GiB from the raw sender through a netdash forward to
 * a raw Node sink, against `socat TCP-LISTEN:…,fork TCP:…` on the same path,
 * run by run in one session (and with the dashboard drawing, a third
 * column); CPU per GiB for each; and the RSS an idle relayed pair costs
 * netdash against a bare Node relay holding the same two sockets.
 */
export const relay: Scenario = {
	name: 'relay',
	async run(context) {
		const bytes = context.isQuick ? 128 * MiB : 1024 * MiB;
		const pairs = context.isQuick ? 500 : 2000;
		const label = `Relay ${formatVolume(bytes)}`;
		const rows: Row[] = [];
		if (externalTools.socat) {
			// Warm the page cache and the CPU's clocks; not counted.
			await runRelay('netdash', 64 * MiB);
			await runRelay('socat', 64 * MiB);
			const results = await alternate(context, 'relay', ['netdash', 'socat', 'dashboard'] as const, async (kind) => runRelay(kind, bytes), (run) => `${run.mibps.toFixed(0)} MiB/s, ${run.cpuMsPerGiB.toFixed(0)} ms CPU/GiB`);
			const throughput = (kind: RelayKind) => results.get(kind)!.map((run) => run.mibps);
			const cpu = (kind: RelayKind) => median(results.get(kind)!.map((run) => run.cpuMsPerGiB));
			const rss = (kind: RelayKind) => median(results.get(kind)!.map((run) => run.peakRssMiB ?? Number.NaN));
			rows.push(
				judge({
					scenario: `${label}, headless`,
					unit: 'MiB/s',
					netdash: median(throughput('netdash')),
					baseline: median(throughput('socat')),
					baselineName: 'socat fork',
					ratio: pairedRatio(throughput('netdash'), throughput('socat')),
					target: {on: 'ratio', op: '>=', value: 0.9},
					notes: `CPU ${formatNumber(cpu('netdash'))} vs ${formatNumber(cpu('socat'))} ms/GiB (socat: its forked handler); peak RSS ${formatNumber(rss('netdash'))} MiB`,
					samples: {netdash: throughput('netdash'), baseline: throughput('socat')},
					details: {cpuMsPerGiB: {netdash: cpu('netdash'), socat: cpu('socat')}, peakRssMiB: rss('netdash')},
				}),
				judge({
					scenario: `${label}, dashboard 120×40`,
					unit: 'MiB/s',
					netdash: median(throughput('dashboard')),
					baseline: median(throughput('socat')),
					baselineName: 'socat fork',
					ratio: pairedRatio(throughput('dashboard'), throughput('socat')),
					target: {on: 'ratio', op: '>=', value: 0.7},
					notes: `CPU ${formatNumber(cpu('dashboard'))} vs ${formatNumber(cpu('socat'))} ms/GiB; peak RSS ${formatNumber(rss('dashboard'))} MiB`,
					samples: {netdash: throughput('dashboard'), baseline: throughput('socat')},
					details: {cpuMsPerGiB: {dashboard: cpu('dashboard'), socat: cpu('socat')}, peakRssMiB: rss('dashboard')},
				}),
			);
		} else {
			for (const what of ['headless', 'dashboard 120×40']) {
				rows.push({scenario: `${label}, ${what}`, unit: 'MiB/s', baselineName: 'socat fork', status: 'skipped', notes: 'socat not installed (apt-get install socat)'});
			}
		}

		try {
			const idle = await alternate(context, 'relay idle', ['netdash', 'bare'] as const, async (kind) => runIdle(kind, pairs), (run) => `${run.kibPerPair.toFixed(2)} KiB/pair`);
			const memory = (kind: 'netdash' | 'bare') => idle.get(kind)!.map((run) => run.kibPerPair);
			rows.push(
				judge({
					scenario: `Relay ${pairs.toLocaleString('en-US')} idle pairs, RSS`,
					unit: 'KiB/pair',
					netdash: median(memory('netdash')),
					baseline: median(memory('bare')),
					baselineName: 'bare Node pipe relay',
					ratio: pairedRatio(memory('netdash'), memory('bare')),
					target: {on: 'ratio', op: '<=', value: 2},
					notes: `after GC; two sockets per pair either way; store rows ${formatNumber(median(idle.get('netdash')!.map((run) => run.rows ?? Number.NaN)))}`,
					samples: {netdash: memory('netdash'), baseline: memory('bare')},
				}),
			);
		} finally {
			await stopDriver('scale-client');
		}

		return rows;
	},
};
