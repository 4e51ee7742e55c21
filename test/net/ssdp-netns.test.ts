import type {ChildProcess} from 'node:child_process';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {makeSubnet, type Subnet} from '../helpers/subnet.js';

/**
 * SSDP / UPnP discovery on a real subnet of network namespaces: the UPnP
 * server is Debian's minidlna, started by the test inside a namespace; the
 * hostile devices are a fixture (test/fixtures/ssdp-device.mjs) in another.
 * netdash runs in host a, minidlna in b, the fixture in c.
 */

const reason = whyNoNetns() ?? missingTool('minidlnad', 'minidlna');
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'ssdp-device.mjs');
const deviceUuid = `uuid:4d696e69-444c-164e-9d41-${String(process.pid).padStart(12, '0').slice(-12)}`;

let subnet: Subnet | undefined;
let instances: JsonChild[] = [];
let directories: string[] = [];

function net(): Subnet {
	if (!subnet) {
		throw new Error('no subnet');
	}

	return subnet;
}

/** minidlna in host b, announcing every 5 s with max-age 20 (2 × interval + 10). */
function startMinidlna(): ChildProcess {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'nd-minidlna-'));
	directories.push(directory);
	mkdirSync(path.join(directory, 'media'));
	const conf = path.join(directory, 'minidlna.conf');
	writeFileSync(conf, [
		`media_dir=${path.join(directory, 'media')}`, `db_dir=${directory}`, `log_dir=${directory}`, 'port=8200', 'network_interface=eth0', 'notify_interval=5',
		'friendly_name=Lab Media', `uuid=${deviceUuid.slice(5)}`, 'inotify=no', '',
	].join('\n'));
	// -S: stay in the foreground (the pid is minidlna's), log to stdout.
	return net().spawnIn('b', ['minidlnad', '-f', conf, '-P', path.join(directory, 'pid'), '-S']);
}

/** The fixture in host c: an HTTP server on c:8080 and NOTIFYs for `devices`; its lines (requests, closes) are collected. */
function startFixture(host: string, devices: Array<{uuid: string; location: string; maxAge?: number}>): {lines: Array<Record<string, any>>; child: ChildProcess} {
	const child = net().spawnIn(host, [process.execPath, fixture, net().addressOf(host), JSON.stringify(devices)]);
	const lines: Array<Record<string, any>> = [];
	let buffered = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		buffered += chunk.toString();
		const parts = buffered.split('\n');
		buffered = parts.pop()!;
		lines.push(...parts.map((line) => JSON.parse(line) as Record<string, any>));
	});
	return {lines, child};
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

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 20));
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
	for (const directory of directories) {
		rmSync(directory, {recursive: true, force: true});
	}

	directories = [];
}

const isSsdp = (event: Record<string, any>, type: string, key = deviceUuid) => event.type === type && event.protocol === 'ssdp' && event.key === key;

