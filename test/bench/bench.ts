import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {performance} from 'node:perf_hooks';
import {stopDrivers} from './lib/drivers.js';
import {readFileSync} from 'node:fs';
import {compareResults, formatComparison, type BenchResults} from './lib/compare.js';
import {formatTable, type Row} from './lib/report.js';
import {scaled, type BenchContext} from './scenarios/context.js';
import {loadScenarios} from './scenarios/registry.js';
import {profile} from './profile.js';

const scenarios = await loadScenarios();

const usage = `npm run bench -- [--quick] [--runs=N] [--only=NAME,…] [--compare OLD.json [--against NEW.json]] [--stub-dashboard] [--profile]

  --quick            a smoke run: 128 MiB (64 MiB captured, 16 MiB vs ncat), ½ s of datagrams, 2,000 connections,
                     3 alternating runs, no socat/iperf3 references (quote a full run, not this)
  --runs=N           alternating netdash/baseline pairs per comparison (default 5; 3 with --quick)
  --only=NAMES       some of: ${scenarios.map((scenario) => scenario.name).join(', ')}
  --compare OLD.json after the run, the change of every ratio against OLD.json (an earlier
                     bench-results.json); exits 1 when any got more than 10 % worse
  --against NEW.json with --compare: compare OLD.json with NEW.json, without running anything
  --stub-dashboard   run the dashboard scenarios on the bench's stub App (tests the harness)
  --profile          instead of the table: CPU-profile netdash in carry, capture, dashboard,
                     datagrams and scale, and name the top self-time functions

Every file in test/bench/scenarios/ that exports a Scenario is run (see scenarios/registry.ts).
`;

const repo = path.resolve(import.meta.dirname, '..', '..');

const known = new Set(['quick', 'runs', 'only', 'compare', 'against', 'stub-dashboard', 'profile', 'help']);
/** Flags that take a value, as `--name=value` or `--name value`. */
const takesValue = new Set(['runs', 'only', 'compare', 'against']);
const parsed = new Map<string, string>();
const unknown = (() => {
	const args = process.argv.slice(2);
	for (let index = 0; index < args.length; index++) {
		const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(args[index]!);
		if (!match || !known.has(match[1]!)) {
			return args[index];
		}

		const name = match[1]!;
		if (match[2] !== undefined) {
			parsed.set(name, match[2]);
		} else if (takesValue.has(name) && index + 1 < args.length) {
			parsed.set(name, args[++index]!);
		} else {
			parsed.set(name, 'true');
		}
	}

	return undefined;
})();

function flag(name: string): string | undefined {
	return parsed.get(name);
}

if (unknown !== undefined || flag('help')) {
	process.stderr.write((unknown === undefined ? '' : `unknown argument ${unknown}\n\n`) + usage);
	process.exit(unknown === undefined ? 0 : 2);
}

const isQuick = flag('quick') === 'true';
const runs = Number(flag('runs') ?? (isQuick ? 3 : 5));
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

const oldPath = flag('compare');
const againstPath = flag('against');
if (againstPath !== undefined && oldPath === undefined) {
	process.stderr.write('--against needs --compare OLD.json\n');
	process.exit(2);
}

const oldResults = oldPath === undefined ? undefined : readResults(oldPath);
if (oldResults && againstPath !== undefined) {
	process.exit(compare(oldResults, readResults(againstPath)));
}

/** A bench-results.json, or exit 2 with why not. */
function readResults(file: string): BenchResults {
	try {
		const results = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
		if (!Array.isArray(results.rows)) {
			throw new Error('no rows');
		}

		return results;
	} catch (error) {
		process.stderr.write(`${file} is not a bench-results.json: ${error instanceof Error ? error.message : String(error)}\n`);
		process.exit(2);
	}
}

/** Print the comparison; 1 when a ratio got more than 10 % worse. */
function compare(older: BenchResults, newer: BenchResults): number {
	const changes = compareResults(older, newer);
	process.stdout.write(`\ncompared with ${oldPath}:\n\n${formatComparison(older, newer, changes)}\n`);
	return changes.some((change) => change.isWorse) ? 1 : 0;
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
	scaled(full, quick) {
		return scaled(isQuick, full, quick);
	},
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
	// One verdict per target, beside the full rows, for a reader (or a CI step) that wants only those.
	const verdicts = rows.map(({scenario, baselineName, unit, netdash, baseline, ratio, target, status}) => ({scenario, baselineName, unit, netdash, baseline, ratio, target, verdict: status}));
	const results = {mode: isQuick ? 'quick' : 'full', runs, seconds, date: new Date().toISOString(), machine, verdicts, table, rows};
	writeFileSync(resultsPath, JSON.stringify(results, null, '\t') + '\n');
	process.stdout.write(`written to ${path.relative(process.cwd(), resultsPath)}\n`);
	const hasError = rows.some((row) => row.status === 'error');
	const isWorse = oldResults !== undefined && compare(oldResults, results) !== 0;
	process.exitCode = hasError || isWorse ? 1 : 0;
}
