import path from 'node:path';
import process from 'node:process';
import {fileURLToPath} from 'node:url';
import dnsPacket from 'dns-packet';
import {afterAll, afterEach, beforeEach, describe, expect, it} from 'vitest';
import {toDisplayString} from '../../source/core/format/index.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {makeSubnet, type Subnet} from '../helpers/subnet.js';

/**
 * Hostile input to every LAN protocol, over a real subnet of namespaces:
 * netdash browses mDNS, SSDP and Syncthing in host a; host c floods it,
 * sends names made of terminal escapes, and asks it questions it must
 * never answer (test/fixtures/lan-sender.mjs); host b is a bystander.
 */

const reason = whyNoNetns();
const sender = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lan-sender.mjs');

let subnet: Subnet | undefined;
let instances: JsonChild[] = [];

function net(): Subnet {
	if (!subnet) {
		throw new Error('no subnet');
	}

	return subnet;
}

type Sent = {hex: string; to: string; port: number; count?: number};
type Line = Record<string, any>;

/** Run the sender in `host`, bound to `port`; its printed lines are collected. */
function send(host: string, port: number, plan: Sent[]): Line[] {
	const child = net().spawnIn(host, [process.execPath, sender, net().addressOf(host), String(port), JSON.stringify(plan)]);
	const lines: Line[] = [];
	let buffered = '';
	child.stdout!.on('data', (chunk: Buffer) => {
		buffered += chunk.toString();
		const parts = buffered.split('\n');
		buffered = parts.pop()!;
		lines.push(...parts.map((line) => JSON.parse(line) as Line));
	});
	return lines;
}