describe('UPnP devices across a real subnet of network namespaces', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			subnet = makeSubnet({tag: 'ssdp'});
		}
	});

	afterEach(cleanUp);
	afterAll(cleanUp);

	it('shows the media server a real minidlna runs, by its friendlyName, with manufacturer, model, type, address and port', async () => {
		const netdash = startNetdash(['--discover-protocols', 'ssdp']);
		const browsing = await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		expect(browsing).toMatchObject({protocols: ['ssdp'], interfaces: [net().addressOf('a')]});
		const startedAt = Date.now();
		startMinidlna();

		const device = await netdash.waitFor((event) => isSsdp(event, 'service-discovered'), 'minidlna', 15_000);
		console.log(`minidlna seen ${device.at - startedAt} ms after it was spawned`);
		expect(device).toMatchObject({
			name: 'Lab Media', serviceType: 'urn:schemas-upnp-org:device:MediaServer:1', host: net().addressOf('b'), address: net().addressOf('b'), port: 8200, state: 'fresh',
			details: {
				friendlyName: 'Lab Media', manufacturer: 'Justin Maggard', model: 'Windows Media Connect compatible (MiniDLNA)',
				location: `http://${net().addressOf('b')}:8200/rootDesc.xml`, maxAge: '20', description: 'fetched',
			},
		});
		expect(device.expiresAt - device.lastSeen).toBeLessThanOrEqual(20_000);
	});

	it('a cleanly stopped minidlna says byebye, and its device leaves at once', async () => {
		const netdash = startNetdash(['--discover-protocols', 'ssdp']);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		const minidlna = startMinidlna();
		await netdash.waitFor((event) => isSsdp(event, 'service-discovered'), 'minidlna', 15_000);

		const stoppedAt = Date.now();
		minidlna.kill('SIGTERM');
		const left = await netdash.waitFor((event) => isSsdp(event, 'service-left'), 'minidlna left', 10_000);
		expect(left.reason).toBe('bye');
		console.log(`byebye: device removed ${left.at - stoppedAt} ms after SIGTERM to minidlna`);
		expect(netdash.events.some((event) => event.type === 'service-expired')).toBe(false);
		// It announced six notification types, twice at start, and answered a search with six more: one device, discovered once.
		expect(netdash.events.filter((event) => event.type === 'service-discovered')).toHaveLength(1);
	});

	it('a minidlna killed with SIGKILL leaves its device to go stale, then expire, while a live one is kept fresh by searches', async () => {
		const maxTtlS = 2;
		const netdash = startNetdash(['--discover-protocols', 'ssdp', '--discover-max-ttl', String(maxTtlS)]);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		const minidlna = startMinidlna();
		const device = await netdash.waitFor((event) => isSsdp(event, 'service-discovered'), 'minidlna', 15_000);
		// minidlna announces every 5 s but the record is trusted 2 s: netdash's search by uuid at 80 % keeps it fresh.
		await until(() => Date.now() > device.at + (3 * maxTtlS * 1000), 'three lifetimes', 10_000);
		expect(netdash.events.some((event) => isSsdp(event, 'service-updated') && event.state === 'stale')).toBe(false);

		const killedAt = Date.now();
		minidlna.kill('SIGKILL');
		await exited(minidlna);
		const stale = await netdash.waitFor((event) => isSsdp(event, 'service-updated') && event.state === 'stale', 'stale', 10_000);
		const expired = await netdash.waitFor((event) => isSsdp(event, 'service-expired'), 'expired', 10_000);
		console.log(`SIGKILL: minidlna stale ${stale.at - killedAt} ms and expired ${expired.at - killedAt} ms after the kill (trusted ${maxTtlS} s)`);
		expect(stale.changed).toEqual(['state']);
		expect(expired.at - stale.at).toBeGreaterThanOrEqual(1000 - 300);
		expect(expired.at - killedAt).toBeLessThanOrEqual((maxTtlS * 1000) + 1000 + 2000);
		expect(netdash.events.some((event) => event.type === 'service-left')).toBe(false);
	});

	it('hostile devices: a LOCATION on a third address is never fetched; an oversized or slow description is cut off; each fetched once', async () => {
		const netdash = startNetdash(['--discover-protocols', 'ssdp']);
		await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
		// Host b runs an HTTP server that would answer; host c announces devices, one of which points at b.
		const bystander = startFixture('b', []);
		const c = net().addressOf('c');
		const hostile = startFixture('c', [
			{uuid: 'uuid:third-party', location: `http://${net().addressOf('b')}:8080/ok.xml`},
			{uuid: 'uuid:big', location: `http://${c}:8080/big.xml`},
			{uuid: 'uuid:slow', location: `http://${c}:8080/slow.xml`},
			{uuid: 'uuid:fine', location: `http://${c}:8080/ok.xml`},
		]);

		const third = await netdash.waitFor((event) => isSsdp(event, 'service-discovered', 'uuid:third-party'), 'third-party device');
		expect(third).toMatchObject({address: c, name: 'Fixture/1.0 UPnP/1.1 Fixture/1.0', details: {description: 'refused-host'}});
		expect(third.details.friendlyName).toBeUndefined();

		const big = await netdash.waitFor((event) => isSsdp(event, 'service-discovered', 'uuid:big'), 'big device');
		expect(big.details).toMatchObject({description: 'too-large'});
		expect(big.details.friendlyName).toBeUndefined();
		const slow = await netdash.waitFor((event) => isSsdp(event, 'service-discovered', 'uuid:slow'), 'slow device');
		expect(slow.details).toMatchObject({description: 'timeout'});
		// One fetch at a time per address: the fine device waited behind the slow one, and may have shown first without its description.
		const fine = await netdash.waitFor((event) => (isSsdp(event, 'service-discovered', 'uuid:fine') || isSsdp(event, 'service-updated', 'uuid:fine')) && event.details.description === 'fetched', 'fine device');
		expect(fine).toMatchObject({name: 'Fixture OK', details: {manufacturer: 'Test Works', model: 'Fixture', description: 'fetched'}});

		// The slow server saw its connection closed about 2 s after the request; the big one long before its 1 MiB was sent.
		await until(() => hostile.lines.some((line) => line.closed === '/slow.xml') && hostile.lines.some((line) => line.closed === '/big.xml'), 'the cut connections');
		const slowRequest = hostile.lines.find((line) => line.request === '/slow.xml')!;
		const slowClosed = hostile.lines.find((line) => line.closed === '/slow.xml')!;
		const bigClosed = hostile.lines.find((line) => line.closed === '/big.xml')!;
		console.log(`slow description cut ${slowClosed.at - slowRequest.at} ms after its request (${slowClosed.sent} bytes sent); big one cut after ${bigClosed.sent} of ${1024 * 1024} bytes were written`);
		expect(slowClosed.at - slowRequest.at).toBeLessThan(2000 + 1000);
		expect(slowClosed.at - slowRequest.at).toBeGreaterThanOrEqual(1900);
		expect(bigClosed.sent).toBeLessThan(1024 * 1024);

		// Announced every 500 ms, three more rounds after the last cut: still one request per device, none to the bystander.
		const rounds = hostile.lines.filter((line) => line.announced !== undefined).length;
		await until(() => hostile.lines.filter((line) => line.announced !== undefined).length >= rounds + 3, 'more announcements');
		for (const url of ['/big.xml', '/slow.xml', '/ok.xml']) {
			expect(hostile.lines.filter((line) => line.request === url)).toHaveLength(1);
		}

		expect(bystander.lines.filter((line) => line.request !== undefined)).toEqual([]);
	});
});
