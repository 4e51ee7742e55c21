import {spawn, spawnSync} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import readline from 'node:readline';
import {startRole} from '../lib/child.js';
import {formatNumber, judge, type Row} from '../lib/report.js';
import {median, percentile} from '../lib/stats.js';
import {hasTool} from '../lib/tools.js';
import type {BenchContext, Scenario} from './context.js';

/*
 * The System source (core/system/): what one refresh of the machine's
 * sockets costs netdash with 10,000 sockets open, what an idle 1 s watch
 * costs with 1,000, and `ss -tanpi` run once per second beside it. CPU is
 * read from /proc/PID/stat with the children netdash waited for (the `ss`
 * it runs) included.
 */

const cliPath = path.resolve(import.meta.dirname, '..', '..', '..', 'dist', 'bin', 'cli.js');
/** USER_HZ: the unit of /proc/PID/stat times on every Linux. */
const ticksPerSecond = 100;

/** CPU ms a process used, its waited-for children included. */
function cpuMs(pid: number | 'self'): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	// utime, stime, cutime, cstime are fields 14-17 (1-based); fields here start at field 3.
	return fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0) * 1000 / ticksPerSecond;
}

/** CPU ms of a process and of its children still running (netdash's sock_diag helper lives as long as it does). */
function treeCpuMs(pid: number): number {
	let total = cpuMs(pid);
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) {
			continue;
		}

		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) {
				total += cpuMs(Number(entry));
			}
		} catch {
			// Gone meanwhile.
		}
	}

	return total;
}

/** Loopback pairs held open by this process: 2 × pairs sockets plus a listener. */
async function holdPairs(pairs: number): Promise<{sockets: net.Socket[]; close(): void}> {
	const sockets: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		sockets.push(socket);
	});
	await new Promise<void>((resolve) => server.listen({host: '127.0.0.1', port: 0, backlog: 4096}, resolve));
	const {port} = server.address() as net.AddressInfo;
	for (let start = 0; start < pairs; start += 500) {
		// eslint-disable-next-line no-await-in-loop
		await Promise.all(Array.from({length: Math.min(500, pairs - start)}, async () => new Promise<void>((resolve, reject) => {
			const socket = net.connect({host: '127.0.0.1', port}, () => {
				resolve();
			});
			socket.on('error', reject);
			sockets.push(socket);
		})));
	}

	while (sockets.length < pairs * 2) {
		// eslint-disable-next-line no-await-in-loop
		await new Promise((resolve) => setImmediate(resolve));
	}

	return {
		sockets,
		close() {
			for (const socket of sockets) {
				socket.resetAndDestroy();
			}

			server.close();
		},
	};
}

type Netdash = {pid: number; ask(command: Record<string, unknown>, type: string): Promise<Record<string, any>>; waitType(type: string): Promise<Record<string, any>>; onEvent(listener: (event: Record<string, any>) => void): void; stop(): void};

function startNetdash(): Netdash {
	const child = spawn(process.execPath, [cliPath, '--json'], {stdio: ['pipe', 'pipe', 'ignore']});
	const waiters: Array<{type: string; ref?: string; resolve(event: Record<string, any>): void}> = [];
	const listeners: Array<(event: Record<string, any>) => void> = [];
	readline.createInterface({input: child.stdout}).on('line', (line) => {
		let event: Record<string, any>;
		try {
			event = JSON.parse(line) as Record<string, any>;
		} catch {
			return; // The last line of a netdash killed while writing it.
		}

		for (const listener of listeners) {
			listener(event);
		}

		const index = waiters.findIndex((waiter) => waiter.type === event['type'] && (waiter.ref === undefined || waiter.ref === event['ref']));
		if (index >= 0) {
			waiters.splice(index, 1)[0]!.resolve(event);
		}
	});
	let nextRef = 1;
	return {
		pid: child.pid!,
		async ask(command, type) {
			const ref = `b${nextRef++}`;
			const answer = new Promise<Record<string, any>>((resolve) => {
				waiters.push({type, ref, resolve});
			});
			child.stdin.write(JSON.stringify({...command, ref}) + '\n');
			return answer;
		},
		async waitType(type) {
			return new Promise((resolve) => {
				waiters.push({type, resolve});
			});
		},
		onEvent(listener) {
			listeners.push(listener);
		},
		stop() {
			child.kill('SIGKILL');
		},
	};
}