async function until(check: () => boolean, what: string | (() => string), timeoutMs = 8000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** netdash in host a browsing every LAN protocol; `raw` is its stdout, byte for byte. */
async function startNetdash(): Promise<{netdash: JsonChild; raw: () => Buffer}> {
	const netdash = spawnJson(['--json', '--discover-protocols', 'mdns,ssdp,syncthing'], {prefix: ['ip', 'netns', 'exec', net().namespaceOf('a')]});
	instances.push(netdash);
	const chunks: Buffer[] = [];
	netdash.child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
	await netdash.waitFor((event) => event.type === 'services-browsing', 'services-browsing');
	return {netdash, raw: () => Buffer.concat(chunks)};
}

/** A Syncthing announcement (magic, then protobuf: id, addresses). */
function syncthing(id: string, addresses: string[]): string {
	const idBytes = Buffer.from(id.padEnd(32, '.'));
	return Buffer.concat([
		Buffer.from([0x2E, 0xA7, 0xD9, 0x0B, 0x0A, idBytes.length]), idBytes,
		...addresses.flatMap((address) => [Buffer.from([0x12, Buffer.byteLength(address)]), Buffer.from(address)]),
	]).toString('hex');
}

const dropped = (netdash: JsonChild, reason: string) => netdash.events.filter((event) => event.type === 'packet-dropped' && event.reason === reason).reduce((sum, event) => sum + (event.count as number), 0);

describe('hostile input to the LAN protocols, across a subnet of namespaces', () => {
	skipEachIf(reason);

	beforeEach(() => {
		if (!reason) {
			subnet = makeSubnet({tag: 'hostile'});
		}
	});

	afterEach(async () => {
		for (const instance of instances) {
			instance.child.kill('SIGKILL');
		}

		await Promise.all(instances.map(async (instance) => instance.exited));
		instances = [];
		await subnet?.remove();
		subnet = undefined;
	});
	afterAll(async () => subnet?.remove());

	it('a flood on each protocol\'s port is cut by the per-source token bucket, and another source still gets through', async () => {
		const {netdash} = await startNetdash();
		const a = net().addressOf('a');
		const junk = Buffer.alloc(60, 0x78).toString('hex');
		const flood = send('c', 0, [5353, 1900, 21_027].map((port) => ({hex: junk, to: a, port, count: 400})));
		await until(() => flood.some((line) => line.sent === 1200), 'the flood to be sent');
		const floodMs = flood.find((line) => line.sent === 1200)!.ms as number;

		// Each port's bucket lets a burst through (64, then 32 a second) and drops the rest, reported as counts; what got
		// through was decoded and refused as junk, each with its reason. (Under load the kernel may drop a few before netdash reads them.)
		const admitted = (protocol: string) => dropped(netdash, {mdns: 'mdns-malformed', ssdp: 'ssdp-not-ssdp', syncthing: 'syncthing-bad-magic'}[protocol]!);
		const protocols = ['mdns', 'ssdp', 'syncthing'];
		await until(() => protocols.every((protocol) => dropped(netdash, `${protocol}-rate-limited`) >= 150 && admitted(protocol) > 0), () => `drops on every protocol: ${JSON.stringify(netdash.events.filter((event) => event.type === 'packet-dropped'))}`);
		const budget = 64 + (32 * Math.ceil((floodMs / 1000) + 1));
		const check = () => {
			for (const protocol of protocols) {
				expect(admitted(protocol)).toBeLessThanOrEqual(budget);
			}
		};

		check();
		expect(netdash.events.some((event) => event.type === 'service-discovered')).toBe(false);

		send('b', 0, [{hex: syncthing('bystander', ['tcp://0.0.0.0:22000']), to: a, port: 21_027}]);
		const bystander = await netdash.waitFor((event) => event.type === 'service-discovered' && event.protocol === 'syncthing', 'the bystander');
		expect(bystander.address).toBe(net().addressOf('b'));
		// Seconds later, with every drop report flushed, the bucket's bound still holds.
		check();
		console.log(`flood of 400 per port from one source in ${floodMs} ms: admitted (then refused as junk) ${protocols.map((protocol) => `${protocol} ${admitted(protocol)}`).join(', ')}; rate-limited ${protocols.map((protocol) => `${protocol} ${dropped(netdash, `${protocol}-rate-limited`)}`).join(', ')}`);
	});

	it('names made of terminal escapes reach the JSON stream intact but as pure ASCII, and display escaped', async () => {
		const {netdash, raw} = await startNetdash();
		const a = net().addressOf('a');
		const c = net().addressOf('c');
		const mdnsName = 'Evil\u001B[2J\u202Etxt\u009B';
		const response = dnsPacket.encode({type: 'response', flags: dnsPacket.AUTHORITATIVE_ANSWER, answers: [
			{type: 'PTR', name: '_http._tcp.local', ttl: 120, data: `${mdnsName}._http._tcp.local`},
			{type: 'SRV', name: `${mdnsName}._http._tcp.local`, ttl: 120, data: {target: 'evil.local', port: 80}},
			{type: 'TXT', name: `${mdnsName}._http._tcp.local`, ttl: 120, data: ['k=\u001B]0;pwned\u0007']},
			{type: 'A', name: 'evil.local', ttl: 120, data: c},
		]});
		const server = 'Evil\u001B[2J\u009B';
		const notify = Buffer.from(`NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=60\r\nLOCATION: http://10.255.255.1/\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nSERVER: ${server}\r\nUSN: uuid:evil::upnp:rootdevice\r\n\r\n`, 'latin1');
		const address = 'tcp://\u001B]0;pwned\u0007:22000';
		// The mDNS answer comes from port 5353, as a link-local responder's must.
		send('c', 5353, [{hex: response.toString('hex'), to: a, port: 5353}, {hex: notify.toString('hex'), to: a, port: 1900}, {hex: syncthing('evil', [address]), to: a, port: 21_027}]);

		const found = await Promise.all(['mdns', 'ssdp', 'syncthing'].map(async (protocol) => netdash.waitFor((event) => event.type === 'service-discovered' && event.protocol === protocol, protocol)));
		const [mdns, ssdp, sync] = found;
		expect(mdns!.name).toBe(mdnsName);
		expect(mdns!.txt).toEqual({k: '\u001B]0;pwned\u0007'});
		expect(ssdp!.name).toBe(server);
		expect(sync!.details.addresses).toBe(address);
		// Not one byte of stdout is a control or outside ASCII.
		const bytes = [...raw()];
		expect(bytes.filter((byte) => byte !== 0x0A && (byte < 0x20 || byte > 0x7E))).toEqual([]);
		// And what a pane paints from them has no control, C1 or bidi character left.
		for (const text of [mdns!.name, mdns!.txt.k, ssdp!.name, sync!.details.addresses]) {
			expect(toDisplayString(text as string)).not.toMatch(/[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/);
		}
	});

	it('netdash answers no mDNS query and no M-SEARCH, and sends nothing to a Syncthing device: no reply, so none larger than its query', async () => {
		const {netdash} = await startNetdash();
		const a = net().addressOf('a');
		const query = dnsPacket.encode({type: 'query', id: 7, questions: [{type: 'PTR', name: '_services._dns-sd._udp.local'}, {type: 'TXT', name: 'anything.local'}]});
		const search = Buffer.from('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n');
		// Unicast and to the groups, from an ephemeral port that any answer would come back to; a Syncthing announcement last, as a marker.
		const asker = send('c', 0, [
			{hex: query.toString('hex'), to: a, port: 5353}, {hex: query.toString('hex'), to: '224.0.0.251', port: 5353},
			{hex: search.toString('hex'), to: a, port: 1900}, {hex: search.toString('hex'), to: '239.255.255.250', port: 1900},
			{hex: syncthing('marker', ['tcp://0.0.0.0:22000']), to: a, port: 21_027},
		]);
		await netdash.waitFor((event) => event.type === 'service-discovered' && event.protocol === 'syncthing', 'the marker');
		// A second marker, a round trip later: netdash would send an answer as it read the query, so it would be back by now.
		await until(() => asker.some((line) => line.sent === 5), 'the queries sent');
		send('b', 0, [{hex: syncthing('marker2', ['tcp://0.0.0.0:22000']), to: a, port: 21_027}]);
		await netdash.waitFor((event) => event.type === 'service-discovered' && event.address === net().addressOf('b'), 'the second marker');
		expect(asker.filter((line) => line.from !== undefined)).toEqual([]);
	});
});
