import {execFileSync, type ChildProcess} from 'node:child_process';
import process from 'node:process';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {avahiHostName, removeAvahi, startAvahi as spawnAvahi, type Avahi} from '../helpers/avahi.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {makeSubnet, type Subnet} from '../helpers/subnet.js';

/**
 * mDNS and Syncthing discovery on a real subnet: network namespaces on a
 * bridge in a namespace of their own, all made (and removed) by this test
 * (test/helpers/subnet.ts). The mDNS responder is the real avahi-daemon from
 * Debian, started inside a namespace (test/helpers/avahi.ts). Every
 * multicast and broadcast stays on the test bridge. IPv4 only here; IPv6
 * has its own subnet in mdns-ipv6-netns.test.ts.
 */

const reason = whyNoNetns() ?? missingTool('avahi-daemon');

let subnet: Subnet | undefined;
let instances: JsonChild[] = [];
let avahis: Avahi[] = [];

function net(): Subnet {
	if (!subnet) {
		throw new Error('no subnet');
	}

	return subnet;
}

const addressOf = (host: string) => net().addressOf(host);

/** avahi-daemon in host b's namespace, publishing a printer and a NAS. */
function startAvahi(): ChildProcess {
	const avahi = spawnAvahi(net(), 'b');
	avahis.push(avahi);
	return avahi.child;
}

function startNetdash(args: string[]): JsonChild {
	const instance = spawnJson(['--json', ...args], {prefix: ['ip', 'netns', 'exec', net().namespaceOf('a')]});
	instances.push(instance);
	return instance;
}

async function exited(child: ChildProcess): Promise<void> {
	if (child.exitCode === null && child.signalCode === null) {
		await new Promise((resolve) => child.once('exit', resolve));
	}
}

async function cleanUp(): Promise<void> {
	for (const instance of instances) {
		instance.child.kill('SIGKILL');
	}

	await Promise.all(instances.map(async (instance) => instance.exited));
	instances = [];
	await subnet?.remove();
	subnet = undefined;
	for (const avahi of avahis) {
		removeAvahi(avahi);
	}

	avahis = [];
}

const isService = (event: Record<string, any>, type: string, name: string) => event.type === type && event.name === name;

