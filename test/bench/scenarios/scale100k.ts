import {nofileCeiling} from '../lib/child.js';
import {isDashboardBuilt} from '../lib/dashboard.js';
import {stopDriver} from '../lib/drivers.js';
import {judge, formatNumber, type Row} from '../lib/report.js';
import {median, pairedRatio, percentile} from '../lib/stats.js';
import {makeNamespace} from '../lib/tools.js';
import type {Scenario} from './context.js';
import {measureRows, rowsKeyRow} from './dashboard.js';
import {cpuPerConnection, runScale, settled, type ScaleKind, type ScaleRun} from './scale.js';

/** Source addresses of 127.0.0.0/8 the client spreads over: a few hundred connections each, far from any port range's end. */
const SOURCES = 1000;

/** Handshakes the client keeps outstanding: the accept queue (65535) never fills, and neither does the client's memory. */
const IN_FLIGHT = 4000;

/**
 * Scale ×10: 100,000 concurrent connections to one listener (issue 18,
 * point 1), from clients bound to 1,000 addresses of 127.0.0.0/8 so that no
 * address runs out of ephemeral ports, paced at 4,000 handshakes in flight.
 * In a namespace of its own with somaxconn 65535 and every port from 1024
 * up; the processes get 101,000 open files (as root, prlimit raises the hard
 * limit too, up to fs.nr_open).
 *
 * Rows: RSS per connection after GC and first connect → last accept, netdash
 * against a bare Node server in alternating runs (as the 10,000 scenario,
 * scale.ts). Where netdash's memory goes is measured with it taken apart in
 * the same rounds: the core alone (connection objects), the core and a store
 * with no log budget (the store's rows), and the whole (the log). Then the
 * dashboard with 100,000 rows in the Connections pane: `j`/`k` → next frame,
 * and `/` typing an id that matches 11 rows, last key → the frame that
 * counts them. Where the open-files limit caps the burst, those 100,000 rows
 * still come from as many real connections, in waves as large as the burst:
 * each wave is reset by its client once netdash has accepted it (its rows stay,
 * closed), and the last stays open.
 */
