import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import process from 'node:process';
import {afterEach, describe, expect, it} from 'vitest';
import {eventErrors} from '../../source/core/schema/validate.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {skipEachIf, whyNoNetns} from '../helpers/requires.js';

/**
 * `probe-broadcast` on a subnet of network namespaces on a bridge, all made
 * (and removed) by this test: netdash in `a` broadcasts one datagram, UDP
 * responders in `b`, `c` and `d` answer it (the one in `c` twice), and
 * every reply within the window is collected. The broadcast stays on the
 * test bridge.
 */

const prefix = `nd-probe-${process.pid}`;
const subnet = `10.77.${(process.pid % 250) + 1}`;
const hosts = ['a', 'b', 'c', 'd'] as const;
type Host = typeof hosts[number];
const addressOf = (host: Host) => `${subnet}.${hosts.indexOf(host) + 1}`;
const namespaceOf = (name: string) => `${prefix}-${name}`;
const port = 9999;
const reason = whyNoNetns();

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

let madeNamespaces: string[] = [];
let children: ChildProcess[] = [];
let instances: JsonChild[] = [];

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
		ip('-n', namespace, 'addr', 'add', `${addressOf(host)}/24`, 'brd', '+', 'dev', 'eth0');
		ip('-n', namespace, 'link', 'set', 'eth0', 'up');
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
	}
}

/** A UDP responder on 0.0.0.0:`port` in `host`'s namespace that answers every datagram `times` times; resolves once bound. */
async function startResponder(host: Host, times: number): Promise<void> {
	const script = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>{for(let i=0;i<${times};i++)s.send(Buffer.from('I am ${host} \\u001b[2J'),r.port,r.address)});s.bind(${port},'0.0.0.0',()=>console.log('bound'))`;
	const child = spawn('ip', ['netns', 'exec', namespaceOf(host), process.execPath, '-e', script], {stdio: ['ignore', 'pipe', 'inherit']});
	children.push(child);
	await new Promise<void>((resolve, reject) => {
		child.stdout!.once('data', () => {
			resolve();
		});
		child.once('exit', (code) => {
			reject(new Error(`responder in ${host} exited with ${code}`));
		});
	});
}

afterEach(async () => {
	for (const instance of instances) {
		instance.child.kill('SIGKILL');
	}

	for (const child of children) {
		child.kill('SIGKILL');
	}

	await Promise.all([
		...instances.map(async (instance) => instance.exited),
		...children.map(async (child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)),
	]);
	instances = [];
	children = [];
	for (const name of madeNamespaces) {
		try {
			ip('netns', 'del', name);
		} catch {
			// Already gone.
		}
	}

	madeNamespaces = [];
});

describe('a broadcast probe collects every answer on a subnet of namespaces', () => {
	skipEachIf(reason);

	it('one datagram to the subnet broadcast gets three responders, each once with its round trip, the one that answered twice counted twice', async () => {
		makeSubnet();
		await Promise.all([startResponder('b', 1), startResponder('c', 2), startResponder('d', 1)]);
		const netdash = spawnJson(['--json'], {prefix: ['ip', 'netns', 'exec', namespaceOf('a')]});
		instances.push(netdash);

		// With no address: every interface's directed broadcast (here eth0's), for a 1 s window
		const sentAt = Date.now();
		netdash.send({cmd: 'probe-broadcast', port, text: 'who is there?', window: 1, ref: 'p'});
		const results = await netdash.waitFor((event) => event.type === 'probe-results', 'probe-results', 10_000);
		expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1000 - 50);
		expect(results).toMatchObject({probe: 'P1', targets: [{address: `${subnet}.255`, port}], bytes: 13, windowMs: 1000, replies: 4, unlisted: 0, refused: 0, ref: 'p'});
		const byAddress = Object.fromEntries((results.responders as Array<Record<string, any>>).map((row) => [row.from.address, row]));
		expect(Object.keys(byAddress).sort()).toEqual([addressOf('b'), addressOf('c'), addressOf('d')]);
		expect(byAddress[addressOf('c')]).toMatchObject({from: {port}, replies: 2, bytes: 11});
		expect(byAddress[addressOf('b')]).toMatchObject({replies: 1});
		for (const row of results.responders as Array<Record<string, any>>) {
			expect(row.rttMs).toBeGreaterThan(0);
			expect(row.rttMs).toBeLessThan(1000);
			expect(Buffer.from(row.base64 as string, 'base64').toString()).toMatch(/^I am [bcd] \u001B\[2J$/);
		}

		expect(eventErrors(results)).toEqual([]);

		// Named: the subnet's broadcast address given, and a second probe gets the next id
		netdash.send({cmd: 'probe-broadcast', host: `${subnet}.255`, port, text: 'again', window: 0.5});
		const second = await netdash.waitFor((event) => event.type === 'probe-results' && event.probe === 'P2', 'P2', 10_000);
		expect(second).toMatchObject({targets: [{address: `${subnet}.255`, port}], replies: 4});
		expect(second.responders).toHaveLength(3);
	});

	it('--deny applies to the replies: a denied responder is counted as refused, never listed, and its bytes never reach the event', async () => {
		makeSubnet();
		await Promise.all([startResponder('b', 1), startResponder('c', 2), startResponder('d', 1)]);
		const netdash = spawnJson(['--json', '--deny', `${addressOf('c')}/32`], {prefix: ['ip', 'netns', 'exec', namespaceOf('a')]});
		instances.push(netdash);
		netdash.send({cmd: 'probe-broadcast', port, text: 'who is there?', window: 1});
		const results = await netdash.waitFor((event) => event.type === 'probe-results', 'probe-results', 10_000);
		expect(results).toMatchObject({replies: 2, refused: 2, unlisted: 0});
		expect((results.responders as Array<Record<string, any>>).map((row) => row.from.address).sort()).toEqual([addressOf('b'), addressOf('d')]);
		expect(eventErrors(results)).toEqual([]);

		// Changed while running: allow only d, and b is refused too
		netdash.send({cmd: 'admission', allow: [`${addressOf('d')}/32`], ref: 'rules'});
		await netdash.waitFor((event) => event.type === 'admission-changed', 'admission-changed');
		netdash.send({cmd: 'probe-broadcast', port, text: 'again', window: 0.5});
		const second = await netdash.waitFor((event) => event.type === 'probe-results' && event.probe === 'P2', 'P2', 10_000);
		expect(second).toMatchObject({replies: 1, refused: 3});
		expect((second.responders as Array<Record<string, any>>).map((row) => row.from.address)).toEqual([addressOf('d')]);
	});

	it('a probe to a port nobody answers on reports no responders, and netdash goes on', async () => {
		makeSubnet();
		const netdash = spawnJson(['--json'], {prefix: ['ip', 'netns', 'exec', namespaceOf('a')]});
		instances.push(netdash);
		netdash.send({cmd: 'probe-broadcast', port: port + 1, hex: '00 01', window: 0.3});
		const results = await netdash.waitFor((event) => event.type === 'probe-results', 'probe-results', 10_000);
		expect(results).toMatchObject({bytes: 2, replies: 0, responders: []});
		netdash.send({cmd: 'listen', port: 0});
		await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
	});
});
