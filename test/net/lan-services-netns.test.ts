import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';

/**
 * mDNS and Syncthing discovery on a real subnet: network namespaces on a
 * bridge in a namespace of their own, all made (and removed) by this test.
 * The mDNS responder is the real avahi-daemon from Debian, started inside a
 * namespace with its own services and pid directories bind-mounted there
 * only (`ip netns exec` gives the command a private mount namespace), so no
 * avahi on the host ever sees these services. Every multicast and broadcast
 * stays on the test bridge.
 */

const prefix = `nd-lan-${process.pid}`;
const subnet = `10.78.${(process.pid % 250) + 1}`;
const hosts = ['a', 'b', 'c'] as const;
type Host = typeof hosts[number];
const addressOf = (host: Host) => `${subnet}.${hosts.indexOf(host) + 1}`;
const namespaceOf = (name: string) => `${prefix}-${name}`;
const avahiHostName = `nd-avahi-${process.pid}`;

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

const reason = whyNoNetns() ?? missingTool('avahi-daemon');

let madeNamespaces: string[] = [];
let children: ChildProcess[] = [];
let instances: JsonChild[] = [];
let directories: string[] = [];

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
		// avahi picks no outgoing interface for multicast: without a route for the group it gets ENETUNREACH.
		ip('-n', namespace, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0');
	}
}

const printer = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Lab Printer</name>
  <service><type>_ipp._tcp</type><port>631</port><txt-record>rp=printers/lab</txt-record><txt-record>ty=Test Printer 9000</txt-record></service>
</service-group>
`;
const nas = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>Lab NAS</name>
  <service><type>_http._tcp</type><port>8080</port><txt-record>path=/admin</txt-record></service>
</service-group>
`;

/** avahi-daemon in host b's namespace, publishing a printer and a NAS. */
function startAvahi(): ChildProcess {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'nd-avahi-'));
	directories.push(directory);
	const services = path.join(directory, 'services');
	const run = path.join(directory, 'run');
	execFileSync('mkdir', ['-p', services, run]);
	writeFileSync(path.join(services, 'printer.service'), printer);
	writeFileSync(path.join(services, 'nas.service'), nas);
	const conf = path.join(directory, 'avahi-daemon.conf');
	writeFileSync(conf, `[server]\nhost-name=${avahiHostName}\nuse-ipv4=yes\nuse-ipv6=no\nallow-interfaces=eth0\nenable-dbus=no\n[wide-area]\nenable-wide-area=no\n[publish]\npublish-workstation=no\n`);
	const script = `mount --bind ${services} /etc/avahi/services && mkdir -p /run/avahi-daemon && mount --bind ${run} /run/avahi-daemon && exec avahi-daemon -f ${conf} --no-drop-root --no-chroot`;
	// `ip netns exec` and `sh` both exec: the child's pid is avahi's, so signals reach it.
	const child = spawn('ip', ['netns', 'exec', namespaceOf('b'), 'sh', '-c', script], {stdio: ['ignore', 'pipe', 'pipe']});
	children.push(child);
	return child;
}

function startNetdash(args: string[]): JsonChild {
	const instance = spawnJson(['--json', ...args], {prefix: ['ip', 'netns', 'exec', namespaceOf('a')]});
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

	for (const child of children) {
		child.kill('SIGKILL');
	}

	await Promise.all([...instances.map(async (instance) => instance.exited), ...children.map(async (child) => exited(child))]);
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
	for (const directory of directories) {
		rmSync(directory, {recursive: true, force: true});
	}

	directories = [];
}

const isService = (event: Record<string, any>, type: string, name: string) => event.type === type && event.name === name;

describe('LAN services across a real subnet of network namespaces', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			makeSubnet();
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
		const sender = `const s=require('dgram').createSocket('udp4');s.bind(0,'${addressOf('c')}',()=>{s.setBroadcast(true);s.send(Buffer.from('${packet.toString('hex')}','hex'),21027,'${subnet}.255',(e)=>{if(e)throw e;s.close()})})`;
		execFileSync('ip', ['netns', 'exec', namespaceOf('c'), process.execPath, '-e', sender], {stdio: 'pipe'});

		const device = await netdash.waitFor((event) => event.type === 'service-discovered' && event.protocol === 'syncthing', 'syncthing device');
		// base32("foobar") is MZXW6YTBOI (RFC 4648 test vector): the short id is its first seven characters.
		expect(device).toMatchObject({
			name: 'MZXW6YT', serviceType: 'syncthing', address: addressOf('c'), port: 22_000,
			details: {deviceId: id.toString('hex'), addresses: addresses.join(' '), instanceId: '300'},
		});
	});
});
