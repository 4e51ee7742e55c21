import {spawnSync} from 'node:child_process';
import process from 'node:process';
import {startRole} from '../lib/child.js';
import {isDashboardBuilt} from '../lib/dashboard.js';
import {formatNumber, judge, type Row} from '../lib/report.js';
import {percentile} from '../lib/stats.js';
import {hasTool} from '../lib/tools.js';
import type {Scenario} from './context.js';

/**
 * LAN discovery under load (issue 15, point 8): netdash's dashboard in
 * namespace `a` browses mDNS while synthetic responders in namespace `b` —
 * 125 addresses on one veth, each a host with 4 services — announce 500
 * `_http._tcp` services and update every one of them every 2 s (250
 * `service-updated` events a second). With the Discovery pane focused:
 * keys (`j`/`k`, timed to the frame whose cursor moved) and event → frame,
 * against the dashboard's targets. Needs root (namespaces); every
 * multicast stays on the bench's bridge.
 */

const perSource = 4;
const intervalMs = 2000;

type Measured = {
	populatedMs: number;
	services: number;
	hosts: number;
	eventsPerSecond: number;
	framesPerSecond: number;
	eventToFrame: number[];
	/** To the first frame written after it, even when the event changed nothing on screen. */
	eventToWrite: number[];
	unseen: number;
	keyLatencies: number[];
	unanswered: number;
	cpuPercent: number;
	loopDelayMs: {p99: number; max: number};
	peakRssKiB: number;
	dropped: Record<string, number>;
};

/** The namespaces: a bridge, `a` (netdash) and `b` (the announcers, `sources` addresses). */
function makeSubnet(sources: number): {a: string; b: string; subnet: string; remove(): void} | string {
	if (process.getuid?.() !== 0) {
		return 'not root';
	}

	if (!hasTool('ip')) {
		return 'no ip (apt-get install iproute2)';
	}

	const prefix = `nd-bench-lan-${process.pid}`;
	const [bridge, a, b] = ['br', 'a', 'b'].map((name) => `${prefix}-${name}`) as [string, string, string];
	const subnet = `10.75.${(process.pid % 250) + 1}`;
	const remove = () => {
		for (const name of [bridge, a, b]) {
			spawnSync('ip', ['netns', 'delete', name]);
		}
	};

	const run = (...args: string[]) => {
		const result = spawnSync('ip', args, {encoding: 'utf8'});
		if (result.status !== 0) {
			throw new Error(`ip ${args.join(' ')}: ${result.stderr.trim()}`);
		}
	};

	try {
		for (const name of [bridge, a, b]) {
			run('netns', 'add', name);
		}

		run('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
		run('-n', bridge, 'link', 'set', 'br0', 'up');
		for (const [host, namespace] of [['a', a], ['b', b]] as const) {
			run('-n', bridge, 'link', 'add', `v${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
			run('-n', bridge, 'link', 'set', `v${host}`, 'master', 'br0');
			run('-n', bridge, 'link', 'set', `v${host}`, 'up');
			// IPv4 only, as the test helpers' subnets are (test/helpers/subnet.ts): with IPv6 on, the browser's
			// first query to ff02::fb can find the link-local address still tentative (duplicate address
			// detection, ~1 s) and fail with EADDRNOTAVAIL on some kernels.
			const sysctl = spawnSync('ip', ['netns', 'exec', namespace, 'sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=1'], {encoding: 'utf8'});
			if (sysctl.status !== 0) {
				throw new Error(`sysctl disable_ipv6 in ${namespace}: ${sysctl.stderr.trim()}`);
			}

			run('-n', namespace, 'link', 'set', 'eth0', 'up');
			run('-n', namespace, 'link', 'set', 'lo', 'up');
			run('-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
		}

		run('-n', a, 'addr', 'add', `${subnet}.1/24`, 'brd', '+', 'dev', 'eth0');
		for (let index = 0; index < sources; index++) {
			run('-n', b, 'addr', 'add', `${subnet}.${10 + index}/24`, 'brd', '+', 'dev', 'eth0');
		}
	} catch (error) {
		remove();
		return error instanceof Error ? error.message : String(error);
	}

	return {a, b, subnet, remove};
}

/** See the module comment. */
export const lan: Scenario = {
	name: 'lan',
	async run(context) {
		const services = 500;
		const seconds = context.isQuick ? 3 : 10;
		const label = `LAN ${services} services, Discovery pane`;
		const keysRow = {scenario: `${label}: key → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 50}} as const;
		const framesRow = {scenario: `${label}: event → frame`, unit: 'ms p99', target: {on: 'netdash', op: '<=', value: 100}} as const;
		if (!isDashboardBuilt() && !context.isStub) {
			return [keysRow, framesRow].map((row) => ({...row, status: 'waiting for the dashboard' as const, notes: 'dist/ui/app.js is not built yet'}));
		}

		const subnet = makeSubnet(services / perSource);
		if (typeof subnet === 'string') {
			return [keysRow, framesRow].map((row) => ({...row, status: 'skipped' as const, notes: `needs network namespaces: ${subnet}`}));
		}

		try {
			const announcers = startRole('mdns-announcers', {sources: services / perSource, 'per-source': perSource, 'interval-ms': intervalMs, subnet: subnet.subnet}, {netns: subnet.b});
			try {
				await announcers.next('ready');
				const dashboard = startRole('lan-dashboard', {services, seconds, stub: context.isStub}, {netns: subnet.a, env: {NODE_ENV: 'production', FORCE_COLOR: '3'}});
				try {
					const measured = await dashboard.next<Measured & {type: string}>('measured', 150_000);
					context.progress(`lan: ${measured.services} services on ${measured.hosts} hosts in ${measured.populatedMs.toFixed(0)} ms; key p99 ${percentile(measured.keyLatencies, 99).toFixed(0)} ms; event→frame p99 ${percentile(measured.eventToFrame, 99).toFixed(0)} ms`);
					const load = `${formatNumber(measured.eventsPerSecond)} service events/s, ${formatNumber(measured.framesPerSecond)} frames/s, CPU ${formatNumber(measured.cpuPercent)} % of a core, loop delay p99 ${formatNumber(measured.loopDelayMs.p99)} ms, peak RSS ${formatNumber(measured.peakRssKiB / 1024)} MiB`;
					return [
						judge({
							...keysRow,
							netdash: percentile(measured.keyLatencies, 99),
							notes: `j/k ×${measured.keyLatencies.length} in ${seconds} s, p50 ${formatNumber(percentile(measured.keyLatencies, 50))} ms; ${measured.services} of ${services} services on ${measured.hosts} hosts at the end, 95 % in after ${formatNumber(measured.populatedMs)} ms; announcements dropped ${JSON.stringify(measured.dropped)}${measured.unanswered > 0 ? `; ${measured.unanswered} keys drew nothing` : ''}`,
							...(measured.unanswered > 0 ? {status: 'fail' as const} : {}),
							samples: {netdash: measured.keyLatencies},
						}),
						judge({
							...framesRow,
							netdash: percentile(measured.eventToFrame, 99),
							notes: `p50 ${formatNumber(percentile(measured.eventToFrame, 50))} ms over ${measured.eventToFrame.length} events${measured.unseen > 0 ? ` (${measured.unseen} not yet drawn at the end)` : ''}; to the next frame written, changed or not: p99 ${formatNumber(percentile(measured.eventToWrite, 99))} ms; ${load}`,
						}),
					];
				} finally {
					await dashboard.kill();
				}
			} finally {
				await announcers.kill();
			}
		} finally {
			subnet.remove();
		}
	},
};
