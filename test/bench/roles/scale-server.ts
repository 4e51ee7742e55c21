/**
 * A server that takes `--connections` concurrent loopback connections:
 * `--kind=raw` is a bare `net` server that reads and drops; `--kind=netdash`
 * is one core listener (admission raised from the default 100) with a store
 * publishing snapshots, with netdash's default backlog (65535: as deep as
 * net.core.somaxconn allows); the raw server asks for the same. Two more
 * kinds take netdash apart to say where its memory goes: `core` is the core
 * alone (no store), `nolog` the core and a store whose log budget is 0 (each
 * note evicted as it comes). Reports when
 * the last one is accepted, how many times the accept queue overflowed
 * meanwhile (the client then waits for SYN-ACK retries, whole seconds), and
 * the RSS those connections cost, after garbage collection on both sides.
 */
import {readFileSync} from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import v8 from 'node:v8';
import {createCore, createStore} from '../../../source/core/index.js';
import {wallMs} from '../lib/clock.js';
import {collectGarbage, command, fail, finish, monotonicUs, numberArg, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

const BACKLOG = 65_535;
/**
 * How long every kind waits after the last accept before its memory is read: netdash hands back
 * what a burst grew (core/memory-return.ts) once its watch (each second) finds the bus quiet, so
 * within 2 s; bare Node has nothing to do, and waits as long.
 */
const SETTLE_MS = 2500;

runRole(async () => {
	const args = roleArgs();
	const expected = numberArg(args, 'connections');
	const kind = args.get('kind');
	let accepted = 0;
	let allAcceptedAt = 0;
	let allAcceptedUs = 0;
	let rssBefore = 0;
	let heapBefore = 0;
	let cpuAtReady = process.cpuUsage();
	let acceptCpuMs = 0;
	const onAccepted = () => {
		accepted++;
		if (accepted === expected) {
			const cpu = process.cpuUsage(cpuAtReady);
			acceptCpuMs = (cpu.user + cpu.system) / 1000;
			allAcceptedAt = wallMs();
			allAcceptedUs = monotonicUs();
			allAccepted();
		}
	};

	let allAccepted = () => {};
	const whenAllAccepted = new Promise<void>((resolve) => {
		allAccepted = resolve;
	});
	let settle = () => {};
	let rows = (): number => accepted;
	/** netdash's memory-returned pauses during the settling (ms each). */
	const returnedMs: number[] = [];

	if (kind === 'raw') {
		const sockets: net.Socket[] = [];
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			socket.resume();
			sockets.push(socket);
			onAccepted();
		});
		server.maxConnections = expected * 2;
		await new Promise<void>((resolve) => {
			server.listen({host: '127.0.0.1', port: 0, backlog: BACKLOG}, resolve);
		});
		collectGarbage();
		rssBefore = statusKiB('VmRSS');
		heapBefore = process.memoryUsage().heapUsed;
		report({type: 'ready', port: (server.address() as net.AddressInfo).port, atUs: monotonicUs()});
	} else if (kind === 'netdash' || kind === 'core' || kind === 'nolog') {
		const core = createCore({admission: {maxConnections: expected * 2}});
		if (kind !== 'core') {
			const store = createStore(core.bus, kind === 'nolog' ? {logBytes: 0} : {});
			store.subscribe(() => store.getSnapshot());
			settle = () => {
				store.flush();
			};

			rows = () => store.getSnapshot().connections.length;
		}

		const port = await new Promise<number>((resolve) => {
			core.bus.subscribe((event) => {
				if (event.type === 'connection-opened') {
					onAccepted();
				} else if (event.type === 'memory-returned') {
					returnedMs.push(event.ms);
				} else if (event.type === 'listener-opened') {
					resolve(event.port);
				} else if (event.type === 'connection-refused' || event.type === 'resource-exhausted') {
					fail(new Error(`netdash refused or ran out: ${JSON.stringify(event)}`));
				}
			}, {borrows: true});
			core.listen('127.0.0.1', 0);
		});
		collectGarbage();
		rssBefore = statusKiB('VmRSS');
		heapBefore = process.memoryUsage().heapUsed;
		report({type: 'ready', port, atUs: monotonicUs()});
	} else {
		throw new Error(`--kind must be raw, netdash, core or nolog, not ${kind}`);
	}

	const overflowsAtStart = listenOverflows();
	cpuAtReady = process.cpuUsage();
	await whenAllAccepted;
	const overflows = listenOverflows() - overflowsAtStart;
	// Let the store publish and timers run before measuring what stays.
	await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
	settle();
	collectGarbage();
	const rssAfter = statusKiB('VmRSS');
	// The JavaScript heap alone: what the objects of each kind cost, without the allocator's slack.
	const heapAfter = process.memoryUsage().heapUsed;
	// Where the RSS is: each V8 space's committed size against what lives in it (KiB).
	const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, [Math.round(space.space_size / 1024), Math.round(space.space_used_size / 1024)]]));
	report({type: 'accepted', allAcceptedAt, atUs: allAcceptedUs, rssBeforeKiB: rssBefore, rssAfterKiB: rssAfter, heapBeforeKiB: heapBefore / 1024, heapAfterKiB: heapAfter / 1024, rows: rows(), overflows, spaces, memory: process.memoryUsage(), returnedMs, cpuMs: acceptCpuMs});
	await command('stop');
	finish({type: 'done'});
});

/** TcpExt ListenOverflows of this network namespace: connections the accept queue had no room for. */
function listenOverflows(): number {
	const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((line) => line.startsWith('TcpExt:'));
	const names = lines[0]?.split(' ') ?? [];
	const values = lines[1]?.split(' ') ?? [];
	return Number(values[names.indexOf('ListenOverflows')] ?? 0);
}
