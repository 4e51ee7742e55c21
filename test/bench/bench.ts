import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {performance} from 'node:perf_hooks';
import {stopDrivers} from './lib/drivers.js';
import {formatTable, type Row} from './lib/report.js';
import {capture} from './scenarios/capture.js';
import {carry} from './scenarios/carry.js';
import type {BenchContext, Scenario} from './scenarios/context.js';
import {dashboard} from './scenarios/dashboard.js';
import {datagrams} from './scenarios/datagrams.js';
import {lan} from './scenarios/lan.js';
import {respond} from './scenarios/respond.js';
import {relay} from './scenarios/relay.js';
import {scale} from './scenarios/scale.js';
import {start} from './scenarios/start.js';
import {steadiness} from './scenarios/steadiness.js';
import {system} from './scenarios/system.js';
import {profile} from './profile.js';

const usage = `npm run bench -- [--quick] [--runs=N] [--only=NAME,…] [--stub-dashboard] [--profile]

  --quick            a smoke run under a minute: 128 MiB (64 MiB captured, 16 MiB vs ncat), ½ s of datagrams, 2,000 connections,
                     no socat/iperf3 references (quote a full run, not this)
  --runs=N           alternating netdash/baseline pairs per comparison (default 5)
  --only=NAMES       some of: start, carry, capture, datagrams, respond, scale, dashboard, steadiness, system, relay, lan
  --stub-dashboard   run the dashboard scenarios on the bench's stub App (tests the harness)
  --profile          instead of the table: CPU-profile netdash in carry, capture, dashboard,
                     datagrams and scale, and name the top self-time functions
`;

const scenarios: readonly Scenario[] = [start, carry, capture, datagrams, respond, scale, dashboard, steadiness, system, relay, lan];
const repo = path.resolve(import.meta.dirname, '..', '..');

function flag(name: string): string | undefined {
	for (const arg of process.argv.slice(2)) {
		if (arg === `--${name}`) {
			return 'true';
		}

		if (arg.startsWith(`--${name}=`)) {
			return arg.slice(name.length + 3);
		}
	}

	return undefined;
}

const known = new Set(['quick', 'runs', 'only', 'stub-dashboard', 'profile', 'help']);
const unknown = process.argv.slice(2).find((arg) => !known.has(arg.replace(/^--/, '').replace(/=.*$/s, '')));
if (unknown !== undefined || flag('help')) {
	process.stderr.write((unknown === undefined ? '' : `unknown argument ${unknown}\n\n`) + usage);
	process.exit(unknown === undefined ? 0 : 2);
}

const isQuick = flag('quick') === 'true';
const runs = Number(flag('runs') ?? 5);
if (!Number.isInteger(runs) || runs < 1) {
	process.stderr.write(`--runs needs a whole number, not ${flag('runs')}\n`);
	process.exit(2);
}

const only = flag('only')?.split(',');
const chosen = only ? scenarios.filter((scenario) => only.includes(scenario.name)) : scenarios;
if (only && chosen.length !== only.length) {
	process.stderr.write(`--only takes ${scenarios.map((scenario) => scenario.name).join(', ')}\n`);
	process.exit(2);
}

const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'netdash-bench-'));
const started = performance.now();
// Other work on a shared machine shows here; the paired ratios are meant to cancel it.
const loadAtStart = os.loadavg()[0]!;
const context: BenchContext = {
	isQuick,
	runs,
	isStub: flag('stub-dashboard') === 'true',
	tmpDir,
	progress(text) {
		process.stderr.write(`  [${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}\n`);
	},
};

try {
	if (flag('profile') === 'true') {
		await profile(context, only);
	} else {
		await runScenarios();
	}
} finally {
	await stopDrivers();
	rmSync(tmpDir, {recursive: true, force: true});
}

async function runScenarios(): Promise<void> {
	const rows: Row[] = [];
	for (const scenario of chosen) {
		process.stderr.write(`${scenario.name}\n`);
		try {
			rows.push(...(await scenario.run(context)));
		} catch (error) {
			process.stderr.write(`${scenario.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
			rows.push({scenario: scenario.name, unit: '', status: 'error', notes: String(error instanceof Error ? error.message : error).split('\n')[0]});
		}
	}

	const seconds = (performance.now() - started) / 1000;
	const cpus = os.cpus();
	const machine = {
		cpu: cpus[0]?.model ?? 'unknown',
		cores: cpus.length,
		memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
		kernel: `${os.type()} ${os.release()}`,
		node: process.version,
		loadAverage: {start: loadAtStart, end: os.loadavg()[0]!},
	};
	const table = formatTable(rows);
	const load = `load ${machine.loadAverage.start.toFixed(1)} → ${machine.loadAverage.end.toFixed(1)}`;
	process.stdout.write(
		`\nnetdash bench (${isQuick ? 'quick smoke run' : 'full'}, ${runs} alternating runs, ${seconds.toFixed(0)} s) on ${machine.cores}× ${machine.cpu}, ${machine.memoryGiB} GiB, ${machine.kernel}, Node ${machine.node}, ${load}\n\n${table}\n\n`,
	);
	const resultsPath = path.join(repo, 'bench-results.json');
	writeFileSync(resultsPath, JSON.stringify({mode: isQuick ? 'quick' : 'full', runs, seconds, date: new Date().toISOString(), machine, table, rows}, null, '\t') + '\n');
	process.stdout.write(`written to ${path.relative(process.cwd(), resultsPath)}\n`);
	process.exitCode = rows.some((row) => row.status === 'error') ? 1 : 0;
}
