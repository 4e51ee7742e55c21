import {nofileLimits, startRole} from '../lib/child.js';
import {driver, stopDriver} from '../lib/drivers.js';
import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio} from '../lib/stats.js';
import {makeNamespace} from '../lib/tools.js';
import type {Scenario} from './context.js';

/** One burst's figures; heap figures are KiB per connection of the JavaScript heap alone. */
export type ScaleRun = {
	acceptMs: number;
	kibPerConnection: number;
	heapKiBPerConnection: number;
	connectedMs: number;
	failed: number;
	rows: number;
	overflows: number;
	/** V8's spaces at the end: committed and used KiB of each. */
	spaces: Record<string, [number, number]>;
	/** netdash's pauses to hand memory back after the burst (memory-returned), ms each; none for bare Node. */
	returnedMs: number[];
	/** The server's CPU (user + system) from ready to its last accept: steadier than the wall time on a shared machine. */
	cpuMs: number;
};

/** The server's CPU per connection while it accepted, µs, median over runs. */
export function cpuPerConnection(runs: readonly ScaleRun[], connections: number): number {
	return median(runs.map((run) => (run.cpuMs * 1000) / connections));
}

/** What a server role is: bare Node, netdash, or netdash in parts (roles/scale-server.ts). */
export type ScaleKind = 'raw' | 'netdash' | 'core' | 'nolog';

/** How the client connects (roles/scale-client.ts): from `sources` addresses of 127/8, `inFlight` handshakes at a time. */
export type ScaleClientOptions = {sources?: number; inFlight?: number; timeoutMs?: number};

/**
 * What the RSS rows say of the settling: every kind is read 2.5 s after its
 * last accept, by which time netdash has handed back what the burst grew
 * (memory-returned) in the runs that say so, with its pause.
 */
export function settled(runs: readonly ScaleRun[]): string {
	const pauses = runs.flatMap((run) => run.returnedMs);
	const returned = runs.filter((run) => run.returnedMs.length > 0).length;
	return `2.5 s after the last accept; netdash handed memory back (memory-returned) in ${returned} of ${runs.length} runs${pauses.length > 0 ? `, pause median ${formatNumber(median(pauses))} ms` : ''}`;
}

/** One burst: a fresh server, a fresh client opening every connection at once (or paced, see ScaleClientOptions). */
export async function runScale(kind: ScaleKind, connections: number, netns: string | undefined, clientOptions: ScaleClientOptions = {}): Promise<ScaleRun> {
	const nofile = connections + 1000;
	const timeoutMs = clientOptions.timeoutMs ?? 60_000;
	const server = startRole('scale-server', {kind, connections}, {nofile, nodeFlags: ['--expose-gc'], ...(netns ? {netns} : {})});
	try {
		const ready = await server.next<{type: string; port: number}>('ready');
		const client = driver('scale-client', {nofile, ...(netns ? {netns} : {})});
		let isConnected = false;
		try {
			client.send({type: 'connect', port: ready.port, connections, ...(clientOptions.sources ? {sources: clientOptions.sources} : {}), ...(clientOptions.inFlight ? {inFlight: clientOptions.inFlight} : {})});
			const connected = await client.next<{type: string; startedAt: number; connectedMs: number; failed: number; firstError?: string}>('connected', timeoutMs);
			isConnected = true;
			if (connected.failed > 0) {
				throw new Error(`${connected.failed} of ${connections} connects to the ${kind} server failed${connected.firstError ? ` (first: ${connected.firstError})` : ''}`);
			}

			const accepted = await server.next<{type: string; allAcceptedAt: number; rssBeforeKiB: number; rssAfterKiB: number; heapBeforeKiB: number; heapAfterKiB: number; rows: number; overflows: number; spaces: Record<string, [number, number]>; returnedMs: number[]; cpuMs: number}>('accepted', timeoutMs);
			return {
				acceptMs: accepted.allAcceptedAt - connected.startedAt,
				kibPerConnection: (accepted.rssAfterKiB - accepted.rssBeforeKiB) / connections,
				heapKiBPerConnection: (accepted.heapAfterKiB - accepted.heapBeforeKiB) / connections,
				connectedMs: connected.connectedMs,
				failed: connected.failed,
				rows: accepted.rows,
				overflows: accepted.overflows,
				spaces: accepted.spaces,
				returnedMs: accepted.returnedMs,
				cpuMs: accepted.cpuMs,
			};
		} finally {
			// The client resets every connection (RST), then the server goes.
			if (isConnected) {
				client.send({type: 'reset'});
				await client.next('reset-done', timeoutMs);
			}
		}
	} finally {
		await server.kill();
	}
}

