import {execFileSync} from 'node:child_process';
import {readdirSync, readlinkSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import dnsPacket from 'dns-packet';
import {afterEach, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {makeSubnet, type Subnet} from '../helpers/subnet.js';

/**
 * Sockets that hear many hosts at once, under a burst, over a real subnet
 * of namespaces: many hosts announcing at the same moment must all be heard
 * (the socket's receive buffer holds the burst), and what the kernel still
 * drops at netdash's mDNS socket is reported as netdash's own, without the
 * drops of another program bound to the same port (as avahi is on a
 * desktop). The same for a broadcast probe that every host answers at once.
 */

const reason = whyNoNetns();
const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const MDNS_PORT = 5353;

let subnet: Subnet | undefined;
let instances: JsonChild[] = [];

afterEach(async () => {
	for (const instance of instances) {
		try {
			process.kill(instance.child.pid!, 'SIGCONT');
		} catch {
			// Gone already.
		}

		instance.child.kill('SIGKILL');
	}

	await Promise.all(instances.map(async (instance) => instance.exited));
	instances = [];
	await subnet?.remove();
	subnet = undefined;
});

function net(): Subnet {
	subnet ??= makeSubnet({tag: 'burst'});
	return subnet;
}

async function startNetdash(): Promise<JsonChild> {
	const netdash = spawnJson(['--json', '--discover-protocols', 'mdns'], {prefix: ['ip', 'netns', 'exec', net().namespaceOf('a')]});
	instances.push(netdash);
	await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
	return netdash;
}

/** The lines `child` prints, parsed, as they come; `next(what)` resolves with the next one not yet taken. */
function lines(child: ReturnType<Subnet['spawnIn']>): (what: string) => Promise<Record<string, any>> {
	const seen: Array<Record<string, any>> = [];
	let taken = 0;
	let text = '';
	let errors = '';
	let exitCode: number | null | undefined;
	const wakers = new Set<() => void>();
	const wake = () => {
		for (const waker of wakers) {
			waker();
		}
	};

	child.stderr?.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	child.stdout!.on('data', (chunk: Buffer) => {
		text += chunk.toString();
		const parts = text.split('\n');
		text = parts.pop()!;
		seen.push(...parts.map((line) => JSON.parse(line) as Record<string, any>));
		wake();
	});
	child.once('exit', (code) => {
		exitCode = code;
		wake();
	});
	return async (what) => new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			wakers.delete(check);
			reject(new Error(`${what}: nothing printed within 10 s (${JSON.stringify(seen.slice(taken))}) ${errors}`));
		}, 10_000);
		const check = () => {
			if (taken < seen.length) {
				wakers.delete(check);
				clearTimeout(timer);
				resolve(seen[taken++]!);
			} else if (exitCode !== undefined) {
				wakers.delete(check);
				clearTimeout(timer);
				reject(new Error(`${what}: exited (${exitCode}) first: ${errors}`));
			}
		};

		wakers.add(check);
		check();
	});
}

/** The first line `child` prints, parsed. */
async function firstLine(child: ReturnType<Subnet['spawnIn']>, what: string): Promise<Record<string, any>> {
	return lines(child)(what);
}

/** `count` more addresses for host `name` (.100 on), on its eth0. */
function addAddresses(name: string, count: number): string[] {
	const addresses = Array.from({length: count}, (_, index) => net().addressOf(name).replace(/\.\d+$/, `.${100 + index}`));
	for (const address of addresses) {
		execFileSync('ip', ['-n', net().namespaceOf(name), 'addr', 'add', `${address}/24`, 'dev', 'eth0']);
	}

	return addresses;
}

/** The sockets bound to `port` in host `name`'s namespace: inode and the kernel's drop count (/proc/net/udp). */
function udpSockets(name: string, port: number): Array<{inode: string; drops: number}> {
	const text = execFileSync('ip', ['netns', 'exec', net().namespaceOf(name), 'cat', '/proc/net/udp'], {encoding: 'utf8'});
	return text.split('\n').slice(1).map((line) => line.trim().split(/\s+/)).filter((fields) => fields.length >= 13 && Number.parseInt(fields[1]!.split(':')[1]!, 16) === port).map((fields) => ({inode: fields[9]!, drops: Number(fields.at(-1))}));
}

