import {startRole} from '../lib/child.js';
import {driver} from '../lib/drivers.js';
import {isDashboardBuilt} from '../lib/dashboard.js';
import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio, percentile} from '../lib/stats.js';
import {cpuPerGiB, peakMiB} from './carry.js';
import {formatVolume, MiB, type BenchContext, type Scenario} from './context.js';
import {runTcp, type TcpRun} from './tcp-runs.js';

const WAITING = 'waiting for the dashboard';

type FlowStats = {
	frames: number;
	framesDuringFlow: number;
	flowSeconds: number;
	eventToFrame: {count: number; unseen: number; p50: number; p90: number; p99: number; max: number};
	keyLatencies: number[];
	keysUnanswered: number;
	/** Frames that answered a key press (the rest were drawn for data). */
	keyFrames: number;
	/** Event-loop delay while data flowed: how long rendering kept the socket unread. */
	loopDelayMs: {p50: number; p99: number; max: number};
};

const flowOf = (run: TcpRun) => run.sink as unknown as FlowStats;

/** A headless carry while another process draws the dashboard as a carry would: rendering off the reading thread. */
async function carryBesideRendering(context: BenchContext, bytes: number): Promise<{run: TcpRun; renderCpuPerSecond: number; framesPerSecond: number}> {
	const renderer = startRole('dashboard', {mode: 'render-load', stub: context.isStub}, {env: {NODE_ENV: 'production', FORCE_COLOR: '3'}});
	try {
		await renderer.next('ready');
		const run = await runTcp('netdash', {bytes, tmpDir: context.tmpDir, stub: context.isStub});
		renderer.send({type: 'stop'});
		const done = await renderer.next<{type: string; cpuMs: number; seconds: number; frames: number}>('done');
		return {run, renderCpuPerSecond: done.cpuMs / 1000 / done.seconds, framesPerSecond: done.frames / done.seconds};
	} finally {
		await renderer.kill();
	}
}

/**
 * Carry with the dashboard drawing every frame, against the raw sink; in a
 * full run also the bound of moving rendering off the thread that reads the
 * socket (a worker for the core, issue 18): a headless carry while a second
 * process draws the dashboard at a carry's frame rate, so both compete for
 * the machine's cores as two threads would. Snapshots crossing between the
 * threads are not counted, so it is the best such a split could do.
 */
async function carryWithDashboard(context: BenchContext, bytes: number): Promise<Row[]> {
	const netdash: TcpRun[] = [];
	const raw: TcpRun[] = [];
	const split: Array<Awaited<ReturnType<typeof carryBesideRendering>>> = [];
	for (let index = 0; index < context.runs; index++) {
		for (const [kind, runs] of [['dashboard', netdash], ['raw', raw]] as const) {
			const run = await runTcp(kind, {bytes, tmpDir: context.tmpDir, stub: context.isStub});
			runs.push(run);
			context.progress(`dashboard carry ${index + 1}/${context.runs} ${kind}: ${run.mibps.toFixed(0)} MiB/s`);
		}

		if (!context.isQuick) {
			const beside = await carryBesideRendering(context, bytes);
			split.push(beside);
			context.progress(`dashboard carry ${index + 1}/${context.runs} headless beside rendering: ${beside.run.mibps.toFixed(0)} MiB/s, renderer ${(beside.renderCpuPerSecond * 100).toFixed(0)} % of a core at ${beside.framesPerSecond.toFixed(0)} frames/s`);
		}
	}

	const throughput = (runs: readonly TcpRun[]) => runs.map((run) => run.mibps);
	const rows = [
		judge({
			scenario: `Carry ${formatVolume(bytes)}, dashboard 120×40`,
			unit: 'MiB/s',
			netdash: median(throughput(netdash)),
			baseline: median(throughput(raw)),
			baselineName: 'raw net',
			ratio: pairedRatio(throughput(netdash), throughput(raw)),
			target: {on: 'ratio', op: '>=', value: 0.9},
			notes: `CPU ${formatNumber(cpuPerGiB(netdash))} vs ${formatNumber(cpuPerGiB(raw))} ms/GiB; peak RSS ${formatNumber(peakMiB(netdash))} MiB; ${formatNumber(median(netdash.map((run) => flowOf(run).frames)))} frames; loop delay p99 ${formatNumber(median(netdash.map((run) => flowOf(run).loopDelayMs.p99)))} ms`,
			samples: {netdash: throughput(netdash), baseline: throughput(raw)},
		}),
	];
	if (split.length > 0) {
		const besideRuns = split.map((entry) => entry.run);
		rows.push(
			judge({
				scenario: `Carry ${formatVolume(bytes)}, rendering off the reading thread (bound)`,
				unit: 'MiB/s',
				netdash: median(throughput(besideRuns)),
				baseline: median(throughput(raw)),
				baselineName: 'raw net',
				ratio: pairedRatio(throughput(besideRuns), throughput(raw)),
				notes: `headless carry while another process draws the dashboard (${formatNumber(median(split.map((entry) => entry.framesPerSecond)))} frames/s, ${formatNumber(median(split.map((entry) => entry.renderCpuPerSecond * 100)))} % of a core); snapshots crossing threads not counted; vs drawing on the reading thread ${formatNumber(pairedRatio(throughput(besideRuns), throughput(netdash)))}×`,
				samples: {netdash: throughput(besideRuns), baseline: throughput(raw)},
			}),
		);
	}

	return rows;
}

