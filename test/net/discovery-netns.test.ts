import {execFileSync} from 'node:child_process';
import process from 'node:process';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {skipEachIf, whyNoNetns} from '../helpers/requires.js';

/**
 * A real subnet: three network namespaces, each with one veth into a bridge
 * that lives in a fourth, on a private test subnet. Only addresses inside
 * these namespaces are ever targets. Needs root (CI runs as root); skipped
 * with a printed reason otherwise.
 */

const INTERVAL_S = 0.5;
const prefix = `nd-${process.pid}`;
const subnet = `10.77.${(process.pid % 250) + 1}`;
const hosts = ['a', 'b', 'c'] as const;
type Host = typeof hosts[number];
const addressOf = (host: Host) => `${subnet}.${hosts.indexOf(host) + 1}`;
const namespaceOf = (name: string) => `${prefix}-${name}`;

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

/** Why the test cannot run here, or undefined when it can. */
const reason = whyNoNetns();

let madeNamespaces: string[] = [];

function removeNamespaces(): void {
	for (const name of madeNamespaces) {
		try {
			ip('netns', 'del', name);
		} catch {
			// Already gone.
		}
	}

	madeNamespaces = [];
}

/** The bridge in its own namespace; one veth per host, the host's end named eth0. */
function makeSubnet(): void {
	const bridge = namespaceOf('br');
	for (const name of [bridge, ...hosts.map((host) => namespaceOf(host))]) {
		ip('netns', 'add', name);
		madeNamespaces.push(name);
	}

	ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
	ip('-n', bridge, 'link', 'set', 'br0', 'up');
	for (const host of hosts) {
		const namespace = namespaceOf(host);
		ip('-n', bridge, 'link', 'add', `v${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
		ip('-n', bridge, 'link', 'set', `v${host}`, 'master', 'br0');
		ip('-n', bridge, 'link', 'set', `v${host}`, 'up');
		// `brd +`: without a broadcast address the kernel treats x.y.z.255 as a unicast neighbour.
		ip('-n', namespace, 'addr', 'add', `${addressOf(host)}/24`, 'brd', '+', 'dev', 'eth0');
		ip('-n', namespace, 'link', 'set', 'eth0', 'up');
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
	}
}

type Instance = JsonChild & {host: Host};

let instances: Instance[] = [];

/** The real CLI inside a host's namespace: `ip netns exec NS node dist/bin/cli.js --json --discover …`. */
function startNetdash(host: Host): Instance {
	const instance: Instance = {
		...spawnJson(['--json', '--discover', '--discover-interval', String(INTERVAL_S), '--name', `host-${host}`], {prefix: ['ip', 'netns', 'exec', namespaceOf(host)]}),
		host,
	};
	instances.push(instance);
	return instance;
}

async function stopAll(): Promise<void> {
	for (const instance of instances) {
		instance.child.kill('SIGKILL');
	}

	await Promise.all(instances.map(async (instance) => instance.exited));
	instances = [];
}

/** Start netdash on all three hosts and wait until each has discovered the other two. */
async function startAndDiscover(): Promise<{all: Instance[]; ids: Map<Host, string>; startedAt: number}> {
	const startedAt = performance.now();
	const all = hosts.map((host) => startNetdash(host));
	const ids = new Map<Host, string>();
	for (const instance of all) {
		const started = await instance.waitFor((event) => event.type === 'discovery-started', 'discovery-started');
		ids.set(instance.host, started.instanceId as string);
	}

	for (const instance of all) {
		for (const other of hosts.filter((host) => host !== instance.host)) {
			await instance.waitFor((event) => event.type === 'peer-discovered' && event.instanceId === ids.get(other), `peer host-${other}`, 5000);
		}
	}

	return {all, ids, startedAt};
}

describe('discovery across a real subnet of network namespaces', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			makeSubnet();
		}
	});

	afterEach(async () => {
		await stopAll();
		removeNamespaces();
	});

	afterAll(async () => {
		await stopAll();
		removeNamespaces();
	});

	it('every instance discovers the other two within a few seconds, by directed broadcast', async () => {
		const {all, ids, startedAt} = await startAndDiscover();

		for (const instance of all) {
			const started = instance.events.find((event) => event.type === 'discovery-started')!;
			// Default targets: the directed broadcast of the one non-loopback interface.
			expect(started.targets).toEqual([{address: `${subnet}.255`, port: 47_474}]);
			const times: string[] = [];
			for (const other of hosts.filter((host) => host !== instance.host)) {
				const peer = instance.events.find((event) => event.type === 'peer-discovered' && event.instanceId === ids.get(other))!;
				expect(peer).toMatchObject({name: `host-${other}`, address: addressOf(other), port: 47_474, state: 'fresh'});
				times.push(`host-${other} after ${(peer.at as number) - (started.at as number)} ms`);
			}

			console.log(`host-${instance.host} (${addressOf(instance.host)}) found ${times.join(', ')}`);
		}

		console.log(`all three instances knew each other ${(performance.now() - startedAt).toFixed(0)} ms after the first was spawned`);
		// Probes were answered by unicast replies: round trips were measured.
		await all[0]!.waitFor((event) => (event.type === 'peer-discovered' || event.type === 'peer-updated') && event.rttMs !== null, 'a peer with a round trip');
	});

	it('an instance that quits says bye, and the others remove it at once', async () => {
		const {all, ids} = await startAndDiscover();
		const [a, b, c] = all as [Instance, Instance, Instance];

		const quitAt = Date.now();
		c.send({cmd: 'quit'});
		const leftOnA = await a.waitFor((event) => event.type === 'peer-left' && event.instanceId === ids.get('c'), 'peer-left for host-c');
		const leftOnB = await b.waitFor((event) => event.type === 'peer-left' && event.instanceId === ids.get('c'), 'peer-left for host-c');
		expect(leftOnA.reason).toBe('bye');
		expect(leftOnB.reason).toBe('bye');
		expect(await c.exited).toBe(0);
		const delays = [leftOnA, leftOnB].map((event) => (event.at as number) - quitAt);
		console.log(`bye: host-c removed on host-a after ${delays[0]} ms and on host-b after ${delays[1]} ms (interval ${INTERVAL_S * 1000} ms)`);
		for (const delay of delays) {
			expect(delay).toBeLessThan(INTERVAL_S * 1000);
		}

		// No expiry followed: it was gone at once.
		expect(a.events.some((event) => event.type === 'peer-expired')).toBe(false);
	});

	it('an instance killed with SIGKILL goes stale, then expired after three intervals', async () => {
		const {all, ids} = await startAndDiscover();
		const [a, b] = all as [Instance, Instance, Instance];
		const lastAnnounce = () => (a.events.filter((event) => event.instanceId === ids.get('b') && (event.type === 'peer-updated' || event.type === 'peer-discovered')).at(-1)!.lastSeen as number);

		const killedAt = Date.now();
		b.child.kill('SIGKILL');
		expect(await b.exited).toBe('SIGKILL');
		const stale = await a.waitFor((event) => event.type === 'peer-updated' && event.instanceId === ids.get('b') && event.state === 'stale', 'host-b stale', 5000);
		const expired = await a.waitFor((event) => event.type === 'peer-expired' && event.instanceId === ids.get('b'), 'host-b expired', 5000);
		const heardLast = lastAnnounce();
		console.log(`SIGKILL: host-b stale on host-a ${(stale.at as number) - killedAt} ms after the kill, expired ${(expired.at as number) - killedAt} ms after (${Math.round((expired.at as number) - heardLast)} ms after it was last heard; interval ${INTERVAL_S * 1000} ms)`);
		expect(stale.seq).toBeLessThan(expired.seq);
		expect((expired.at as number) - heardLast).toBeGreaterThanOrEqual(3 * INTERVAL_S * 1000);
		// 3.5 intervals after it was last heard (before the kill), plus slack for a loaded machine.
		expect((expired.at as number) - killedAt).toBeLessThanOrEqual(5 * INTERVAL_S * 1000);
		// The third instance saw the same, and host-a still knows host-c.
		await all[2]!.waitFor((event) => event.type === 'peer-expired' && event.instanceId === ids.get('b'), 'host-b expired on host-c', 5000);
		expect(a.events.some((event) => event.type === 'peer-expired' && event.instanceId === ids.get('c'))).toBe(false);
	});
});
