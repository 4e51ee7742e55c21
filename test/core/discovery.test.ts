import dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {decode, encode, randomInstanceId} from '../../source/core/discovery/codec.js';
import type {DiscoveryLimits} from '../../source/core/discovery/protocol.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {freeUdpPort as freePort} from '../helpers/ports.js';

const INTERVAL_MS = 250;
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});


type Instance = {core: Core; events: Recorder; port: number; instanceId: string};

/** A core running discovery on loopback, announcing to `targets` (ports on 127.0.0.1) only. */
async function instance(name: string, port: number, targets: number[], limits?: Partial<DiscoveryLimits>): Promise<Instance> {
	const core = new Core();
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(100);
		core.dispose();
	});
	expect(core.startDiscovery({port, name, intervalMs: INTERVAL_MS, broadcast: targets.map((target) => `127.0.0.1:${target}`), ...(limits ? {limits} : {})})).toBe(true);
	const started = await events.waitFor('discovery-started');
	return {core, events, port, instanceId: started.instanceId};
}

/** A plain dgram socket on loopback (a fake peer, a flooder, a prober). */
async function rawSocket(address = '127.0.0.1', port = 0): Promise<dgram.Socket> {
	const socket = dgram.createSocket('udp4');
	socket.on('error', () => {});
	await new Promise<void>((resolve) => {
		socket.bind(port, address, resolve);
	});
	cleanups.push(() => {
		socket.close();
	});
	return socket;
}

async function sendAll(socket: dgram.Socket, datagrams: Buffer[], port: number): Promise<void> {
	for (const datagram of datagrams) {
		await new Promise<void>((resolve) => {
			socket.send(datagram, port, '127.0.0.1', () => {
				resolve();
			});
		});
	}
}