async function sleep(ms: number): Promise<void> {
	// The bench measures over a span of time; tests never sleep like this.
	return new Promise((resolve) => {
		setTimeout(resolve, ms);
	});
}

/** `ss -tanpi` run `runs` times: CPU ms per run, from this process's waited-for children. */
function ssCpuMs(runs: number): number {
	const before = cpuMs('self');
	const selfBefore = process.cpuUsage();
	for (let run = 0; run < runs; run++) {
		spawnSync('ss', ['-tanpi'], {stdio: 'ignore'});
	}

	const own = process.cpuUsage(selfBefore);
	// Our own share of spawnSync is in cpuMs('self') too: take it out.
	return (cpuMs('self') - before - (own.user + own.system) / 1000) / runs;
}

/** TIME-WAIT sockets on the machine now (`ss`), or 0 when it cannot say. */
function timeWaitCount(): number {
	const result = spawnSync('ss', ['-tanH', 'state', 'time-wait'], {encoding: 'utf8'});
	return result.status === 0 ? result.stdout.split('\n').filter(Boolean).length : 0;
}

/**
 * Wait (at most 65 s) for the TIME-WAIT sockets of earlier scenarios to
 * expire: measured while thousands of them close, a refresh would cost
 * their closing (changes to emit), not one reading of 10,000 sockets.
 * Returns how many were left.
 */
async function settleTimeWait(context: BenchContext): Promise<number> {
	const deadline = performance.now() + 65_000;
	let count = timeWaitCount();
	if (count >= 100) {
		context.progress(`system: waiting for ${count.toLocaleString('en')} TIME-WAIT sockets of earlier scenarios to expire`);
	}

	while (count >= 100 && performance.now() < deadline) {
		// eslint-disable-next-line no-await-in-loop
		await sleep(1000);
		count = timeWaitCount();
	}

	return count;
}

/** The System pane over the machine's sockets (10,000 of them held open): j/k → next frame, while it refreshes each second. */
async function paneKeys(context: BenchContext, sockets: number, presses: number): Promise<Row> {
	context.progress(`system: the System pane with ${sockets.toLocaleString('en')} sockets, j/k ×${presses}`);
	const dashboard = startRole('dashboard', {mode: 'system', sockets, presses, stub: context.isStub}, {env: {NODE_ENV: 'production', FORCE_COLOR: '3'}});
	try {
		await dashboard.next('ready');
		const measured = await dashboard.next<{type: string; rows: number; latencies: number[]; unanswered: number; rowsVisibleAfterMs: number}>('measured', 180_000);
		return judge({
			scenario: `system sockets: pane keys, ${measured.rows.toLocaleString('en')} sockets`,
			unit: 'ms p99',
			netdash: percentile(measured.latencies, 99),
			target: {on: 'netdash', op: '<=', value: 50},
			notes: `j/k ×${measured.latencies.length} in the System pane refreshing each second, p50 ${formatNumber(percentile(measured.latencies, 50))} ms; listed after ${formatNumber(measured.rowsVisibleAfterMs)} ms${measured.unanswered > 0 ? `; ${measured.unanswered} keys drew nothing` : ''}`,
			...(measured.unanswered > 0 ? {status: 'fail' as const} : {}),
			samples: {netdash: measured.latencies},
		});
	} finally {
		await dashboard.kill();
	}
}

