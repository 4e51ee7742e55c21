/**
 * A relay between the bench's clients and `--target` (a loopback port),
 * measured (issue 13, point 7):
 * `--kind=netdash` is a headless core forwarding to the target, with a store
 *   publishing snapshots (the CLI's defaults: bounded logs, the relay's log);
 * `--kind=dashboard` is the same with the dashboard drawing to a virtual
 *   120×40 terminal;
 * `--kind=bare` is a plain Node relay: each accepted socket piped to its own
 *   connection to the target, both ways (two bare sockets per pair).
 * `--mode=carry`: one client's bytes through to the target; `done` once the
 *   pair has ended (both FINs passed on), with the CPU and peak RSS it took.
 * `--mode=idle --pairs=N`: N clients held open through the relay; reports
 *   RSS before and after (after GC), then waits for `stop`.
 */
import net from 'node:net';
import process from 'node:process';
import {createCore, createStore} from '../../../source/core/index.js';
import {loadApp, mountDashboard} from '../lib/dashboard.js';
import {collectGarbage, command, cpuMsSince, fail, finish, numberArg, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

const SETTLE_MS = 300;

runRole(async () => {
	const args = roleArgs();
	const kind = args.get('kind');
	const mode = args.get('mode');
	const target = numberArg(args, 'target');
	const pairs = mode === 'idle' ? numberArg(args, 'pairs') : 1;
	if (mode !== 'carry' && mode !== 'idle') {
		throw new Error(`--mode must be carry or idle, not ${mode}`);
	}

	if (kind === 'bare') {
		await bareRelay(target, mode, pairs);
	} else if (kind === 'netdash' || kind === 'dashboard') {
		await netdashRelay(target, mode, pairs, kind === 'dashboard');
	} else {
		throw new Error(`--kind must be netdash, dashboard or bare, not ${kind}`);
	}
});

/** After the last pair is up: let timers and the store settle, collect, and report what stays. */
async function reportIdle(rssBeforeKiB: number, settle: () => Record<string, unknown>): Promise<void> {
	await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
	const extra = settle();
	collectGarbage();
	report({type: 'idle', rssBeforeKiB, rssAfterKiB: statusKiB('VmRSS'), ...extra});
	await command('stop');
	finish({type: 'done'});
}

async function netdashRelay(target: number, mode: 'carry' | 'idle', pairs: number, hasDashboard: boolean): Promise<void> {
	// As many clients as the bench brings: the default limit (100 per listener) is for people.
	const core = createCore({admission: {maxConnections: pairs * 2 + 10}});
	const store = createStore(core.bus);
	let publishes = 0;
	// Something reads every snapshot, as the dashboard would.
	store.subscribe(() => {
		publishes++;
		store.getSnapshot();
	});
	const dashboard = hasDashboard ? mountDashboard(await loadApp(false), core, store, fail) : undefined;
	let start = process.cpuUsage();
	let rssBefore = 0;
	let upstreams = 0;
	// How the bytes were cut: reads on either half and writes handed to the kernel.
	let reads = 0;
	let writes = 0;
	core.bus.subscribe((event) => {
		if (event.type === 'data-received') {
			reads++;
		} else if (event.type === 'data-sent') {
			writes++;
		} else if (event.type === 'connection-opened' && event.relay !== undefined && event.origin === 'dialed') {
			upstreams++;
			if (mode === 'idle' && upstreams === pairs) {
				void reportIdle(rssBefore, () => {
					store.flush();
					return {rows: store.getSnapshot().connections.length, relays: store.getSnapshot().relays.length};
				});
			}
		} else if (event.type === 'relay-closed' && mode === 'carry') {
			if (event.reason !== 'closed') {
				fail(new Error(`relay ${event.relay} ended ${event.reason}: ${event.message ?? ''}`));
				return;
			}

			const cpuMs = cpuMsSince(start);
			store.flush();
			const frames = dashboard?.terminal.frames.length;
			finish({type: 'done', bytes: event.bytesToServer, cpuMs, peakRssKiB: statusKiB('VmHWM'), publishes, reads, writes, ...(frames === undefined ? {} : {frames})});
		} else if (event.type === 'command-failed' || event.type === 'subscriber-failed' || (event.type === 'socket-failed' && event.target.startsWith('L'))) {
			fail(new Error(`${event.type}: ${event.message}`));
		}
	}, {borrows: true});
	const port = await new Promise<number>((resolve) => {
		const unsubscribe = core.bus.subscribe((event) => {
			if (event.type === 'listener-opened') {
				unsubscribe();
				resolve(event.port);
			}
		}, {borrows: true});
		core.forward('127.0.0.1', 0, {host: '127.0.0.1', port: target});
	});
	if (dashboard) {
		await dashboard.terminal.waitForFrame(() => true, 'at all');
	}

	collectGarbage();
	rssBefore = statusKiB('VmRSS');
	start = process.cpuUsage();
	report({type: 'ready', port});
}

async function bareRelay(target: number, mode: 'carry' | 'idle', pairs: number): Promise<void> {
	let start = process.cpuUsage();
	let bytes = 0;
	let upstreams = 0;
	let rssBefore = 0;
	const server = net.createServer({allowHalfOpen: true}, (client) => {
		const upstream = net.connect({host: '127.0.0.1', port: target, allowHalfOpen: true});
		client.on('error', () => upstream.destroy());
		upstream.on('error', () => client.destroy());
		client.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
		});
		client.pipe(upstream);
		upstream.pipe(client);
		upstream.on('connect', () => {
			upstreams++;
			if (mode === 'idle' && upstreams === pairs) {
				void reportIdle(rssBefore, () => ({}));
			}
		});
		client.on('close', () => {
			if (mode === 'carry') {
				finish({type: 'done', bytes, cpuMs: cpuMsSince(start), peakRssKiB: statusKiB('VmHWM')});
			}
		});
	});
	server.maxConnections = pairs * 2 + 10;
	await new Promise<void>((resolve) => {
		server.listen({host: '127.0.0.1', port: 0, backlog: 65_535}, resolve);
	});
	collectGarbage();
	rssBefore = statusKiB('VmRSS');
	start = process.cpuUsage();
	report({type: 'ready', port: (server.address() as net.AddressInfo).port});
}