describe('discovery between live instances on loopback', () => {
	it('two instances find each other with name, offered TCP ports and a probe round trip', async () => {
		const [portA, portB] = [await freePort(), await freePort()];
		const a = await instance('alpha', portA, [portB]);
		// Offered: a listener on every interface. Not offered: one on loopback only.
		a.core.listen('0.0.0.0', 0);
		a.core.listen('127.0.0.1', 0);
		const offered = await a.events.waitFor('listener-opened', (event) => event.address === '0.0.0.0');
		await until(() => a.events.of('listener-opened').length === 2, () => 'both listeners open');
		const startedAt = Date.now();
		const b = await instance('bravo', portB, [portA]);

		const seenByB = await b.events.waitFor('peer-discovered', (event) => event.instanceId === a.instanceId);
		const seenByA = await a.events.waitFor('peer-discovered', (event) => event.instanceId === b.instanceId);
		console.log(`loopback discovery: ${Date.now() - startedAt} ms after the second instance started`);
		expect(seenByB).toMatchObject({name: 'alpha', address: '127.0.0.1', port: portA, state: 'fresh'});
		expect(seenByA).toMatchObject({name: 'bravo', address: '127.0.0.1', port: portB});
		// The announce that follows the listener carries its port.
		await b.events.waitFor('peer-updated', (event) => event.instanceId === a.instanceId && event.ports.includes(offered.port));
		const [withRtt] = [...b.events.of('peer-discovered'), ...b.events.of('peer-updated')].filter((event) => event.instanceId === a.instanceId && event.rttMs !== null);
		expect(withRtt?.rttMs).toBeLessThan(100);

		// A probe on demand is answered too.
		expect(a.core.probe()).toBe(true);
		const probe = await a.events.waitFor('probe-sent', (event) => event.attempt === 1 && a.events.of('probe-sent').indexOf(event) > 0);
		const answered = await a.events.waitFor('peer-updated', (event) => event.instanceId === b.instanceId && event.changed.includes('rtt') && event.seq > probe.seq);
		console.log(`probe round trip on loopback: ${answered.rttMs} ms`);
	});

	it('closing an instance says bye: the other removes it at once', async () => {
		const [portA, portB] = [await freePort(), await freePort()];
		const a = await instance('alpha', portA, [portB]);
		const b = await instance('bravo', portB, [portA]);
		await b.events.waitFor('peer-discovered', (event) => event.instanceId === a.instanceId);

		const closing = performance.now();
		await a.core.closeAll(100);
		const left = await b.events.waitFor('peer-left', (event) => event.instanceId === a.instanceId);
		const elapsed = performance.now() - closing;
		console.log(`bye removed the peer ${elapsed.toFixed(1)} ms after closeAll (interval ${INTERVAL_MS} ms)`);
		expect(left.reason).toBe('bye');
		expect(elapsed).toBeLessThan(INTERVAL_MS);
		expect(a.events.of('discovery-stopped')).toMatchObject([{reason: 'stopped'}]);
		expect(a.core.openSockets).toBe(0);
	});

	it('a peer that goes silent without bye is stale after one missed announce and expired after three', async () => {
		const port = await freePort();
		const b = await instance('bravo', port, [1]);
		const ghost = await rawSocket();
		const id = randomInstanceId();
		const sentAt = performance.now();
		ghost.send(encode({kind: 'announce', instanceId: id, requestId: 0, name: 'ghost', ports: []}), port, '127.0.0.1');

		await b.events.waitFor('peer-discovered', (event) => event.instanceId === id);
		const stale = await b.events.waitFor('peer-updated', (event) => event.instanceId === id && event.state === 'stale');
		const staleAfter = performance.now() - sentAt;
		const expired = await b.events.waitFor('peer-expired', (event) => event.instanceId === id);
		const expiredAfter = performance.now() - sentAt;
		console.log(`silent peer: stale after ${staleAfter.toFixed(0)} ms, expired after ${expiredAfter.toFixed(0)} ms (interval ${INTERVAL_MS} ms)`);
		expect(stale.seq).toBeLessThan(expired.seq);
		expect(staleAfter).toBeGreaterThanOrEqual(1.5 * INTERVAL_MS);
		expect(expiredAfter).toBeGreaterThanOrEqual(3.5 * INTERVAL_MS);
		// Expiry is checked every tenth of an interval; the rest is slack for a loaded machine.
		expect(expiredAfter).toBeLessThan(6 * INTERVAL_MS);
	});

	it('a new instance id from the same address and port is shown as a restart', async () => {
		const port = await freePort();
		const b = await instance('bravo', port, [1]);
		const host = await rawSocket();
		const [before, after] = [randomInstanceId(), randomInstanceId()];
		await sendAll(host, [encode({kind: 'announce', instanceId: before, requestId: 0, name: 'host', ports: []})], port);
		await b.events.waitFor('peer-discovered', (event) => event.instanceId === before);
		await sendAll(host, [encode({kind: 'announce', instanceId: after, requestId: 0, name: 'host', ports: []})], port);

		const restarted = await b.events.waitFor('peer-discovered', (event) => event.instanceId === after);
		expect(restarted.restartOf).toBe(before);
		expect(b.events.of('peer-left')).toMatchObject([{instanceId: before, reason: 'restarted'}]);
	});

	it('a discovery port held by a socket without SO_REUSEADDR fails with a plain message, and nothing is left open', async () => {
		const holder = await rawSocket('0.0.0.0');
		const core = new Core();
		const events = record(core.bus);
		cleanups.push(async () => {
			await core.closeAll(100);
			core.dispose();
		});

		expect(core.startDiscovery({port: holder.address().port, broadcast: ['127.0.0.1:9']})).toBe(true);

		const failed = await events.waitFor('socket-failed');
		expect(failed).toMatchObject({target: 'discovery', code: 'EADDRINUSE', message: `0.0.0.0:${holder.address().port} is already in use — another socket is bound to that port`});
		expect(await events.waitFor('discovery-stopped')).toMatchObject({reason: 'failed', received: 0});
		expect(events.of('discovery-started')).toHaveLength(0);
		expect(core.openSockets).toBe(0);
	});

	it('probe and stop-discovery without discovery running are refused with a message', async () => {
		const core = new Core();
		const events = record(core.bus);
		cleanups.push(() => {
			core.dispose();
		});
		expect(core.probe({ref: 'p'})).toBe(false);
		expect(core.stopDiscovery({ref: 's'})).toBe(false);
		expect(events.of('command-failed').map((event) => [event.ref, event.code, event.message])).toEqual([
			['p', 'DISCOVERY_OFF', 'discovery is not running: start it first (--discover)'],
			['s', 'DISCOVERY_OFF', 'discovery is not running'],
		]);
	});

	it('stop-discovery says bye, and discovery can be started again with a new instance id', async () => {
		const [portA, portB] = [await freePort(), await freePort()];
		const a = await instance('alpha', portA, [portB]);
		const b = await instance('bravo', portB, [portA]);
		await b.events.waitFor('peer-discovered', (event) => event.instanceId === a.instanceId);

		expect(a.core.stopDiscovery()).toBe(true);
		await a.events.waitFor('discovery-stopped');
		expect(await b.events.waitFor('peer-left', (event) => event.instanceId === a.instanceId)).toMatchObject({reason: 'bye'});
		expect(a.core.openSockets).toBe(0);

		expect(a.core.startDiscovery({port: portA, name: 'alpha', intervalMs: INTERVAL_MS, broadcast: [`127.0.0.1:${portB}`]})).toBe(true);
		const restarted = await a.events.waitFor('discovery-started', (event) => event.instanceId !== a.instanceId);
		await b.events.waitFor('peer-discovered', (event) => event.instanceId === restarted.instanceId);
	});

	it('an instance hears its own broadcasts and ignores them', async () => {
		const port = await freePort();
		const a = await instance('alpha', port, [port]);
		await until(() => (a.core.discoveryStats?.own ?? 0) >= 2, () => `own: ${a.core.discoveryStats?.own}`);
		expect(a.events.of('peer-discovered')).toHaveLength(0);
		expect(a.core.discoveryStats!.repliesSent).toBe(0);
	});

	it('a reply over the wire is never larger than the probe that caused it', async () => {
		const port = await freePort();
		const a = await instance('a-long-name-that-would-make-replies-large.example.org', port, [1]);
		a.core.listen('0.0.0.0', 0);
		a.core.listen('0.0.0.0', 0);
		await until(() => a.events.of('listener-opened').length === 2, () => 'listeners open');
		const prober = await rawSocket();
		const replies: Buffer[] = [];
		prober.on('message', (message) => replies.push(message));

		const smallProbe = encode({kind: 'probe', instanceId: randomInstanceId(), requestId: 1, name: '', ports: []});
		const largeProbe = encode({kind: 'probe', instanceId: randomInstanceId(), requestId: 2, name: 'x'.repeat(64), ports: [1, 2, 3, 4]});
		await sendAll(prober, [smallProbe, largeProbe], port);
		await until(() => replies.length === 2, () => `${replies.length} replies`);

		const [small, large] = replies.map((reply) => decode(reply));
		console.log(`probe ${smallProbe.length} B → reply ${replies[0]!.length} B; probe ${largeProbe.length} B → reply ${replies[1]!.length} B`);
		expect(replies[0]!.length).toBeLessThanOrEqual(smallProbe.length);
		expect(replies[1]!.length).toBeLessThanOrEqual(largeProbe.length);
		expect(small!.ok && small!.packet).toMatchObject({kind: 'reply', requestId: 1});
		expect(large!.ok && large!.packet).toMatchObject({kind: 'reply', requestId: 2, name: 'a-long-name-that-would-make-replies-large.example.org'});
		expect(large!.ok && large!.packet.ports).toHaveLength(2);
	});
});