export const scale100k: Scenario = {
	name: 'scale100k',
	order: 70,
	async run(context) {
		const wanted = context.scaled(100_000, 10_000);
		// One process holds every connection of a burst: where the open-files limit cannot rise that far
		// (a container without CAP_SYS_RESOURCE), the burst is as large as the limit allows, below the
		// 90 % at which the core warns (resource-exhausted), and the rows say so.
		const ceiling = nofileCeiling();
		const connections = ceiling >= wanted + 1000 ? wanted : Math.floor((ceiling * 0.85) / 1000) * 1000;
		const limited = connections < wanted ? `; ${wanted.toLocaleString('en-US')} need ${(wanted + 1000).toLocaleString('en-US')} open files in one process and this one may have ${ceiling.toLocaleString('en-US')} (the hard limit, not raisable without CAP_SYS_RESOURCE)` : '';
		const label = `Scale ${connections.toLocaleString('en-US')} conns`;
		// The dashboard's rows need no more open files than a burst: the connections come in waves (measureRows).
		const rowsLabel = `${wanted.toLocaleString('en-US')} rows`;
		const waves = connections < wanted ? `; ${wanted.toLocaleString('en-US')} connections in waves of ${connections.toLocaleString('en-US')} (each reset by its client once accepted, so its rows stay as closed ones; the last wave open): no more open at once than the limit allows` : '';
		const skipped = (notes: string): Row[] => [
			{scenario: `${label}, RSS`, unit: 'KiB/conn', baselineName: 'bare net', target: {on: 'ratio', op: '<=', value: 1.5}, status: 'skipped', notes},
			{scenario: `${label}, accept`, unit: 'ms', baselineName: 'bare net', target: {on: 'ratio', op: '<=', value: 1.25}, status: 'skipped', notes},
			{scenario: `${rowsLabel}: key → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 50}, status: 'skipped', notes},
			{scenario: `${rowsLabel}: / filter → frame`, unit: 'ms', target: {on: 'netdash', op: '<=', value: 100}, status: 'skipped', notes},
		];
		if (connections < 1000) {
			return skipped(`open-files limit can reach ${ceiling} (raise ulimit -Hn)`);
		}

		// Both sides of 100,000 connections are in one namespace: 200,000 sockets, and the ports of all of them.
		const namespace = makeNamespace(65_535, {portRange: [1024, 65_535]});
		if (typeof namespace === 'string') {
			return skipped(`needs a network namespace (${namespace}): the host's accept queue and port range do not hold the burst`);
		}

		const client = {sources: SOURCES, inFlight: IN_FLIGHT, timeoutMs: 300_000};
		const kinds: ScaleKind[] = ['netdash', 'raw', 'core', 'nolog'];
		const runs = new Map<ScaleKind, ScaleRun[]>(kinds.map((kind) => [kind, []]));
		let rows: Row[] = [];
		try {
			await stopDriver('scale-client');
			for (let index = 0; index < context.runs; index++) {
				// Alternate which goes first, so neither always meets the machine just after the other.
				const order = index % 2 === 0 ? kinds : [...kinds].reverse();
				for (const kind of order) {
					const run = await runScale(kind, connections, namespace.name, client);
					runs.get(kind)!.push(run);
					context.progress(
						`scale100k ${index + 1}/${context.runs} ${kind}: ${run.acceptMs.toFixed(0)} ms, ${run.kibPerConnection.toFixed(2)} KiB/conn (heap ${run.heapKiBPerConnection.toFixed(2)}), ${run.overflows} accept-queue overflows`,
					);
					context.progress(`  V8 spaces, KiB committed/used: new ${run.spaces['new_space']?.join('/')}, old ${run.spaces['old_space']?.join('/')}, large objects ${run.spaces['large_object_space']?.join('/')}`);
				}
			}

			rows = memoryAndAcceptRows(label, connections, runs, limited);
			if (!isDashboardBuilt() && !context.isStub) {
				return [...rows, ...skipped('dist/ui/app.js is not built yet').slice(2)];
			}

			const measured = await measureRows(context, wanted, context.isQuick ? 30 : 100, {netns: namespace.name, ...client, filterTrials: context.isQuick ? 3 : 10, timeoutMs: 600_000, wave: connections});
			const keyRow = rowsKeyRow(wanted, measured);
			rows.push({...keyRow, notes: `${keyRow.notes ?? ''}${waves}`}, filterRow(rowsLabel, measured.filter, waves));
			return rows;
		} finally {
			await stopDriver('scale-client');
			namespace.remove();
		}
	},
};

function memoryAndAcceptRows(label: string, connections: number, runs: ReadonlyMap<ScaleKind, readonly ScaleRun[]>, limited: string): Row[] {
	const of = (kind: ScaleKind) => runs.get(kind) ?? [];
	const memory = (kind: ScaleKind) => of(kind).map((run) => run.kibPerConnection);
	const heap = (kind: ScaleKind) => median(of(kind).map((run) => run.heapKiBPerConnection));
	const accept = (kind: ScaleKind) => of(kind).map((run) => run.acceptMs);
	const overflows = (kind: ScaleKind) => of(kind).reduce((sum, run) => sum + run.overflows, 0);
	// Each part is the difference between two medians: RSS, then the JavaScript heap alone.
	const rss = (kind: ScaleKind) => median(memory(kind));
	const bytes = (kib: number) => `${formatNumber(kib * 1024)} B`;
	const split =
		`per connection over bare Node: connection object (core alone) ${bytes(rss('core') - rss('raw'))} RSS / ${bytes(heap('core') - heap('raw'))} heap, ` +
		`store row ${bytes(rss('nolog') - rss('core'))} / ${bytes(heap('nolog') - heap('core'))}, ` +
		`log ${bytes(rss('netdash') - rss('nolog'))} / ${bytes(heap('netdash') - heap('nolog'))}`;
	return [
		judge({
			scenario: `${label}, RSS`,
			unit: 'KiB/conn',
			netdash: rss('netdash'),
			baseline: rss('raw'),
			baselineName: 'bare net',
			ratio: pairedRatio(memory('netdash'), memory('raw')),
			target: {on: 'ratio', op: '<=', value: 1.5},
			notes: `after GC, ${settled(of('netdash'))}; store rows ${formatNumber(median(of('netdash').map((run) => run.rows)))}; ${split}${limited}`,
			samples: {netdash: memory('netdash'), baseline: memory('raw')},
			details: {core: memory('core'), nolog: memory('nolog'), heapKiBPerConnection: Object.fromEntries([...runs].map(([kind, list]) => [kind, list.map((run) => run.heapKiBPerConnection)]))},
		}),
		judge({
			scenario: `${label}, accept`,
			unit: 'ms',
			netdash: median(accept('netdash')),
			baseline: median(accept('raw')),
			baselineName: 'bare net',
			ratio: pairedRatio(accept('netdash'), accept('raw')),
			target: {on: 'ratio', op: '<=', value: 1.25},
			notes: `first connect → last accept, from ${SOURCES} addresses of 127/8, ${IN_FLIGHT} handshakes in flight, in a namespace with somaxconn 65535; accept-queue overflows ${overflows('netdash')} vs ${overflows('raw')}; core alone ${formatNumber(median(accept('core')))} ms; server CPU ${formatNumber(cpuPerConnection(of('netdash'), connections))} vs ${formatNumber(cpuPerConnection(of('raw'), connections))} µs per connection (core alone ${formatNumber(cpuPerConnection(of('core'), connections))})${limited}`,
			samples: {netdash: accept('netdash'), baseline: accept('raw')},
		}),
	];
}

function filterRow(label: string, filter: {text: string; matches: number; lastKey: number[]; everyKey: number[]; unanswered: number} | undefined, limited: string): Row {
	const lastKey = filter?.lastKey ?? [];
	return judge({
		scenario: `${label}: / filter → frame`,
		unit: 'ms',
		netdash: median(lastKey),
		target: {on: 'netdash', op: '<=', value: 100},
		notes: filter
			? `median of ${lastKey.length} trials of /${filter.text} (${filter.matches} rows match), last key → the frame counting them; max ${formatNumber(Math.max(...lastKey))} ms; every key (each filters all rows) p50 ${formatNumber(percentile(filter.everyKey, 50))}, p99 ${formatNumber(percentile(filter.everyKey, 99))} ms${filter.unanswered > 0 ? `; ${filter.unanswered} keys drew nothing` : ''}${limited}`
			: 'not measured',
		...(!filter || filter.unanswered > 0 ? {status: 'fail' as const} : {}),
		samples: {netdash: lastKey},
	});
}
