import {mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {startRole, type RoleChild} from './lib/child.js';
import {driver} from './lib/drivers.js';
import {profiledRespond} from './scenarios/respond.js';
import {MiB, type BenchContext} from './scenarios/context.js';

/** The parts of a V8 .cpuprofile the bench reads. */
export type CpuProfile = {
	nodes: Array<{id: number; callFrame: {functionName: string; url: string; lineNumber: number}}>;
	startTime: number;
	samples: number[];
	timeDeltas: number[];
};

/** A profile and the window (monotonic µs) the transfer ran in. */
export type Window = {profile: CpuProfile; fromUs: number; toUs: number};

/** Self time by function: where the CPU was when sampled. */
export type SelfTime = {name: string; where: string; ms: number; share: number};

const repo = path.resolve(import.meta.dirname, '..', '..');

/**
 * Self time per function over profiles, only inside each transfer's window
 * (start-up and module loading are left out) and without `(idle)`: shares
 * are of the time the sink was busy. Largest first.
 */
export function selfTimes(windows: readonly Window[]): SelfTime[] {
	const totals = new Map<string, {name: string; where: string; us: number}>();
	let all = 0;
	for (const {profile, fromUs, toUs} of windows) {
		const byId = new Map(profile.nodes.map((node) => [node.id, node]));
		let at = profile.startTime;
		for (let index = 0; index < profile.samples.length; index++) {
			const node = byId.get(profile.samples[index]!);
			const us = profile.timeDeltas[index] ?? 0;
			at += us;
			if (!node || at < fromUs || at > toUs || node.callFrame.functionName === '(idle)') {
				continue;
			}

			const {functionName, url, lineNumber} = node.callFrame;
			const file = url.startsWith('file://') ? path.relative(repo, new URL(url).pathname) : url;
			const where = file ? `${file}:${lineNumber + 1}` : '';
			const key = `${functionName}@${where}`;
			const entry = totals.get(key) ?? {name: functionName || '(anonymous)', where, us: 0};
			entry.us += us;
			totals.set(key, entry);
			all += us;
		}
	}

	return [...totals.values()]
		.map((entry) => ({name: entry.name, where: entry.where, ms: entry.us / 1000, share: entry.us / all}))
		.sort((a, b) => b.ms - a.ms);
}

/** Something to profile: the measured role, its arguments, and the load that drives it (returns the window's end, µs). */
type Target = {
	/** The scenario it profiles, for `--only`. */
	scenario: string;
	label: string;
	/** What the busy time is per, e.g. `256 MiB received`. */
	per: string;
	role: string;
	args: Record<string, string | number | boolean | undefined>;
	nofile?: number;
	drive: (sink: RoleChild, ready: {port: number}) => Promise<number>;
};

/** One run of a target under --cpu-prof; the profiles (one per thread: the capture writers have their own) are written at the role's exit. */
async function profiledRun(dir: string, target: Target): Promise<Window[]> {
	rmSync(dir, {recursive: true, force: true});
	mkdirSync(dir, {recursive: true});
	const sink = startRole(target.role, target.args, {
		nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100'],
		env: {NODE_ENV: 'production', FORCE_COLOR: '3'},
		...(target.nofile ? {nofile: target.nofile} : {}),
	});
	try {
		const ready = await sink.next<{type: string; port: number; atUs: number}>('ready');
		const toUs = await target.drive(sink, ready);
		// Roles that wait for a stop exit on it; the rest have exited already.
		sink.send({type: 'stop'});
		await sink.exited;
		const files = readdirSync(dir);
		if (files.length === 0) {
			throw new Error(`the profiled ${target.role} wrote no profile`);
		}

		return files.map((file) => ({profile: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile, fromUs: ready.atUs, toUs}));
	} finally {
		await sink.kill();
	}
}

/** Drive a TCP sink with the raw sender; the window ends when the sink is done. */
function tcpLoad(bytes: number) {
	return async (sink: RoleChild, ready: {port: number}) => {
		const sender = driver('tcp-sender');
		sender.send({type: 'send', port: ready.port, bytes, seconds: 0});
		await sender.next('sent', 600_000);
		return (await sink.next<{type: string; atUs: number}>('done')).atUs;
	};
}

function print(title: string, rows: readonly SelfTime[], count: number): void {
	process.stdout.write(`\n${title}\n`);
	for (const row of rows.slice(0, count)) {
		process.stdout.write(`  ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.ms.toFixed(0).padStart(6)} ms  ${row.name}  ${row.where}\n`);
	}
}

/**
 * `npm run bench -- --profile`: netdash's side of Carry, Capture, Carry with
 * the dashboard, Datagrams, Scale and Respond under V8's sampling profiler
 * (100 µs), three runs each, cut to the measured window; prints the top
 * self-time functions overall, in netdash's own code (dist/) and in
 * node_modules. `only` picks scenarios by name, as `--only` does.
 */
export async function profile(context: BenchContext, only?: readonly string[]): Promise<void> {
	const bytes = context.isQuick ? 256 * MiB : 1024 * MiB;
	const volume = `${bytes / MiB} MiB received`;
	const connections = context.isQuick ? 2000 : 10_000;
	const seconds = context.isQuick ? 1 : 5;
	const capturePath = path.join(context.tmpDir, 'profile.log');
	const targets: Target[] = [
		{scenario: 'carry', label: 'carry (headless core + store)', per: volume, role: 'tcp-sink', args: {kind: 'netdash'}, drive: tcpLoad(bytes)},
		{scenario: 'capture', label: 'capture (--log; main and writer threads)', per: volume, role: 'tcp-sink', args: {kind: 'netdash', log: capturePath}, drive: tcpLoad(bytes)},
		{scenario: 'capture', label: 'capture (--pcap; main and writer threads)', per: volume, role: 'tcp-sink', args: {kind: 'netdash', pcap: capturePath}, drive: tcpLoad(bytes)},
		{scenario: 'dashboard', label: 'carry with the dashboard (120×40)', per: volume, role: 'dashboard', args: {mode: 'carry', stub: context.isStub}, drive: tcpLoad(bytes)},
		{
			scenario: 'datagrams',
			label: 'datagrams (core UDP socket + store)',
			per: `${seconds} s of datagrams`,
			role: 'udp-sink',
			args: {kind: 'netdash', 'recv-buffer': 4 * MiB},
			async drive(sink, ready) {
				const sender = driver('udp-sender');
				sender.send({type: 'send', port: ready.port, seconds, size: 1200});
				await sender.next('sent', seconds * 1000 + 30_000);
				sink.send({type: 'stop'});
				return (await sink.next<{type: string; atUs: number}>('done')).atUs;
			},
		},
		{
			scenario: 'scale',
			label: `scale (${connections.toLocaleString('en-US')} connections accepted)`,
			per: 'burst',
			role: 'scale-server',
			args: {kind: 'netdash', connections},
			nofile: connections + 1000,
			async drive(sink, ready) {
				const client = driver('scale-client', {nofile: connections + 1000});
				client.send({type: 'connect', port: ready.port, connections});
				await client.next('connected');
				const accepted = await sink.next<{type: string; atUs: number}>('accepted');
				client.send({type: 'reset'});
				await client.next('reset-done');
				return accepted.atUs;
			},
		},
	];
	const requests = context.isQuick ? 50_000 : 200_000;
	const runs: Array<{scenario: string; label: string; per: string; run: (dir: string) => Promise<Window[]>}> = [
		...targets.map((target) => ({...target, run: async (dir: string) => profiledRun(dir, target)})),
		{scenario: 'respond', label: 'respond (--json, auto-replies on one connection)', per: `${requests.toLocaleString('en-US')} requests`, run: async (dir: string) => [await profiledRespond(dir, requests)]},
	];
	for (const target of runs.filter((each) => !only || only.includes(each.scenario))) {
		const dir = path.join(context.tmpDir, 'profile');
		const windows: Window[] = [];
		for (let index = 0; index < 3; index++) {
			windows.push(...(await target.run(dir)));
			context.progress(`${target.label}: profiled run ${index + 1}/3`);
		}

		rmSync(capturePath, {force: true});
		const times = selfTimes(windows);
		const total = times.reduce((sum, row) => sum + row.ms, 0);
		const own = times.filter((row) => row.where.startsWith('dist/'));
		const dependencies = times.filter((row) => row.where.includes('node_modules/'));
		const ownMs = own.reduce((sum, row) => sum + row.ms, 0);
		process.stdout.write(`\n== ${target.label}: busy ${(total / 3).toFixed(0)} ms per ${target.per}; netdash's own code ${((ownMs / total) * 100).toFixed(1)} % of it ==`);
		print('top self time, all code (share of busy time):', times, 15);
		print("top self time in netdash's code (dist/):", own, 12);
		if (dependencies.length > 0) {
			const share = dependencies.reduce((sum, row) => sum + row.ms, 0) / total;
			print(`top self time in node_modules — Ink, React, Yoga, string-width… (${(share * 100).toFixed(1)} % of busy time):`, dependencies, 10);
		}
	}
}
