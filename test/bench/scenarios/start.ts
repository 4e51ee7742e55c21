import {spawn, spawnSync} from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import {performance} from 'node:perf_hooks';
import {isDashboardBuilt} from '../lib/dashboard.js';
import {judge, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {hasTool} from '../lib/tools.js';
import {stripEscapes} from '../lib/virtual-terminal.js';
import type {BenchContext, Scenario} from './context.js';

/** The CLI as installed (package.json `bin`: the bundle). */
const cliPath = path.resolve(import.meta.dirname, '..', '..', '..', 'dist', 'bin', 'cli.js');

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
 * first frame, for a dashboard. The process group is killed afterwards.
 */
async function timeFirstOutput(command: string, minVisible = 20, timeoutMs = 10_000): Promise<number> {
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

async function firstFrame(context: BenchContext): Promise<Row> {
	const scenario = 'Start: first frame';
	if (!isDashboardBuilt() || context.isStub) {
		return {scenario, unit: 'ms', baselineName: 'node -e', status: 'waiting for the dashboard', notes: context.isStub ? 'the stub is not the CLI' : 'dist/ui/app.js is not built yet'};
	}

	if (!hasTool('script')) {
		return {scenario, unit: 'ms', baselineName: 'node -e', status: 'skipped', notes: 'needs script(1) from util-linux for a pseudo-terminal'};
	}

	const node = JSON.stringify(process.execPath);
	const netdash: number[] = [];
	const baseline: number[] = [];
	for (let index = 0; index < context.runs; index++) {
		netdash.push(await timeFirstOutput(`${node} ${JSON.stringify(cliPath)}`));
		baseline.push(await timeFirstOutput(`${node} -e "process.stdout.write('x'.repeat(40))"`));
	}

	return judge({
		scenario,
		unit: 'ms',
		netdash: median(netdash),
		baseline: median(baseline),
		baselineName: 'node -e, 1st output',
		ratio: pairedRatio(netdash, baseline),
		target: {on: 'ratio', op: '<=', value: 2.5},
		notes: 'spawn in a 120×40 pty → first frame, both in the same pty',
		samples: {netdash, baseline},
	});
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
			await firstFrame(context),
		];
	},
};
