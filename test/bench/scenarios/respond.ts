import {spawn, type ChildProcess} from 'node:child_process';
import {mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import {performance} from 'node:perf_hooks';
import readline from 'node:readline';
import {Core} from '../../../source/core/core.js';
import {judge, type Row} from '../lib/report.js';
import type {CpuProfile, Window} from '../profile.js';
import {median, pairedRatio} from '../lib/stats.js';
import type {BenchContext, Scenario} from './context.js';

/**
 * Auto-reply speed: requests per second one connection gets answered by a
 * `--respond` rule on a line-framed listener (`PING n` → `PONG n`), beside a
 * plain Node echo server doing the same in a few lines of its own. The
 * client keeps `WINDOW` requests in flight (a pipelining client; a lock-step
 * one measures loopback latency, not the responder).
 */

const cliPath = path.resolve(import.meta.dirname, '..', '..', '..', 'dist', 'bin', 'cli.js');
const WINDOW = 64;

/** The baseline: a line server answering PING n with PONG n, in plain Node. */
const plainServer = String.raw`
const net = require('node:net');
const server = net.createServer((socket) => {
	let rest = '';
	socket.on('data', (chunk) => {
		const lines = (rest + chunk.toString('latin1')).split('\n');
		rest = lines.pop();
		let out = '';
		for (const line of lines) {
			const match = /^PING (\d+)$/.exec(line);
			if (match) out += 'PONG ' + match[1] + '\n';
		}
		if (out) socket.write(out);
	});
	socket.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({type: 'listener-opened', port: server.address().port})));
`;

/** Start a server child; resolves with its port once it listens. Its stdout is read (and dropped) throughout, as a --json reader would. */
async function startServer(args: string[]): Promise<{child: ChildProcess; port: number}> {
	const child = spawn(process.execPath, args, {stdio: ['pipe', 'pipe', 'inherit']});
	const port = await new Promise<number>((resolve, reject) => {
		const lines = readline.createInterface({input: child.stdout!});
		lines.on('line', (line) => {
			if (line.includes('"listener-opened"')) {
				resolve((JSON.parse(line) as {port: number}).port);
				lines.close();
				child.stdout!.resume();
			}
		});
		child.on('exit', (code) => {
			reject(new Error(`server exited (${code}) before it listened`));
		});
	});
	return {child, port};
}

/** Requests answered per second on one connection, `total` requests with `WINDOW` in flight. */
async function measure(port: number, total: number): Promise<number> {
	const socket = net.connect(port, '127.0.0.1');
	await new Promise<void>((resolve, reject) => {
		socket.once('connect', resolve);
		socket.once('error', reject);
	});
	let sent = 0;
	let answered = 0;
	const started = performance.now();
	const sendUpTo = (limit: number) => {
		let out = '';
		while (sent < limit && sent < total) {
			out += `PING ${sent++}\n`;
		}

		if (out) {
			socket.write(out);
		}
	};

	await new Promise<void>((resolve) => {
		socket.on('data', (chunk: Buffer) => {
			for (const byte of chunk) {
				if (byte === 0x0A) {
					answered++;
				}
			}

			if (answered >= total) {
				resolve();
				return;
			}

			sendUpTo(answered + WINDOW);
		});
		sendUpTo(WINDOW);
	});
	const seconds = (performance.now() - started) / 1000;
	socket.destroy();
	return total / seconds;
}

async function stop(child: ChildProcess): Promise<void> {
	if (child.exitCode === null) {
		const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
		child.kill('SIGKILL');
		await exited;
	}
}

/** netdash's arguments: a line listener answering `PING n` with `PONG n`, events on stdout. */
const respondArgs = [cliPath, '--json', '--listen', '127.0.0.1:0', '--framing', 'line', '--respond', String.raw`^PING (\d+)$ => PONG $1`];

/** The same clock as V8's profile timestamps (CLOCK_MONOTONIC), in µs. */
function monotonicUs(): number {
	return Number(process.hrtime.bigint() / 1000n);
}

/** One run of the --json respond server under --cpu-prof (for `--profile`): the profile and the window the requests ran in. */
export async function profiledRespond(dir: string, total: number): Promise<Window> {
	rmSync(dir, {recursive: true, force: true});
	mkdirSync(dir, {recursive: true});
	const ours = await startServer(['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=100', ...respondArgs]);
	try {
		const fromUs = monotonicUs();
		await measure(ours.port, total);
		const toUs = monotonicUs();
		// The profile is written at a clean exit: quit, not a kill.
		const exited = new Promise<void>((resolve) => ours.child.once('exit', () => resolve()));
		ours.child.stdin!.end('{"cmd":"quit"}\n');
		await exited;
		const [file] = readdirSync(dir);
		if (!file) {
			throw new Error('the profiled respond server wrote no profile');
		}

		return {profile: JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile, fromUs, toUs};
	} finally {
		await stop(ours.child);
	}
}

async function requestsPerSecond(context: BenchContext): Promise<Row> {
	const total = context.isQuick ? 50_000 : 200_000;
	const netdash: number[] = [];
	const baseline: number[] = [];
	for (let index = 0; index < (context.isQuick ? 3 : context.runs); index++) {
		context.progress(`respond run ${index + 1}`);
		const ours = await startServer(respondArgs);
		try {
			netdash.push(await measure(ours.port, total));
		} finally {
			await stop(ours.child);
		}

		const plain = await startServer(['-e', plainServer]);
		try {
			baseline.push(await measure(plain.port, total));
		} finally {
			await stop(plain.child);
		}
	}

	return judge({
		scenario: 'Respond: auto-replies, one connection',
		unit: 'requests/s',
		netdash: median(netdash),
		baseline: median(baseline),
		baselineName: 'plain Node line server',
		ratio: pairedRatio(netdash, baseline),
		target: {on: 'netdash', op: '>=', value: 50_000},
		notes: `${total} requests, ${WINDOW} in flight, --json read; every reply is also an event`,
		samples: {netdash, baseline},
	});
}

/** The same rule in a core in this process with no output: what the responder itself costs, apart from writing events as JSON. */
async function inProcess(context: BenchContext): Promise<Row> {
	const total = context.isQuick ? 50_000 : 200_000;
	const netdash: number[] = [];
	for (let index = 0; index < (context.isQuick ? 3 : context.runs); index++) {
		const core = new Core();
		try {
			core.respond({pattern: String.raw`^PING (\d+)$`, reply: 'PONG $1'});
			const opened = new Promise<number>((resolve) => {
				core.bus.subscribe((event) => {
					if (event.type === 'listener-opened') {
						resolve(event.port);
					}
				});
			});
			core.listen('127.0.0.1', 0, {framing: {kind: 'line'}});
			netdash.push(await measure(await opened, total));
		} finally {
			await core.closeAll(100);
			core.dispose();
		}
	}

	return judge({
		scenario: 'Respond: the core alone (no --json)',
		unit: 'requests/s',
		netdash: median(netdash),
		target: {on: 'netdash', op: '>=', value: 50_000},
		notes: `${total} requests, ${WINDOW} in flight, in-process core, no event output`,
		samples: {netdash},
	});
}

/** The auto-reply scenario. */
export const respond: Scenario = {
	name: 'respond',
	async run(context) {
		return [await requestsPerSecond(context), await inProcess(context)];
	},
};