/** Live under flood: a stream for `seconds` while `?` is pressed every ~60 ms. */
async function liveUnderFlood(context: BenchContext, seconds: number, runs: number): Promise<Row[]> {
	const flows: FlowStats[] = [];
	for (let index = 0; index < runs; index++) {
		const run = await runTcp('dashboard', {bytes: 0, seconds, tmpDir: context.tmpDir, stub: context.isStub, keyIntervalMs: 60});
		const flow = flowOf(run);
		flows.push(flow);
		context.progress(
			`flood ${index + 1}/${runs}: ${run.mibps.toFixed(0)} MiB/s, event→frame p99 ${flow.eventToFrame.p99.toFixed(0)} ms, ${(flow.framesDuringFlow / flow.flowSeconds).toFixed(0)} frames/s, ${flow.keyLatencies.length} keys`,
		);
	}

	const keys = flows.flatMap((flow) => flow.keyLatencies);
	const unanswered = flows.reduce((sum, flow) => sum + flow.keysUnanswered, 0);
	// The target bounds frames drawn for data: a frame that answers a key press is what the key asked for.
	const fps = flows.map((flow) => Math.max(0, flow.framesDuringFlow - flow.keyFrames) / flow.flowSeconds);
	const keyFps = flows.map((flow) => flow.keyFrames / flow.flowSeconds);
	const label = `Live under ${seconds} s flood`;
	return [
		judge({
			scenario: `${label}: event → frame`,
			unit: 'ms p99',
			netdash: median(flows.map((flow) => flow.eventToFrame.p99)),
			target: {on: 'netdash', op: '<=', value: 100},
			notes: `p50 ${formatNumber(median(flows.map((flow) => flow.eventToFrame.p50)))} ms; ${flows.reduce((sum, flow) => sum + flow.eventToFrame.count, 0)} events; loop delay p99 ${formatNumber(median(flows.map((flow) => flow.loopDelayMs.p99)))} ms, max ${formatNumber(Math.max(...flows.map((flow) => flow.loopDelayMs.max)))} ms`,
			details: {eventToFrame: flows.map((flow) => flow.eventToFrame)},
		}),
		judge({
			scenario: `${label}: frames`,
			unit: 'frames/s',
			netdash: median(fps),
			target: {on: 'netdash', op: '<=', value: 30},
			notes: `frames drawn for data while it flowed; ${formatNumber(median(keyFps))}/s more answered key presses`,
			samples: {netdash: fps},
		}),
		judge({
			scenario: `${label}: key → frame`,
			unit: 'ms p99',
			netdash: percentile(keys, 99),
			target: {on: 'netdash', op: '<=', value: 50},
			notes: `${keys.length} presses of ? (help on/off), p50 ${formatNumber(percentile(keys, 50))} ms${unanswered > 0 ? `, ${unanswered} never shown` : ''}`,
			...(unanswered > 0 ? {status: 'fail' as const} : {}),
			samples: {netdash: keys},
		}),
	];
}

/** What the dashboard role measured with rows in (roles/dashboard.ts, `--mode=rows`). */
export type RowsMeasured = {
	latencies: number[];
	unanswered: number;
	idleFramesPerSecond: number;
	rowsVisibleAfterMs: number;
	peakRssKiB: number;
	/** `/` filtering, when asked for (see filterRows in roles/dashboard.ts). */
	filter?: {text: string; matches: number; lastKey: number[]; everyKey: number[]; unanswered: number};
};

/**
 * Where and how the rows come in: the namespace, the client's spread and pace (scale.ts), `/` trials,
 * and `wave`: at most this many connections open at once. The client then connects a wave, waits until
 * netdash has accepted all of it, resets it and connects the next (the closed connections keep their
 * rows), and the last wave stays open: more rows than one process may hold open files.
 */
export type RowsOptions = {netns?: string; sources?: number; inFlight?: number; filterTrials?: number; timeoutMs?: number; wave?: number};