/** Inodes of the sockets process `pid` holds. */
function socketInodes(pid: number): Set<string> {
	const inodes = new Set<string>();
	for (const entry of readdirSync(`/proc/${pid}/fd`)) {
		try {
			const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${entry}`))?.[1];
			if (inode) {
				inodes.add(inode);
			}
		} catch {
			// Closed meanwhile.
		}
	}

	return inodes;
}

describe('LAN discovery under a burst, across a subnet of namespaces', () => {
	skipEachIf(reason);

	it('120 hosts announcing 4 services each at the same moment are all found, with nothing dropped by the kernel', async () => {
		// 480 services: under the browser's 512 instances.
		const hosts = 120;
		const addresses = addAddresses('b', hosts);

		const netdash = await startNetdash();
		const burst = net().spawnIn('b', [process.execPath, path.join(fixtures, 'mdns-burst.mjs'), JSON.stringify(addresses), '4']);
		expect((await firstLine(burst, 'the burst')).sent).toBe(hosts);
		// Sent once each, and nobody answers a query: a datagram the kernel dropped is a service never seen.
		const found = () => new Set(netdash.events.filter((event) => event.type === 'service-discovered' && event.protocol === 'mdns').map((event) => event.key)).size;
		await netdash.waitFor(() => found() === hosts * 4, `${hosts * 4} services`, 10_000).catch(() => {
			throw new Error(`${found()} of ${hosts * 4} services found; kernel drops ${JSON.stringify(udpSockets('a', MDNS_PORT))}`);
		});
		expect(udpSockets('a', MDNS_PORT).map((socket) => socket.drops)).toEqual([0]);
		expect(netdash.events.filter((event) => event.type === 'kernel-drops-changed' && event.socketDrops > 0)).toEqual([]);
		// Nor by netdash: an announcement asks nothing it answered itself, and our own queries coming back over the multicast
		// loopback are not charged to our address's token bucket (which a responder on this host would share).
		expect(netdash.events.filter((event) => event.type === 'packet-dropped')).toEqual([]);
	});

	it('what the kernel drops at the mDNS socket is counted as netdash\'s, not that of another program on port 5353', async () => {
		const netdash = await startNetdash();
		// A bystander joined to the group on the same port that never reads, as a stuck responder would be: the kernel drops at it too.
		const bystander = net().spawnIn('a', ['python3', '-c', [
			'import socket, struct, sys, time',
			's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
			's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
			`s.bind(("", ${MDNS_PORT}))`,
			`s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, struct.pack("4s4s", socket.inet_aton("224.0.0.251"), socket.inet_aton("${net().addressOf('a')}")))`,
			'print("{\\"ready\\": true}", flush=True)',
			'time.sleep(120)',
		].join('\n')]);
		await firstLine(bystander, 'the bystander');

		// netdash stopped, so nothing reads its socket: what does not fit in the buffer is dropped by the kernel.
		process.kill(netdash.child.pid!, 'SIGSTOP');
		const announcement = dnsPacket.encode({type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers: [{type: 'PTR', name: '_http._tcp.local', ttl: 120, data: 'flood._http._tcp.local'}]});
		const sent = 6000;
		const sender = net().spawnIn('b', [process.execPath, path.join(fixtures, 'lan-sender.mjs'), net().addressOf('b'), String(MDNS_PORT), JSON.stringify([{hex: announcement.toString('hex'), to: '224.0.0.251', port: MDNS_PORT, count: sent}])]);
		expect((await firstLine(sender, 'the sender')).sent).toBe(sent);
		// Sent is not yet arrived: read the counts once they stop moving.
		let sockets = udpSockets('a', MDNS_PORT);
		for (let settled = 0; settled < 3;) {
			await new Promise((resolve) => setTimeout(resolve, 100));
			const now = udpSockets('a', MDNS_PORT);
			settled = JSON.stringify(now) === JSON.stringify(sockets) ? settled + 1 : 0;
			sockets = now;
		}

		process.kill(netdash.child.pid!, 'SIGCONT');

		const ours = socketInodes(netdash.child.pid!);
		const split = () => {
			const now = udpSockets('a', MDNS_PORT);
			return {own: now.filter((socket) => ours.has(socket.inode)), others: now.filter((socket) => !ours.has(socket.inode))};
		};

		const before = split();
		expect(before.own).toHaveLength(1);
		expect(before.others).toHaveLength(1);
		// Both dropped: what netdash reports must be its own socket's count, not the port's.
		expect(before.own[0]!.drops).toBeGreaterThan(0);
		expect(before.others[0]!.drops).toBeGreaterThan(0);
		// Once running again it may drop a few more (its own queries loop back into a buffer still full): the report follows its socket's count.
		const last = () => netdash.events.findLast((event) => event.type === 'kernel-drops-changed');
		await netdash.waitFor(() => last()?.socketDrops === split().own[0]!.drops, 'a report of the drops at netdash\'s socket', 8000).catch(() => {
			throw new Error(`reports ${JSON.stringify(netdash.events.filter((event) => event.type === 'kernel-drops-changed'))} against ${JSON.stringify(split())}`);
		});
		const {own, others} = split();
		expect(last()!.socketDrops).toBe(own[0]!.drops);
		expect(last()!.socketDrops).toBeLessThan(own[0]!.drops + others[0]!.drops);
		expect(last()!.socketDrops).toBeLessThan(sent);
		console.log(`${sent} announcements to a stopped netdash: ${before.own[0]!.drops} dropped at its socket, ${own[0]!.drops} once running again (reported), ${others[0]!.drops} at the bystander's on the same port (not counted)`);
	});

	it('a broadcast probe that 150 hosts answer at once hears every reply; with netdash stopped, every reply is heard or counted as dropped by the kernel', async () => {
		const hosts = 150;
		const port = 9999;
		const addresses = addAddresses('b', hosts);
		const netdash = spawnJson(['--json'], {prefix: ['ip', 'netns', 'exec', net().namespaceOf('a')]});
		instances.push(netdash);
		const fixture = path.join(fixtures, 'probe-responders.mjs');

		// Every host answers twice, 1,400 bytes each: 300 datagrams in one instant, ~700 KiB as the kernel counts them.
		const burst = net().spawnIn('b', [process.execPath, fixture, JSON.stringify(addresses), String(port), '2', '1400']);
		const burstLines = lines(burst);
		expect(await burstLines('the responders')).toEqual({ready: true});
		netdash.send({cmd: 'probe-broadcast', port, text: 'who is there?', window: 2});
		const results = await netdash.waitFor((event) => event.type === 'probe-results', 'probe-results', 10_000);
		expect(await burstLines('the replies')).toEqual({sent: hosts * 2});
		expect(results).toMatchObject({replies: hosts * 2, unlisted: 0, kernelDrops: 0});
		expect(results.responders).toHaveLength(hosts);
		burst.kill('SIGKILL');

		// Stopped while they answer 8 times each (2,400 datagrams, several MiB): what the buffer cannot hold is dropped and counted.
		const stopped = net().spawnIn('b', [process.execPath, fixture, JSON.stringify(addresses), String(port + 1), '8', '1400', 'wait']);
		const stoppedLines = lines(stopped);
		expect(await stoppedLines('the responders')).toEqual({ready: true});
		netdash.send({cmd: 'probe-broadcast', port: port + 1, text: 'who is there?', window: 2});
		expect(await stoppedLines('the probe')).toEqual({got: true});
		process.kill(netdash.child.pid!, 'SIGSTOP');
		stopped.kill('SIGUSR2');
		expect(await stoppedLines('the replies')).toEqual({sent: hosts * 8});
		await new Promise((resolve) => setTimeout(resolve, 300));
		process.kill(netdash.child.pid!, 'SIGCONT');
		const counted = await netdash.waitFor((event) => event.type === 'probe-results' && event.probe === 'P2', 'P2', 10_000);
		expect(counted.kernelDrops).toBeGreaterThan(0);
		expect(counted.replies + counted.kernelDrops).toBe(hosts * 8);
		console.log(`${hosts} hosts answering a probe 8 times each while netdash was stopped: ${counted.replies} heard, ${counted.kernelDrops} dropped by the kernel (reported)`);
	});
});