export const system: Scenario = {
	name: 'system',
	async run(context: BenchContext): Promise<Row[]> {
		const scenario = 'system sockets';
		if (process.platform !== 'linux' || !hasTool('ss')) {
			return [{scenario, unit: 'ms CPU', status: 'skipped', notes: 'needs Linux and ss (iproute2)'}];
		}

		const refreshes = context.isQuick ? 5 : 20;
		const idleSeconds = context.isQuick ? 5 : 20;
		const rows: Row[] = [];
		const timeWait = await settleTimeWait(context);
		context.progress('system: opening 5,000 loopback pairs (10,000 sockets)');
		let held = await holdPairs(5000);
		try {
			const netdash = startNetdash();
			try {
				// A watch's refreshes, as the System pane makes them: the first lists everything, the next emit only changes.
				const changes: Array<Record<string, any>> = [];
				netdash.onEvent((event) => {
					if (event['type'] === 'system-sockets-changed') {
						changes.push(event);
					}
				});
				void netdash.ask({cmd: 'watch-sockets', interval: 1}, 'never');
				while (changes.length === 0) {
					// eslint-disable-next-line no-await-in-loop
					await sleep(50);
				}

				// Past the first refresh, which lists every socket (its JSON is the session's, not a refresh's).
				await sleep(2000);
				const before = treeCpuMs(netdash.pid);
				const started = performance.now();
				await sleep(refreshes * 1000);
				// One refresh a second: a refresh emits only when something changed, so ticks are counted, not events (the notes give the readings' wall time: under 1 s, no tick is skipped).
				const watched = Math.max(1, Math.round((performance.now() - started) / 1000));
				const perRefresh = (treeCpuMs(netdash.pid) - before) / watched;
				const took = changes.map((event) => event['tookMs'] as number);
				const total = changes.at(-1)!['total'] as number;
				const ssPerRun = ssCpuMs(refreshes);
				rows.push(judge({
					scenario: `${scenario}: one refresh, ${total.toLocaleString('en')} sockets`,
					unit: 'ms CPU',
					netdash: perRefresh,
					baseline: ssPerRun,
					baselineName: 'ss -tanpi once',
					ratio: perRefresh / ssPerRun,
					target: {on: 'netdash', op: '<=', value: 50},
					notes: `CPU of netdash and its sock_diag helper per refresh of a watch at 1 s, over ${watched} refreshes; reading wall time median ${median(took).toFixed(0)} ms; ${timeWait.toLocaleString('en')} TIME-WAIT sockets of earlier scenarios left`,
					details: {tookMs: took, sockets: total},
				}));
			} finally {
				netdash.stop();
			}

			rows.push(await paneKeys(context, 10_000, context.isQuick ? 30 : 100));
			held.close();
			context.progress('system: 500 pairs (1,000 sockets), an idle 1 s watch');
			held = await holdPairs(500);
			const watcher = startNetdash();
			try {
				const first = watcher.waitType('system-sockets-changed');
				// Its answer is the first refresh, which `first` takes.
				void watcher.ask({cmd: 'watch-sockets', interval: 1}, 'never');
				await first;
				const before = treeCpuMs(watcher.pid);
				const started = performance.now();
				await sleep(idleSeconds * 1000);
				const percent = (treeCpuMs(watcher.pid) - before) / (performance.now() - started) * 100;
				const ssPercent = ssCpuMs(context.isQuick ? 5 : 10) / 10; // Once per 1,000 ms.
				rows.push(judge({
					scenario: `${scenario}: idle watch at 1 s, ~1,000 sockets`,
					unit: '% core',
					netdash: percent,
					baseline: ssPercent,
					baselineName: 'ss -tanpi each s',
					ratio: percent / ssPercent,
					target: {on: 'netdash', op: '<=', value: 3},
					notes: `over ${idleSeconds} s, the whole netdash process (Node's idle cost included)`,
				}));
			} finally {
				watcher.stop();
			}
		} finally {
			held.close();
		}

		return rows;
	},
};
