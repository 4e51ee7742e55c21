import {execFile} from 'node:child_process';
import {readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {promisify, stripVTControlCharacters} from 'node:util';
import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {MiB, type BenchContext, type Scenario} from './context.js';

/*
 * Figures that depend on V8 and the machine's load, moved here from the
 * unit tests (issue 19): V8's own collections with and without the
 * reclaimer, how flat memory stays through the soak, and what a key costs
 * with a 10,000-row table against a 10-row one. The unit tests assert the
 * exact part (collections asked for, one close per connection, six rows
 * drawn); the bench reports these against their targets.
 */

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '..', '..', '..');
const reclaimChild = path.join(repo, 'test', 'fixtures', 'reclaim-child.mjs');
// vitest's own entry, run by the Node that runs the bench (vitest 5 needs Node 22 or later; a bare `vitest` takes the first `node` on PATH).
const vitest = path.join(repo, 'node_modules', 'vitest', 'vitest.mjs');

type Collections = {received: number; majors: number; minors: number; peakArrayBuffersMiB: number};

/** `mib` MiB into a core in a fresh process, `every` bytes between reclaims (0: none). */
async function carry(mib: number, every: number): Promise<Collections> {
	const {stdout} = await run(process.execPath, [reclaimChild, `--mib=${mib}`, `--every=${every}`], {encoding: 'utf8', timeout: 120_000});
	return JSON.parse(stdout) as Collections;
}

async function reclaim(context: BenchContext): Promise<Row[]> {
	const mib = context.isQuick ? 128 : 512;
	const on: Collections[] = [];
	const off: Collections[] = [];
	for (let index = 0; index < context.runs; index++) {
		on.push(await carry(mib, 16 * MiB));
		off.push(await carry(mib, 0));
		context.progress(`reclaim ${index + 1}/${context.runs}: full collections ${on.at(-1)!.majors} with, ${off.at(-1)!.majors} without`);
	}

	const unit = `full GCs / ${mib} MiB`;
	return [
		judge({
			scenario: 'Reclaim: full collections',
			unit,
			netdash: median(on.map((sample) => sample.majors)),
			baseline: median(off.map((sample) => sample.majors)),
			baselineName: 'no reclaimer',
			// A handful without it (one per 64 MB of buffers), hardly any with it.
			target: {on: 'netdash', op: '<=', value: 3},
			notes: `minor collections: ${median(on.map((sample) => sample.minors))} with the reclaimer (it asks ${mib / 16}), ${median(off.map((sample) => sample.minors))} without`,
			samples: {netdash: on.map((sample) => sample.majors), baseline: off.map((sample) => sample.majors)},
		}),
		judge({
			scenario: 'Reclaim: peak array buffers',
			unit: 'MiB',
			netdash: median(on.map((sample) => sample.peakArrayBuffersMiB)),
			baseline: median(off.map((sample) => sample.peakArrayBuffersMiB)),
			baselineName: 'no reclaimer',
			ratio: pairedRatio(on.map((sample) => sample.peakArrayBuffersMiB), off.map((sample) => sample.peakArrayBuffersMiB)),
			target: {on: 'ratio', op: '<=', value: 1},
			samples: {netdash: on.map((sample) => sample.peakArrayBuffersMiB), baseline: off.map((sample) => sample.peakArrayBuffersMiB)},
		}),
	];
}