/**
 * Scale: `connections` concurrent loopback connections to one netdash
 * listener (admission raised from the default 100) against a bare Node
 * server. RSS per connection after GC, and the time from the client's first
 * connect to the server's last accept. Clients close with RST so no
 * TIME_WAIT slows the next run.
 *
 * Both sides run in a network namespace of their own whose accept queue can
 * hold the whole burst (somaxconn is per namespace): with the host's 4096, a
 * burst that outruns the server overflows the queue and the time measured is
 * the kernel's SYN-ACK retry timer (1 s, then 3 s), for netdash and for bare
 * Node alike, not the cost of accepting. Without root it runs on the host and
 * says so; overflows are counted either way.
 */
export const scale: Scenario = {
	name: 'scale',
	order: 50,
	async run(context) {
		const connections = context.isQuick ? 2000 : 10_000;
		const label = `Scale ${connections.toLocaleString('en-US')} conns`;
		const limits = nofileLimits();
		if (limits && limits.hard < connections + 200) {
			const notes = `open-files hard limit ${limits.hard} < ${connections + 200} (raise ulimit -n)`;
			return [
				{scenario: `${label}, RSS`, unit: 'KiB/conn', baselineName: 'bare net', status: 'skipped', notes},
				{scenario: `${label}, accept`, unit: 'ms', baselineName: 'bare net', status: 'skipped', notes},
			];
		}

		const namespace = makeNamespace(65_535);
		const netns = typeof namespace === 'string' ? undefined : namespace.name;
		const where = typeof namespace === 'string' ? `on the host (no namespace: ${namespace}), accept queue ≤ net.core.somaxconn` : 'in a namespace with somaxconn 65535';
		const netdash: ScaleRun[] = [];
		const raw: ScaleRun[] = [];
		try {
			// The client is a driver: it must start in the namespace too.
			await stopDriver('scale-client');
			for (let index = 0; index < context.runs; index++) {
				for (const [kind, runs] of [['netdash', netdash], ['raw', raw]] as const) {
					const run = await runScale(kind, connections, netns);
					runs.push(run);
					context.progress(`scale ${index + 1}/${context.runs} ${kind}: ${run.acceptMs.toFixed(0)} ms, ${run.kibPerConnection.toFixed(2)} KiB/conn, ${run.overflows} accept-queue overflows`);
				}
			}
		} finally {
			await stopDriver('scale-client');
			if (typeof namespace !== 'string') {
				namespace.remove();
			}
		}

		const overflows = (runs: readonly ScaleRun[]) => runs.reduce((sum, run) => sum + run.overflows, 0);

		const memory = (runs: readonly ScaleRun[]) => runs.map((run) => run.kibPerConnection);
		const accept = (runs: readonly ScaleRun[]) => runs.map((run) => run.acceptMs);
		const rows: Row[] = [
			judge({
				scenario: `${label}, RSS`,
				unit: 'KiB/conn',
				netdash: median(memory(netdash)),
				baseline: median(memory(raw)),
				baselineName: 'bare net',
				ratio: pairedRatio(memory(netdash), memory(raw)),
				target: {on: 'ratio', op: '<=', value: 2},
				notes: `after GC, ${settled(netdash)}; store rows ${formatNumber(median(netdash.map((run) => run.rows)))}`,
				samples: {netdash: memory(netdash), baseline: memory(raw)},
			}),
			judge({
				scenario: `${label}, accept`,
				unit: 'ms',
				netdash: median(accept(netdash)),
				baseline: median(accept(raw)),
				baselineName: 'bare net',
				ratio: pairedRatio(accept(netdash), accept(raw)),
				target: {on: 'ratio', op: '<=', value: 1.5},
				notes: `first connect → last accept, ${where}; accept-queue overflows ${overflows(netdash)} vs ${overflows(raw)}; server CPU ${formatNumber(cpuPerConnection(netdash, connections))} vs ${formatNumber(cpuPerConnection(raw, connections))} µs per connection`,
				samples: {netdash: accept(netdash), baseline: accept(raw)},
			}),
		];
		return rows;
	},
};
