import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import {Core} from '../../source/core/core.js';
import type {PeerFields} from '../../source/core/events.js';
import {Store} from '../../source/core/store/store.js';
import {record, until} from '../helpers/recorder.js';
import {peersForEachTest, whyNoPython} from '../helpers/sock-peer.js';

const cleanups: Array<() => Promise<void> | void> = [];
const {startPeer} = peersForEachTest();

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function peer(instanceId: string, fields: Partial<PeerFields> = {}): PeerFields {
	return {instanceId, name: `host-${instanceId.slice(0, 2)}`, address: '10.0.0.2', port: 47_474, ports: [22], state: 'fresh', rttMs: null, firstSeen: 1, lastSeen: 1, ...fields};
}

describe('the store folds UDP and discovery into snapshots', () => {
	it('UDP sockets show exact counters, and their datagrams sit in the socket log with the peer address', async () => {
		const core = new Core();
		const store = new Store(core.bus);
		const events = record(core.bus);
		cleanups.push(async () => {
			store.dispose();
			await core.closeAll(100);
			core.dispose();
		});
		const a = core.udpBind('127.0.0.1', 0)!;
		const b = core.udpBind('127.0.0.1', 0)!;
		await until(() => events.of('udp-bound').length === 2, () => 'both bound');
		const [boundA, boundB] = events.of('udp-bound');
		core.udpSend(b, '127.0.0.1', boundA!.port, Buffer.from('one'));
		core.udpSend(b, '127.0.0.1', boundA!.port, Buffer.from('two!'));
		await until(() => events.of('datagram-received').length === 2, () => 'both received');
		store.flush();

		const first = store.getSnapshot();
		expect(first.udpSockets).toMatchObject([
			{id: a, state: 'bound', port: boundA!.port, datagramsIn: 2, bytesIn: 7, datagramsOut: 0},
			{id: b, state: 'bound', port: boundB!.port, datagramsOut: 2, bytesOut: 7},
		]);
		const datagrams = first.logs.get(a)!.slice().filter((entry) => entry.kind === 'datagram');
		expect(datagrams.map((entry) => [entry.direction, entry.data?.toString(), entry.text])).toEqual([
			['in', 'one', `127.0.0.1:${boundB!.port}`],
			['in', 'two!', `127.0.0.1:${boundB!.port}`],
		]);

		// Only b changes: a's row is the same object, and the peers array is untouched.
		core.udpSend(b, '127.0.0.1', 9, Buffer.from('elsewhere'));
		await until(() => events.of('datagram-sent').length === 3, () => 'third sent');
		store.flush();
		const second = store.getSnapshot();
		expect(second.udpSockets[0]).toBe(first.udpSockets[0]);
		expect(second.udpSockets[1]).not.toBe(first.udpSockets[1]);
		expect(second.peers).toBe(first.peers);
		expect(second.discovery).toBe(first.discovery);

		core.close(b);
		await until(() => events.of('udp-closed').length === 1, () => 'closed');
		store.flush();
		expect(store.getSnapshot().udpSockets[1]).toMatchObject({state: 'closed', datagramsOut: 3});
		store.clearClosed();
		store.flush();
		expect(store.getSnapshot().udpSockets.map((row) => row.id)).toEqual([a]);
		expect(store.getSnapshot().logs.has(b)).toBe(false);
	});

	it('netdash\'s totals (the status bar, the rate chart) count UDP datagrams as well as TCP bytes, each way, and keep them when the socket closes', async ({skip}) => {
		if (whyNoPython) {
			skip(whyNoPython);
		}
		// Given a UDP socket and a TCP listener, and a store sampling rates every 50 ms
		const core = new Core();
		const store = new Store(core.bus, {publishIntervalMs: 10, sampleIntervalMs: 50});
		const events = record(core.bus);
		cleanups.push(async () => {
			store.dispose();
			await core.closeAll(100);
			core.dispose();
		});
		// The highest rates any publish showed (a rate lasts one sample interval).
		let rates = {in: 0, out: 0};
		store.subscribe(() => {
			const {totals} = store.getSnapshot();
			rates = {in: Math.max(rates.in, totals.rateIn), out: Math.max(rates.out, totals.rateOut)};
		});
		const socket = core.udpBind('127.0.0.1', 0)!;
		core.listen('127.0.0.1', 0);
		await until(() => events.of('udp-bound').length === 1 && events.of('listener-opened').length === 1, () => 'bound and listening');
		const udpPort = events.of('udp-bound')[0]!.port;
		const tcpPort = events.of('listener-opened')[0]!.port;

		// When a python client sends two datagrams (10 and 4 bytes) and waits for an answer
		const client = startPeer(['udp-send', '127.0.0.1', String(udpPort), 'dgram one\\n', 'two\\n']);
		await until(() => events.of('datagram-received').length === 2, () => 'both datagrams');
		// And netdash answers it with 6 bytes, then a TCP client sends 3
		const from = events.of('datagram-received')[0]!.from;
		core.udpSend(socket, from.address, from.port, Buffer.from('reply\n'));
		await client.waitLine(/^reply b'reply\\n'$/, 'the answer');
		// (the datagrams alone make a rate each way)
		await until(() => rates.in > 0 && rates.out > 0, () => `rates ${JSON.stringify(rates)}`);
		const tcp = net.connect(tcpPort, '127.0.0.1', () => {
			tcp.end('abc');
		});
		await until(() => events.of('data-received').length === 1, () => 'the TCP bytes');

		// Then the totals hold both: 14 + 3 bytes in, 6 out
		store.flush();
		expect(store.getSnapshot().totals).toMatchObject({bytesIn: 17, bytesOut: 6});
		expect(store.getSnapshot().udpSockets[0]).toMatchObject({bytesIn: 14, bytesOut: 6});

		// And closing the socket keeps what it carried in the totals
		core.close(socket);
		await until(() => events.of('udp-closed').length === 1, () => 'closed');
		store.flush();
		expect(store.getSnapshot().totals).toMatchObject({bytesIn: 17, bytesOut: 6});
	});

	it('peers appear, change and go; rows that did not change keep their identity', () => {
		const bus = new Bus();
		const store = new Store(bus);
		cleanups.push(() => {
			store.dispose();
		});
		bus.emit({type: 'discovery-started', port: 47_474, instanceId: 'ffffffffffffffff', name: 'me', intervalMs: 5000, targets: [{address: '10.0.0.255', port: 47_474}]});
		bus.emit({type: 'peer-discovered', via: 'announce', ...peer('aaaaaaaaaaaaaaaa')});
		bus.emit({type: 'peer-discovered', via: 'reply', ...peer('bbbbbbbbbbbbbbbb', {address: '10.0.0.3', rttMs: 1.5})});
		store.flush();
		const first = store.getSnapshot();
		expect(first.discovery).toMatchObject({state: 'running', port: 47_474, instanceId: 'ffffffffffffffff', name: 'me'});
		expect(first.peers.map((row) => [row.instanceId, row.via, row.rttMs])).toEqual([
			['aaaaaaaaaaaaaaaa', 'announce', null],
			['bbbbbbbbbbbbbbbb', 'reply', 1.5],
		]);

		bus.emit({type: 'peer-updated', changed: ['state'], ...peer('aaaaaaaaaaaaaaaa', {state: 'stale'})});
		store.flush();
		const second = store.getSnapshot();
		expect(second.peers[0]).toMatchObject({state: 'stale', via: 'announce'});
		expect(second.peers[1]).toBe(first.peers[1]);

		bus.emit({type: 'peer-left', reason: 'bye', ...peer('bbbbbbbbbbbbbbbb', {address: '10.0.0.3'})});
		bus.emit({type: 'peer-expired', ...peer('aaaaaaaaaaaaaaaa', {state: 'expired'})});
		store.flush();
		expect(store.getSnapshot().peers).toEqual([]);
		expect(store.getSnapshot().discovery).toMatchObject({peersLeft: 1, peersExpired: 1});
		expect(store.getSnapshot().logs.get('discovery')!.slice().map((entry) => entry.text)).toEqual([
			'discovery on port 47474 as "me" (ffffffffffffffff), announcing every 5 s to 10.0.0.255:47474',
			'peer "host-aa" at 10.0.0.2:47474 discovered by announce',
			'peer "host-bb" at 10.0.0.3:47474 discovered by reply',
			'peer "host-aa" at 10.0.0.2:47474 is stale',
			'peer "host-bb" at 10.0.0.3:47474 left (bye)',
			'peer "host-aa" at 10.0.0.2:47474 expired (three announces missed)',
		]);
	});

	it('foreign senders are bounded, drop counters add up per reason and per source, and stopping clears the peers', () => {
		const bus = new Bus();
		const store = new Store(bus);
		cleanups.push(() => {
			store.dispose();
		});
		bus.emit({type: 'discovery-started', port: 47_474, instanceId: 'ffffffffffffffff', name: 'me', intervalMs: 5000, targets: []});
		bus.emit({type: 'peer-discovered', via: 'announce', ...peer('aaaaaaaaaaaaaaaa')});
		for (let port = 1; port <= 70; port++) {
			bus.emit({type: 'foreign-datagram', from: {address: '10.0.0.9', port}, bytes: 100, data: Buffer.alloc(64, port)});
		}

		bus.emit({type: 'foreign-datagram', from: {address: '10.0.0.9', port: 70}, bytes: 5, data: Buffer.from('hello')});
		bus.emit({type: 'packet-dropped', from: {address: '10.0.0.66', port: 1}, reason: 'rate-limited', bytes: 10, count: 5000});
		bus.emit({type: 'packet-dropped', from: {address: '10.0.0.66', port: 1}, reason: 'truncated', bytes: 10, count: 1});
		bus.emit({type: 'packet-dropped', from: {address: '10.0.0.67', port: 1}, reason: 'truncated', bytes: 10, count: 1});
		store.flush();

		const {foreign, discovery} = store.getSnapshot();
		expect(foreign).toHaveLength(64);
		expect(foreign.at(-1)).toMatchObject({port: 70, datagrams: 2, bytes: 105, lastBytes: 5});
		expect(foreign.at(-1)!.data.toString()).toBe('hello');
		expect(foreign[0]!.data).toHaveLength(32);
		expect(discovery).toMatchObject({foreign: 71, foreignEvicted: 6, droppedTotal: 5002, rateLimited: 5000, dropped: {'rate-limited': 5000, truncated: 2}});
		expect(discovery.sources).toMatchObject([
			{address: '10.0.0.66', dropped: 5001, rateLimited: 5000, lastReason: 'truncated'},
			{address: '10.0.0.67', dropped: 1, rateLimited: 0},
		]);

		bus.emit({type: 'discovery-stats', received: 5073, accepted: 0, own: 0, foreign: 71, dropped: 5002, repliesSent: 0, peers: 1, peersEvicted: 0, sources: 1024, sourcesEvicted: 12});
		store.flush();
		expect(store.getSnapshot().discovery).toMatchObject({received: 5073, peerCount: 1, sourceCount: 1024, sourcesEvicted: 12});

		bus.emit({type: 'discovery-stopped', reason: 'stopped', received: 5073, dropped: 5002});
		store.flush();
		expect(store.getSnapshot().peers).toEqual([]);
		expect(store.getSnapshot().discovery).toMatchObject({state: 'stopped', received: 5073});
	});
});
