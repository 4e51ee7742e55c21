import {spawn, spawnSync} from 'node:child_process';
import {mkdtempSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {performance} from 'node:perf_hooks';
import {isDashboardBuilt} from '../lib/dashboard.js';
import {judge, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {hasTool} from '../lib/tools.js';
import {stripEscapes} from '../lib/virtual-terminal.js';
import type {BenchContext, Scenario} from './context.js';

const repo = path.resolve(import.meta.dirname, '..', '..', '..');
/** The CLI as installed (package.json `bin`: the bundle). */
const cliPath = path.join(repo, 'dist', 'bin', 'cli.js');

/** What rolldown.config.mjs exports for building other entries the way it builds netdash. */
type BundleConfig = {bundlePlugins: unknown[]; bundleOptions: Record<string, unknown>; bundleOutput: Record<string, unknown>};

/**
 * fixtures/ink-floor.js (a bare Ink app drawing one line) bundled exactly as
 * netdash is, into `directory`: the floor of the decided stack's first frame.
 * Returns the entry to run.
 */
async function buildInkFloor(directory: string): Promise<string> {
	const {build} = await import('rolldown');
	const config = (await import(path.join(repo, 'rolldown.config.mjs'))) as BundleConfig;
	await build({
		...config.bundleOptions,
		input: path.join(repo, 'test', 'bench', 'fixtures', 'ink-floor.js'),
		plugins: config.bundlePlugins,
		output: {...config.bundleOutput, dir: directory},
		write: true,
	} as unknown as Parameters<typeof build>[0]);
	return path.join(directory, 'ink-floor.js');
}

function timeCommand(args: string[]): number {
	const started = performance.now();
	const result = spawnSync(process.execPath, args, {stdio: 'ignore'});
	if (result.status !== 0) {
		throw new Error(`node ${args.join(' ')} exited with ${result.status}`);
	}

	return performance.now() - started;
}

/**
 * Milliseconds from spawning `command` in a 120×40 pseudo-terminal (util-linux
 * `script`) to its first output with `minVisible` visible characters: the
 * first frame, for a dashboard (which must contain `mustSee` when given).
 * The process group is killed afterwards.
 */
async function timeFirstOutput(command: string, minVisible = 20, timeoutMs = 10_000, mustSee?: string): Promise<number> {
	const started = performance.now();
	const child = spawn('script', ['-qfec', `stty cols 120 rows 40; exec ${command}`, '/dev/null'], {
		stdio: ['pipe', 'pipe', 'ignore'],
		detached: true,
		env: {...process.env, TERM: 'xterm-256color'},
	});
	try {
		return await new Promise<number>((resolve, reject) => {
			let seen = '';
			const timer = setTimeout(() => {
				reject(new Error(`no output from ${command} within ${timeoutMs} ms`));
			}, timeoutMs);
			child.stdout.on('data', (chunk: Buffer) => {
				seen += stripEscapes(chunk.toString('utf8'));
				if (seen.replaceAll(/\s/g, '').length >= minVisible) {
					clearTimeout(timer);
					if (mustSee !== undefined && !seen.includes(mustSee)) {
						reject(new Error(`${command} printed something else first: ${JSON.stringify(seen.slice(0, 200))}`));
						return;
					}

					resolve(performance.now() - started);
				}
			});
			child.on('exit', () => {
				clearTimeout(timer);
				reject(new Error(`${command} exited before its first frame: ${JSON.stringify(seen.slice(0, 200))}`));
			});
		});
	} finally {
		if (child.pid !== undefined && child.exitCode === null) {
			// Its own process group: script and the node under it.
			process.kill(-child.pid, 'SIGKILL');
		}
	}
}

async function firstFrame(context: BenchContext): Promise<Row[]> {
	const scenario = 'Start: first frame';
	if (!isDashboardBuilt() || context.isStub) {
		return [{scenario, unit: 'ms', baselineName: 'node -e', status: 'waiting for the dashboard', notes: context.isStub ? 'the stub is not the CLI' : 'dist/ui/app.js is not built yet'}];
	}

	if (!hasTool('script')) {
		return [{scenario, unit: 'ms', baselineName: 'node -e', status: 'skipped', notes: 'needs script(1) from util-linux for a pseudo-terminal'}];
	}

	const node = JSON.stringify(process.execPath);
	const directory = mkdtempSync(path.join(context.tmpDir, 'ink-floor-'));
	const floorEntry = await buildInkFloor(directory);
	const floorCommand = `${node} ${JSON.stringify(floorEntry)} ${JSON.stringify(path.join(directory, 'cache'))}`;
	const netdashCommand = `${node} ${JSON.stringify(cliPath)}`;
	// Each once first, so both compile caches are written before anything is timed.
	await timeFirstOutput(netdashCommand);
	await timeFirstOutput(floorCommand, 20, 10_000, 'a bare Ink app');
	const netdash: number[] = [];
	const floor: number[] = [];
	const baseline: number[] = [];
	for (let index = 0; index < context.runs; index++) {
		netdash.push(await timeFirstOutput(netdashCommand));
		floor.push(await timeFirstOutput(floorCommand, 20, 10_000, 'a bare Ink app'));
		baseline.push(await timeFirstOutput(`${node} -e "process.stdout.write('x'.repeat(40))"`));
	}

	const overFloor = pairedRatio(netdash, floor);
	return [
		judge({
			scenario,
			unit: 'ms',
			netdash: median(netdash),
			baseline: median(baseline),
			baselineName: 'node -e, 1st output',
			ratio: pairedRatio(netdash, baseline),
			target: {on: 'ratio', op: '<=', value: 2.5},
			notes: `spawn in a 120×40 pty → first frame, all in the same pty; ${overFloor.toFixed(2)}× a bare Ink app (${median(floor).toFixed(0)} ms, +${(median(netdash) - median(floor)).toFixed(0)} ms)`,
			samples: {netdash, baseline},
			details: {inkFloor: floor},
		}),
		judge({
			scenario: 'Start: a bare Ink app (the floor)',
			unit: 'ms',
			netdash: median(floor),
			baseline: median(baseline),
			baselineName: 'node -e, 1st output',
			ratio: pairedRatio(floor, baseline),
			better: 'lower',
			notes: 'Ink and React drawing one line, bundled as netdash is, with a compile cache (fixtures/ink-floor.js): no dashboard can start faster on this stack',
			samples: {netdash: floor, baseline},
		}),
	];
}

/** Start: `netdash --version` against `node -e 0`, and the dashboard's first frame. */
export const start: Scenario = {
	name: 'start',
	order: 10,
	async run(context) {
		const count = Math.max(10, context.runs * 2);
		const netdash: number[] = [];
		const baseline: number[] = [];
		timeCommand([cliPath, '--version']);
		for (let index = 0; index < count; index++) {
			netdash.push(timeCommand([cliPath, '--version']));
			baseline.push(timeCommand(['-e', '0']));
		}

		context.progress(`start: --version ${median(netdash).toFixed(0)} ms, node -e 0 ${median(baseline).toFixed(0)} ms`);
		return [
			judge({
				scenario: 'Start: netdash --version',
				unit: 'ms',
				netdash: median(netdash),
				baseline: median(baseline),
				baselineName: 'node -e 0',
				ratio: pairedRatio(netdash, baseline),
				target: {on: 'ratio', op: '<=', value: 2},
				notes: `${count} alternating runs`,
				samples: {netdash, baseline},
			}),
			...(await firstFrame(context)),
		];
	},
};