describe('LAN services across a real subnet of network namespaces', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			subnet = makeSubnet({tag: 'lan'});
		}
	});

	afterEach(cleanUp);
	afterAll(cleanUp);

	it('shows the services a real avahi-daemon publishes, with name, type, host, address, port and TXT', async () => {
		const netdash = startNetdash(['--discover-protocols', 'mdns']);
		const browsing = await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		expect(browsing).toMatchObject({protocols: ['mdns'], interfaces: [addressOf('a')]});
		const startedAt = Date.now();
		startAvahi();

		const printerEvent = await netdash.waitFor((event) => isService(event, 'service-discovered', 'Lab Printer'), 'Lab Printer', 15_000);
		const nasEvent = await netdash.waitFor((event) => isService(event, 'service-discovered', 'Lab NAS'), 'Lab NAS', 15_000);
		expect(printerEvent).toMatchObject({
			protocol: 'mdns', key: 'Lab Printer._ipp._tcp.local', serviceType: '_ipp._tcp', host: `${avahiHostName}.local`,
			address: addressOf('b'), port: 631, txt: {rp: 'printers/lab', ty: 'Test Printer 9000'}, state: 'fresh',
		});
		expect(nasEvent).toMatchObject({protocol: 'mdns', serviceType: '_http._tcp', address: addressOf('b'), port: 8080, txt: {path: '/admin'}});
		console.log(`avahi's two services seen ${Math.max(printerEvent.at, nasEvent.at) - startedAt} ms after avahi was spawned (it probes its names for ≈ 1 s first)`);
		// Each service was discovered once, not once per packet that named it.
		expect(netdash.events.filter((event) => isService(event, 'service-discovered', 'Lab Printer'))).toHaveLength(1);
	});

	it('a cleanly stopped avahi says goodbye, and its services leave at once', async () => {
		const netdash = startNetdash(['--discover-protocols', 'mdns']);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		const avahi = startAvahi();
		await netdash.waitFor((event) => isService(event, 'service-discovered', 'Lab Printer'), 'Lab Printer', 15_000);
		await netdash.waitFor((event) => isService(event, 'service-discovered', 'Lab NAS'), 'Lab NAS', 15_000);

		const stoppedAt = Date.now();
		avahi.kill('SIGTERM');
		const left = await netdash.waitFor((event) => isService(event, 'service-left', 'Lab Printer'), 'Lab Printer left', 10_000);
		const nasLeft = await netdash.waitFor((event) => isService(event, 'service-left', 'Lab NAS'), 'Lab NAS left', 10_000);
		expect(left.reason).toBe('bye');
		expect(nasLeft.reason).toBe('bye');
		console.log(`goodbye: services removed ${left.at - stoppedAt} ms after SIGTERM to avahi`);
		expect(netdash.events.some((event) => event.type === 'service-expired')).toBe(false);
	});

	it('an avahi killed with SIGKILL leaves its services to go stale, then expire', async () => {
		const maxTtlS = 2;
		const netdash = startNetdash(['--discover-protocols', 'mdns', '--discover-max-ttl', String(maxTtlS)]);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		const avahi = startAvahi();
		await netdash.waitFor((event) => isService(event, 'service-discovered', 'Lab Printer'), 'Lab Printer', 15_000);

		const killedAt = Date.now();
		avahi.kill('SIGKILL');
		await exited(avahi);
		const stale = await netdash.waitFor((event) => isService(event, 'service-updated', 'Lab Printer') && event.state === 'stale', 'Lab Printer stale', 10_000);
		const expired = await netdash.waitFor((event) => isService(event, 'service-expired', 'Lab Printer'), 'Lab Printer expired', 10_000);
		console.log(`SIGKILL: Lab Printer stale ${stale.at - killedAt} ms and expired ${expired.at - killedAt} ms after the kill (records trusted ${maxTtlS} s)`);
		expect(stale.seq).toBeLessThan(expired.seq);
		expect(stale.changed).toEqual(['state']);
		// Stale no earlier than the trusted time after it was last heard; gone a grace time (1 s) after that.
		expect(expired.at - stale.at).toBeGreaterThanOrEqual(1000 - 300);
		expect(expired.at - killedAt).toBeLessThanOrEqual((maxTtlS * 1000) + 1000 + 2000);
		expect(netdash.events.some((event) => event.type === 'service-left')).toBe(false);
	});

	it('--discover alone runs netdash discovery, mDNS, SSDP and Syncthing together', async () => {
		const netdash = startNetdash(['--discover', '--discover-interval', '0.5']);
		await netdash.waitFor((event) => event.type === 'discovery-started', 'discovery-started');
		const browsing = await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		expect(browsing.protocols).toEqual(['mdns', 'ssdp', 'syncthing']);
	});

	it('a Syncthing announcement broadcast on the subnet shows its short device id, addresses and instance id', async () => {
		const netdash = startNetdash(['--discover-protocols', 'syncthing']);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		// Written from the spec, byte by byte: magic, then protobuf Announce.
		const id = Buffer.concat([Buffer.from('foobar'), Buffer.alloc(26, 0x42)]);
		const addresses = ['tcp://0.0.0.0:22000', 'quic://0.0.0.0:22000'];
		const packet = Buffer.concat([
			Buffer.from([0x2E, 0xA7, 0xD9, 0x0B]),
			Buffer.from([0x0A, 32]), id, // Field 1 (id), length-delimited.
			...addresses.flatMap((address) => [Buffer.from([0x12, address.length]), Buffer.from(address)]), // Field 2, repeated.
			Buffer.from([0x18, 0xAC, 0x02]), // Field 3 (instance_id), varint 300.
		]);
		const sender = `const s=require('dgram').createSocket('udp4');s.bind(0,'${addressOf('c')}',()=>{s.setBroadcast(true);s.send(Buffer.from('${packet.toString('hex')}','hex'),21027,'${net().broadcast}',(e)=>{if(e)throw e;s.close()})})`;
		execFileSync('ip', ['netns', 'exec', net().namespaceOf('c'), process.execPath, '-e', sender], {stdio: 'pipe'});

		const device = await netdash.waitFor((event) => event.type === 'service-discovered' && event.protocol === 'syncthing', 'syncthing device');
		// base32("foobar") is MZXW6YTBOI (RFC 4648 test vector): the short id is its first seven characters.
		expect(device).toMatchObject({
			name: 'MZXW6YT', serviceType: 'syncthing', address: addressOf('c'), port: 22_000,
			details: {deviceId: id.toString('hex'), addresses: addresses.join(' '), instanceId: '300'},
		});
	});
});