/** Run one test file with vitest; its `reportFigures` lines, by name. */
async function figuresOf(context: BenchContext, file: string, env: Record<string, string> = {}): Promise<Map<string, Record<string, number>>> {
	const figures = path.join(context.tmpDir, `figures-${path.basename(file)}.jsonl`);
	rmSync(figures, {force: true});
	try {
		// The dot reporter: the project's reporters would overwrite test-results.json. Not NO_COLOR: the
		// dashboard under test would draw its selection as an underline, which the tests do not expect.
		await run(process.execPath, [vitest, 'run', file, '--reporter=dot'], {cwd: repo, encoding: 'utf8', timeout: 600_000, env: {...process.env, ...env, NETDASH_FIGURES: figures}});
	} catch (error) {
		const {stdout = '', stderr = ''} = error as {stdout?: string; stderr?: string};
		throw new Error(`${file} failed: ${stripVTControlCharacters(stdout + stderr).split('\n').filter((line) => /FAIL|Error/.test(line)).slice(0, 3).join(' | ')}`);
	}

	const lines = readFileSync(figures, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, number | null> & {name: string});
	// JSON has no NaN: a figure that could not be measured comes back null.
	return new Map(lines.map(({name, ...values}) => [name, Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value ?? Number.NaN]))]));
}

async function soak(context: BenchContext): Promise<Row[]> {
	// Long enough for V8 to run two full collections in the soak (the live-heap figure compares them).
	const seconds = context.isQuick ? 20 : 60;
	context.progress(`soak: ${seconds} s of the real CLI (test/faults/soak.test.ts)`);
	const figures = (await figuresOf(context, 'test/faults/soak.test.ts', {SOAK_SECONDS: String(seconds)})).get('soak')!;
	return [
		judge({
			scenario: 'Soak: RSS growth after warm-up',
			unit: '%',
			netdash: figures['rssGrowthPercent'],
			// V8 grows its heap reservation in steps, and RSS follows it.
			target: {on: 'netdash', op: '<=', value: 50},
			notes: `${seconds} s; the last third of the samples against the middle third; ${formatNumber(figures['rssLastMiB'])} MiB at the end`,
		}),
		judge({
			scenario: 'Soak: live heap growth',
			unit: '%',
			netdash: figures['liveGrowthPercent'],
			target: {on: 'netdash', op: '<=', value: 25},
			notes: `heap used + array buffers after a full collection: the soak's last against its first (${figures['fullCollections']} in the soak)`,
			// A short soak may see too few full collections to compare; a full run's 60 s always has them.
			...(Number.isNaN(figures['liveGrowthPercent']) && context.isQuick ? {status: 'skipped' as const, notes: `V8 ran ${figures['fullCollections']} full collection(s) in ${seconds} s: nothing to compare (a full run soaks 60 s)`} : {}),
		}),
	];
}

async function bigTable(context: BenchContext): Promise<Row[]> {
	const few: number[] = [];
	const many: number[] = [];
	for (let index = 0; index < (context.isQuick ? 1 : context.runs); index++) {
		const figures = (await figuresOf(context, 'test/ui/scale.test.ts')).get('big-table')!;
		few.push(figures['msPerKeyFew']!);
		many.push(figures['msPerKeyMany']!);
		context.progress(`big table ${index + 1}: ${many.at(-1)!.toFixed(1)} ms per key with 10,000 connections, ${few.at(-1)!.toFixed(1)} with 10`);
	}

	return [
		judge({
			scenario: 'Big table: key to frame',
			unit: 'ms per key',
			netdash: median(many),
			baseline: median(few),
			baselineName: '10 connections',
			ratio: pairedRatio(many, few),
			// Drawing all 10,000 rows would make each key dozens of times dearer.
			target: {on: 'ratio', op: '<=', value: 5},
			notes: '10,000 connections, j/k 20 times, in ink-testing-library (test/ui/scale.test.ts)',
			samples: {netdash: many, baseline: few},
		}),
	];
}

/** V8 collections, soak memory and the big table: figures too load-dependent for unit tests. */
export const steadiness: Scenario = {
	name: 'steadiness',
	order: 200,
	async run(context) {
		const rows: Row[] = [];
		// Each part on its own: one that fails is an error row, and the others still report.
		for (const [name, part] of [['Reclaim', reclaim], ['Big table', bigTable], ['Soak', soak]] as const) {
			try {
				rows.push(...(await part(context)));
			} catch (error) {
				rows.push({scenario: name, unit: '', status: 'error', notes: String(error instanceof Error ? error.message : error).split('\n')[0]});
			}
		}

		return rows;
	},
};