describe('discovery under hostile input, over the wire', () => {
	it('a flood from one address is counted and rate-limited, and a real peer on another address stays fresh', async () => {
		const [portA, portB] = [await freePort(), await freePort()];
		const a = await instance('alpha', portA, [portB]);
		const b = await instance('bravo', portB, [portA]);
		await b.events.waitFor('peer-discovered', (event) => event.instanceId === a.instanceId);
		// 127.0.0.2 is loopback too: a second source address.
		const flooder = await rawSocket('127.0.0.2');
		const garbage = [Buffer.from('not netdash'), Buffer.from('NDSH\u0001\u0009'), Buffer.alloc(1300, 0x4e), Buffer.from('NDSH\u0002' + 'x'.repeat(30))];
		const sent = 20_000;
		const heapBefore = process.memoryUsage().heapUsed;
		const started = performance.now();
		const receivedBefore = b.core.discoveryStats!.received;
		for (let batch = 1; batch <= sent / 100; batch++) {
			await sendAll(flooder, Array.from({length: 100}, (_, index) => garbage[index % garbage.length]!), portB);
			// Pace at what the receiver takes (its buffer holds ≈ 200 such datagrams), so the kernel loses few.
			await until(() => b.core.discoveryStats!.received - receivedBefore >= (batch * 100) - 50, () => `received ${b.core.discoveryStats!.received - receivedBefore} of ${batch * 100}`);
		}

		// Every datagram that reached the instance is accounted for in events (rate-limited drops are
		// reported once a second). A's packets are all accepted, so drops and foreign ones are the flooder's.
		const stats = b.core.discoveryStats!;
		await until(() => countFrom(b.events, '127.0.0.2') === stats.foreign + stats.droppedTotal, () => `${countFrom(b.events, '127.0.0.2')} in events, ${stats.foreign + stats.droppedTotal} counted`, 5000);
		const counted = countFrom(b.events, '127.0.0.2');
		const limited = b.events.of('packet-dropped').filter((event) => event.from.address === '127.0.0.2' && event.reason === 'rate-limited').reduce((sum, event) => sum + event.count, 0);
		console.log(`flood of ${sent} datagrams in ${(performance.now() - started).toFixed(0)} ms: ${counted} reached the instance (${sent - counted} lost in the kernel), ${limited} rate-limited, ${counted - limited} looked at, ${b.events.of('packet-dropped').length} drop events, heap change ${((process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024).toFixed(1)} MiB`);
		expect(counted).toBeGreaterThan(sent * 0.95);
		expect(limited).toBeGreaterThan(sent * 0.8);
		// The real peer never missed a beat, and a normal packet is still processed.
		expect(b.events.of('peer-updated').filter((event) => event.instanceId === a.instanceId && event.state !== 'fresh')).toHaveLength(0);
		expect(b.events.of('peer-expired')).toHaveLength(0);
		const seq = b.events.events.at(-1)!.seq;
		await b.events.waitFor('peer-updated', (event) => event.instanceId === a.instanceId && event.seq > seq);
	});

	it('the regression corpus sent into a live instance: alive, every datagram counted, the peer table within its cap', async () => {
		type CorpusCase = {description: string; expect: string; hex: string};
		const corpus = JSON.parse(readFileSync(new URL('../fixtures/discovery-corpus.json', import.meta.url), 'utf8')) as CorpusCase[];
		const port = await freePort();
		const maxPeers = 4;
		const a = await instance('alpha', port, [1], {maxPeers, burst: 1000, perSecond: 1000});
		const sender = await rawSocket();
		// The corpus, then valid announces from 40 new instances on 40 ports: more than the table holds.
		const announces = Array.from({length: 40}, () => encode({kind: 'announce', instanceId: randomInstanceId(), requestId: 0, name: 'crowd', ports: [80]}));
		await sendAll(sender, corpus.map((entry) => Buffer.from(entry.hex, 'hex')), port);
		for (const announce of announces) {
			const socket = await rawSocket();
			await sendAll(socket, [announce], port);
		}

		const total = corpus.length + announces.length;
		await until(() => a.core.discoveryStats!.received === total, () => `received ${a.core.discoveryStats!.received} of ${total}`);
		const stats = a.core.discoveryStats!;
		console.log(`corpus over the wire: ${JSON.stringify(stats)}`);
		expect(stats.accepted + stats.own + stats.foreign + stats.droppedTotal).toBe(total);
		expect(a.core.openSockets).toBe(1);
		const peers = new Set<string>();
		for (const event of a.events.events) {
			if (event.type === 'peer-discovered') {
				peers.add(event.instanceId);
			} else if (event.type === 'peer-left' || event.type === 'peer-expired') {
				peers.delete(event.instanceId);
			}
		}

		expect(peers.size).toBeLessThanOrEqual(maxPeers);
		expect(stats.dropped['table-full']).toBeGreaterThan(0);
		// Still answering.
		expect(a.core.probe()).toBe(true);
	});

	it('datagrams that are not netdash\'s are reported as foreign, with their first bytes', async () => {
		const port = await freePort();
		const a = await instance('alpha', port, [1]);
		const stranger = await rawSocket();
		const ssdp = Buffer.from('M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n'.repeat(3));
		await sendAll(stranger, [ssdp], port);
		const foreign = await a.events.waitFor('foreign-datagram');
		expect(foreign.from.port).toBe(stranger.address().port);
		expect(foreign.bytes).toBe(ssdp.length);
		expect(foreign.data.equals(ssdp.subarray(0, 64))).toBe(true);
	});
});

/** Datagrams from `address` the instance has accounted for in events: foreign, dropped (with counts) or acted on. */
function countFrom(events: Recorder, address: string): number {
	let count = 0;
	for (const event of events.events) {
		if (event.type === 'foreign-datagram' && event.from.address === address) {
			count += event.count ?? 1;
		} else if (event.type === 'packet-dropped' && event.from.address === address) {
			count += event.count;
		}
	}

	return count;
}