/** With `connections` rows in the Connections pane: j/k → next frame (and `/` filtering, with filterTrials). */
export async function measureRows(context: BenchContext, connections: number, presses: number, options: RowsOptions = {}): Promise<RowsMeasured> {
	const wave = options.wave !== undefined && options.wave < connections ? options.wave : connections;
	const nofile = wave + 1000;
	const where = options.netns ? {netns: options.netns} : {};
	const dashboard = startRole(
		'dashboard',
		{mode: 'rows', connections, presses, stub: context.isStub, 'max-connections': Math.max(65_000, connections * 2), 'filter-trials': options.filterTrials, ...(wave < connections ? {wave} : {})},
		{nofile, env: {NODE_ENV: 'production', FORCE_COLOR: '3'}, ...where},
	);
	try {
		const ready = await dashboard.next<{type: string; port: number}>('ready');
		const client = driver('scale-client', {nofile, ...where});
		const spread = {...(options.sources ? {sources: options.sources} : {}), ...(options.inFlight ? {inFlight: options.inFlight} : {})};
		let isConnected = false;
		try {
			for (let opened = 0; opened < connections; ) {
				const count = Math.min(wave, connections - opened);
				client.send({type: 'connect', port: ready.port, connections: count, ...spread});
				const connected = await client.next<{type: string; failed: number; firstError?: string}>('connected', options.timeoutMs);
				isConnected = true;
				if (connected.failed > 0) {
					throw new Error(`${connected.failed} of ${count} connects to the dashboard failed${connected.firstError ? ` (first: ${connected.firstError})` : ''}`);
				}

				opened += count;
				if (opened < connections) {
					// Reset only once netdash has accepted the whole wave: a client reset while still in the accept
					// queue has no address when accepted, and admission refuses it (no row).
					await dashboard.next('wave-accepted', options.timeoutMs);
					client.send({type: 'reset'});
					await client.next('reset-done', options.timeoutMs);
					isConnected = false;
					context.progress(`rows: ${opened.toLocaleString('en-US')} of ${connections.toLocaleString('en-US')} connected, in waves of ${wave.toLocaleString('en-US')}`);
				}
			}

			const measured = await dashboard.next<{type: string} & RowsMeasured>('measured', options.timeoutMs ?? 180_000);
			context.progress(`rows: key → frame p99 ${percentile(measured.latencies, 99).toFixed(0)} ms over ${measured.latencies.length} presses`);
			return measured;
		} finally {
			if (isConnected) {
				client.send({type: 'reset'});
				await client.next('reset-done', options.timeoutMs);
			}
		}
	} finally {
		await dashboard.kill();
	}
}

/** The key → frame row of {@link measureRows}. */
export function rowsKeyRow(connections: number, measured: RowsMeasured): Row {
	return judge({
		scenario: `${connections.toLocaleString('en-US')} rows: key → frame`,
		unit: 'ms p99',
		netdash: percentile(measured.latencies, 99),
		target: {on: 'netdash', op: '<=', value: 50},
		notes: `j/k ×${measured.latencies.length}, p50 ${formatNumber(percentile(measured.latencies, 50))} ms; idle ${measured.idleFramesPerSecond} frames/s; rows in after ${formatNumber(measured.rowsVisibleAfterMs)} ms${measured.unanswered > 0 ? `; ${measured.unanswered} keys drew nothing` : ''}`,
		...(measured.unanswered > 0 ? {status: 'fail' as const} : {}),
		samples: {netdash: measured.latencies},
	});
}

/** With `connections` rows in the Connections pane: j/k → next frame. */
async function keysWithRows(context: BenchContext, connections: number, presses: number): Promise<Row> {
	return rowsKeyRow(connections, await measureRows(context, connections, presses));
}

/**
 * The dashboard scenarios: carry while drawing, live under flood, keys with
 * 10,000 rows. They render `App` from dist/ui/app.js into a virtual 120×40
 * terminal (lib/dashboard.ts) and wait for it to be built.
 */
export const dashboard: Scenario = {
	name: 'dashboard',
	order: 60,
	async run(context) {
		const bytes = context.isQuick ? 128 * MiB : 1024 * MiB;
		const seconds = context.isQuick ? 2 : 5;
		const connections = context.isQuick ? 2000 : 10_000;
		const stub = context.isStub ? ' (stub)' : '';
		if (!isDashboardBuilt() && !context.isStub) {
			const notes = 'dist/ui/app.js is not built yet';
			return [
				{scenario: `Carry ${formatVolume(bytes)}, dashboard 120×40`, unit: 'MiB/s', baselineName: 'raw net', target: {on: 'ratio', op: '>=', value: 0.9}, status: WAITING, notes},
				{scenario: `Live under ${seconds} s flood: event → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 100}, status: WAITING, notes},
				{scenario: `Live under ${seconds} s flood: frames`, unit: 'frames/s', target: {on: 'netdash', op: '<=', value: 30}, status: WAITING, notes},
				{scenario: `Live under ${seconds} s flood: key → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 50}, status: WAITING, notes},
				{scenario: `${connections.toLocaleString('en-US')} rows: key → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 50}, status: WAITING, notes},
			];
		}

		const rows = [
			...(await carryWithDashboard(context, bytes)),
			...(await liveUnderFlood(context, seconds, context.isQuick ? 1 : 3)),
			await keysWithRows(context, connections, context.isQuick ? 30 : 100),
		];
		return rows.map((row) => ({...row, scenario: row.scenario + stub}));
	},
};
