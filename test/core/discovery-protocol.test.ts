import {readFileSync} from 'node:fs';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {decode, encode, encodingLength, MIN_PACKET_BYTES, type DiscoveryPacket, type PacketKind} from '../../source/core/discovery/codec.js';
import {DiscoveryProtocol, fitPacket, type ProtocolSettings} from '../../source/core/discovery/protocol.js';
import type {Endpoint, EventInput} from '../../source/core/events.js';

const SELF = 'aaaaaaaaaaaaaaaa';
const INTERVAL = 1000;

type Harness = {
	protocol: DiscoveryProtocol;
	sent: Array<{bytes: Buffer; to: Endpoint | 'targets'}>;
	events: EventInput[];
	/** Move the clock on in 10 ms ticks, as the glue's timer would. */
	advance(ms: number): void;
	of<T extends EventInput['type']>(type: T): Array<Extract<EventInput, {type: T}>>;
};

function harness(overrides: Partial<ProtocolSettings> = {}): Harness {
	let now = 1_700_000_000_000;
	let nextId = 0x1000;
	const sent: Harness['sent'] = [];
	const events: EventInput[] = [];
	const protocol = new DiscoveryProtocol({
		instanceId: SELF,
		name: 'self',
		intervalMs: INTERVAL,
		now: () => now,
		random: () => 0.5,
		requestId: () => (nextId += 0x1_0001),
		ports: () => [8080],
		send(bytes, to) {
			sent.push({bytes, to});
		},
		emit(event) {
			events.push(event);
		},
		...overrides,
	});
	return {
		protocol,
		sent,
		events,
		advance(ms) {
			for (let step = 0; step < ms; step += 10) {
				now += Math.min(10, ms - step);
				protocol.tick();
			}
		},
		of: (type) => events.filter((event) => event.type === type) as never,
	};
}

function packet(kind: PacketKind, instanceId: string, fields: Partial<DiscoveryPacket> = {}): Buffer {
	return encode({kind, instanceId, requestId: kind === 'probe' || kind === 'reply' ? 7 : 0, name: 'peer', ports: [], ...fields});
}

const alpha: Endpoint = {address: '10.0.0.2', port: 47_474};
const ALPHA = '0123456789abcdef';

/** Every datagram is accounted for exactly once. */
function expectAllCounted(protocol: DiscoveryProtocol): void {
	const {received, accepted, own, foreign, droppedTotal, dropped} = protocol.stats;
	expect(accepted + own + foreign + droppedTotal).toBe(received);
	expect(Object.values(dropped).reduce((sum, count) => sum + count, 0)).toBe(droppedTotal);
}

describe('discovery peer table', () => {
	it('a peer is fresh when heard, stale after one missed announce, expired and removed after three', () => {
		const {protocol, advance, of} = harness();
		protocol.receive(packet('announce', ALPHA, {name: 'alpha', ports: [22, 8080]}), alpha);
		expect(of('peer-discovered')).toMatchObject([{instanceId: ALPHA, name: 'alpha', address: '10.0.0.2', ports: [22, 8080], state: 'fresh', via: 'announce'}]);

		advance(1.5 * INTERVAL);
		expect(of('peer-updated')).toHaveLength(0);
		advance(10);
		expect(of('peer-updated')).toMatchObject([{instanceId: ALPHA, state: 'stale', changed: ['state']}]);

		advance(2 * INTERVAL - 10);
		expect(of('peer-expired')).toHaveLength(0);
		advance(10);
		expect(of('peer-expired')).toMatchObject([{instanceId: ALPHA, state: 'expired'}]);
		expect(protocol.peerCount).toBe(0);
		expectAllCounted(protocol);
	});

	it('a stale peer that announces again is fresh again', () => {
		const {protocol, advance, of} = harness();
		protocol.receive(packet('announce', ALPHA), alpha);
		advance(2 * INTERVAL);
		protocol.receive(packet('announce', ALPHA), alpha);
		expect(of('peer-updated').at(-1)).toMatchObject({state: 'fresh', changed: ['state']});
	});

	it('bye removes a peer at once', () => {
		const {protocol, of} = harness();
		protocol.receive(packet('announce', ALPHA, {name: 'alpha'}), alpha);
		protocol.receive(packet('bye', ALPHA), alpha);
		expect(of('peer-left')).toMatchObject([{instanceId: ALPHA, name: 'alpha', reason: 'bye'}]);
		expect(protocol.peerCount).toBe(0);
		// A bye from nobody we know is dropped and counted.
		protocol.receive(packet('bye', 'ffffffffffffffff'), alpha);
		expect(protocol.stats.dropped['unknown-peer']).toBe(1);
		expectAllCounted(protocol);
	});

	it('a new instance id from the same address and port is a restart: the old entry is replaced', () => {
		const {protocol, of} = harness();
		protocol.receive(packet('announce', ALPHA), alpha);
		protocol.receive(packet('announce', 'bbbbbbbbbbbbbbbb'), alpha);
		expect(of('peer-left')).toMatchObject([{instanceId: ALPHA, reason: 'restarted'}]);
		expect(of('peer-discovered').at(-1)).toMatchObject({instanceId: 'bbbbbbbbbbbbbbbb', restartOf: ALPHA});
		expect(protocol.peers().map((peer) => peer.instanceId)).toEqual(['bbbbbbbbbbbbbbbb']);
	});

	it('two live instances behind one endpoint (a shared port) are both kept once the "restarted" one is heard again', () => {
		const {protocol, of} = harness();
		protocol.receive(packet('announce', ALPHA), alpha);
		protocol.receive(packet('announce', 'bbbbbbbbbbbbbbbb'), alpha);
		protocol.receive(packet('announce', ALPHA), alpha);
		protocol.receive(packet('announce', 'bbbbbbbbbbbbbbbb'), alpha);
		protocol.receive(packet('announce', ALPHA), alpha);
		expect(protocol.peers().map((peer) => peer.instanceId).sort()).toEqual([ALPHA, 'bbbbbbbbbbbbbbbb']);
		expect(of('peer-left')).toHaveLength(1);
	});

	it('our own packets (our broadcasts come back) are recognised by instance id and ignored', () => {
		const {protocol, sent, events} = harness();
		protocol.start();
		const before = events.length;
		for (const {bytes} of sent) {
			protocol.receive(bytes, {address: '10.0.0.1', port: 47_474});
		}

		expect(protocol.stats.own).toBe(sent.length);
		expect(protocol.peerCount).toBe(0);
		// No reply to our own probe and no peer events.
		expect(sent.filter(({to}) => to !== 'targets')).toHaveLength(0);
		expect(events.slice(before)).toEqual([]);
		expectAllCounted(protocol);
	});

	it('holds at most maxPeers; a full table of fresh peers refuses newcomers, and stale peers are evicted first', () => {
		const {protocol, advance, of} = harness({limits: {maxPeers: 4}});
		const id = (index: number) => index.toString(16).padStart(16, '0');
		for (let index = 1; index <= 4; index++) {
			protocol.receive(packet('announce', id(index)), {address: `10.0.0.${index}`, port: 47_474});
		}

		protocol.receive(packet('announce', id(99)), {address: '10.0.0.99', port: 47_474});
		expect(protocol.peerCount).toBe(4);
		expect(protocol.stats.dropped['table-full']).toBe(1);
		expect(of('peer-left')).toHaveLength(0);

		// Peers 2..4 keep announcing; peer 1 goes quiet and turns stale.
		advance(INTERVAL);
		for (let index = 2; index <= 4; index++) {
			protocol.receive(packet('announce', id(index)), {address: `10.0.0.${index}`, port: 47_474});
		}

		advance(INTERVAL);
		protocol.receive(packet('announce', id(99)), {address: '10.0.0.99', port: 47_474});
		expect(of('peer-left')).toMatchObject([{instanceId: id(1), reason: 'evicted'}]);
		expect(protocol.peers().map((peer) => peer.instanceId)).toEqual([id(2), id(3), id(4), id(99)]);
		expect(protocol.stats.peersEvicted).toBe(1);
		expectAllCounted(protocol);
	});

	it('one address may hold only maxPeersPerAddress peers', () => {
		const {protocol} = harness({limits: {maxPeersPerAddress: 2}});
		for (let port = 1; port <= 5; port++) {
			protocol.receive(packet('announce', port.toString(16).padStart(16, 'c')), {address: '10.0.0.9', port});
		}

		expect(protocol.peerCount).toBe(2);
		expect(protocol.stats.dropped['peer-limit']).toBe(3);
	});
});

describe('discovery probes and replies', () => {
	it('probes go out on start and back off 0.5, 1, 2, 4 s while nobody answers, then stop', () => {
		const {protocol, advance, of} = harness({intervalMs: 60_000});
		const started = Date.now();
		protocol.start();
		advance(20_000);
		const probes = of('probe-sent');
		expect(probes.map((probe) => probe.attempt)).toEqual([1, 2, 3, 4, 5]);
		expect(new Set(probes.map((probe) => probe.requestId)).size).toBe(5);
		expect(Date.now() - started).toBeLessThan(5000);
	});

	it('answers a probe with a unicast reply carrying its request id, and the prober gets a round trip', () => {
		const prober = harness();
		// 'alf' and one port fit in the 27 bytes of the probe ('self' and one port): the reply is whole.
		const answerer = harness({instanceId: ALPHA, name: 'alf', ports: () => [22]});
		prober.protocol.probe();
		const probe = prober.sent.at(-1)!;

		answerer.protocol.receive(probe.bytes, {address: '10.0.0.1', port: 47_474});
		const reply = answerer.sent.at(-1)!;
		expect(reply.to).toEqual({address: '10.0.0.1', port: 47_474});
		const decoded = decode(reply.bytes);
		expect(decoded.ok && decoded.packet).toMatchObject({kind: 'reply', requestId: prober.of('probe-sent')[0]!.requestId, name: 'alf', ports: [22]});
		expect(reply.bytes.length).toBeLessThanOrEqual(probe.bytes.length);

		prober.advance(30);
		prober.protocol.receive(reply.bytes, alpha);
		expect(prober.of('peer-discovered')).toMatchObject([{instanceId: ALPHA, via: 'reply', rttMs: 30}]);
		// Someone answered: no more resends.
		prober.advance(10_000);
		expect(prober.of('probe-sent')).toHaveLength(1);
	});

	it('a reply that may have been cut to fit the probe updates the round trip but not a known peer\'s name and ports', () => {
		const prober = harness({name: '', ports: () => []});
		prober.protocol.receive(packet('announce', ALPHA, {name: 'alpha-with-a-long-name', ports: [22, 80]}), alpha);
		prober.protocol.probe();
		const {requestId} = prober.of('probe-sent')[0]!;
		const cut = fitPacket({kind: 'reply', instanceId: ALPHA, requestId, name: 'alpha-with-a-long-name', ports: [22, 80]}, MIN_PACKET_BYTES);
		prober.advance(20);
		prober.protocol.receive(encode(cut), alpha);
		expect(prober.of('peer-updated').at(-1)).toMatchObject({name: 'alpha-with-a-long-name', ports: [22, 80], rttMs: 20, changed: ['rtt']});
	});

	it('a reply to no probe of ours is dropped and counted', () => {
		const {protocol} = harness();
		protocol.receive(packet('reply', ALPHA, {requestId: 12_345}), alpha);
		expect(protocol.stats.dropped['unknown-request']).toBe(1);
		expect(protocol.peerCount).toBe(0);
	});

	it('a reply is never larger than the probe that caused it (no amplification)', () => {
		const answerer = harness({instanceId: ALPHA, name: 'a-rather-long-host-name-that-fills-the-reply.example', ports: () => Array.from({length: 32}, (_, index) => 1000 + index)});
		let checked = 0;
		let run = 0;
		fc.assert(
			fc.property(fc.string({maxLength: 64}), fc.array(fc.integer({min: 1, max: 65_535}), {maxLength: 32}), (name, ports) => {
				const probe = encode({kind: 'probe', instanceId: 'eeeeeeeeeeeeeeee', requestId: 9, name: Buffer.from(name).subarray(0, 64).toString().replaceAll('\uFFFD', ''), ports});
				// Each run from its own address, a second after the last: no rate limit stands between a probe and its reply.
				run++;
				answerer.advance(1000);
				answerer.sent.length = 0;
				answerer.protocol.receive(probe, {address: `10.9.${run >> 8}.${run & 0xff}`, port: 1});
				const replies = answerer.sent.filter(({to}) => to !== 'targets');
				expect(replies).toHaveLength(1);
				expect(replies[0]!.bytes.length).toBeLessThanOrEqual(probe.length);
				expect(decode(replies[0]!.bytes).ok).toBe(true);
				checked++;
			}),
			{numRuns: 500, seed: 4747},
		);
		// Every run checked a reply: none returned early.
		expect(checked).toBe(500);
		// The smallest probe there is gets the smallest reply there is.
		answerer.sent.length = 0;
		const smallest = encode({kind: 'probe', instanceId: 'dddddddddddddddd', requestId: 1, name: '', ports: []});
		answerer.protocol.receive(smallest, {address: '10.9.9.8', port: 1});
		expect(answerer.sent[0]!.bytes.length).toBe(MIN_PACKET_BYTES);
		console.log(`reply to a ${smallest.length}-byte probe: ${answerer.sent[0]!.bytes.length} bytes (a full reply would be ${encodingLength({kind: 'reply', instanceId: ALPHA, requestId: 1, name: answerer.protocol.name, ports: Array.from({length: 32}, () => 1)})})`);
	});

	it('fitPacket cuts ports, then name bytes at a code point boundary, to any size from 21', () => {
		fc.assert(
			fc.property(fc.string({unit: 'grapheme', maxLength: 20}), fc.array(fc.integer({min: 1, max: 65_535}), {maxLength: 32}), fc.integer({min: MIN_PACKET_BYTES, max: 200}), (text, ports, limit) => {
				const name = [...text].reduce((kept, char) => (Buffer.byteLength(kept + char) <= 64 ? kept + char : kept), '');
				const full: DiscoveryPacket = {kind: 'reply', instanceId: ALPHA, requestId: 3, name, ports};
				const fitted = fitPacket(full, limit);
				expect(encodingLength(fitted)).toBeLessThanOrEqual(Math.max(limit, encodingLength({...full, name: '', ports: []})));
				expect(full.name.startsWith(fitted.name)).toBe(true);
				expect(decode(encode(fitted)).ok).toBe(true);
			}),
			{numRuns: 2000, seed: 21},
		);
	});
});

describe('discovery under hostile input', () => {
	type CorpusCase = {description: string; expect: string; hex: string};
	const corpus = JSON.parse(readFileSync(new URL('../fixtures/discovery-corpus.json', import.meta.url), 'utf8')) as CorpusCase[];

	it('every malformed datagram of the corpus is dropped and counted under its reason, in one event per reason per second', () => {
		const {protocol, of, advance} = harness({limits: {burst: 1000}});
		for (const entry of corpus) {
			protocol.receive(Buffer.from(entry.hex, 'hex'), alpha);
		}

		const expected: Record<string, number> = {};
		// Without the magic a datagram is not netdash's at all: it is foreign, not malformed.
		for (const entry of corpus.filter((entry) => entry.expect !== 'ok' && entry.expect !== 'bad-magic')) {
			expected[entry.expect] = (expected[entry.expect] ?? 0) + 1;
		}

		for (const [reason, count] of Object.entries(expected)) {
			expect(protocol.stats.dropped[reason], reason).toBe(count);
		}

		expect(protocol.stats.foreign).toBe(corpus.filter((entry) => entry.expect === 'bad-magic').length);
		advance(1000);
		const reports = of('packet-dropped');
		expect(reports.reduce((sum, report) => sum + report.count, 0)).toBe(protocol.stats.droppedTotal);
		// The first of each reason at once, the rest summed when the second is over.
		const reasons = Object.keys(expected);
		expect(reports.length).toBeLessThanOrEqual(2 * reasons.length);
		expect(protocol.stats.droppedTotal).toBeGreaterThan(2 * reasons.length);
		expect(protocol.stats.received).toBe(corpus.length);
		expectAllCounted(protocol);
	});

	it('a flood from one source is cut to its burst then its rate, reported once a second, and a real peer is unaffected', () => {
		const {protocol, advance, of} = harness({limits: {burst: 32, perSecond: 16}});
		const flooder: Endpoint = {address: '10.0.0.66', port: 5353};
		protocol.receive(packet('announce', ALPHA), alpha);
		for (let index = 0; index < 10_000; index++) {
			protocol.receive(Buffer.from('junk junk junk'), flooder);
		}

		expect(protocol.stats.foreign).toBe(32);
		expect(protocol.stats.dropped['rate-limited']).toBe(10_000 - 32);
		advance(1000);
		for (let index = 0; index < 10_000; index++) {
			protocol.receive(Buffer.from('junk junk junk'), flooder);
		}

		advance(1000);
		const reports = of('packet-dropped');
		expect(reports.reduce((sum, report) => sum + report.count, 0)).toBe(protocol.stats.dropped['rate-limited']);
		expect(reports.length).toBeLessThanOrEqual(3);
		const foreign = of('foreign-datagram');
		expect(foreign.reduce((sum, report) => sum + (report.count ?? 1), 0)).toBe(protocol.stats.foreign);
		expect(foreign.length).toBeLessThanOrEqual(3);
		expect(protocol.stats.foreign).toBeLessThanOrEqual(32 + 16 + 1);

		protocol.receive(packet('announce', ALPHA), alpha);
		expect(protocol.peers()).toMatchObject([{instanceId: ALPHA, state: 'fresh'}]);
		expectAllCounted(protocol);
	});

	it('per-source state is bounded: the least recently heard source is forgotten, and every drop is reported', () => {
		const {protocol, of, advance} = harness({limits: {maxSources: 16, burst: 1, perSecond: 0.001}});
		for (let index = 0; index < 100; index++) {
			const from = {address: `10.1.0.${index}`, port: 9};
			protocol.receive(Buffer.from('x'), from);
			protocol.receive(Buffer.from('x'), from);
		}

		expect(protocol.sourceCount).toBe(16);
		expect(protocol.stats.sourcesEvicted).toBe(84);
		advance(1000);
		expect(of('packet-dropped').filter((event) => event.reason === 'rate-limited').reduce((sum, event) => sum + event.count, 0)).toBe(100);
		expectAllCounted(protocol);
	});

	it('counters reach the bus once per interval, only when they changed, evictions included', () => {
		const {protocol, advance, of} = harness({limits: {maxSources: 4}});
		protocol.start();
		expect(of('discovery-stats')).toHaveLength(0);
		for (let index = 0; index < 10; index++) {
			protocol.receive(Buffer.from('not ours'), {address: `10.2.0.${index}`, port: 9});
		}

		protocol.receive(packet('announce', ALPHA), alpha);
		advance(1.2 * INTERVAL);
		expect(of('discovery-stats')).toEqual([{type: 'discovery-stats', received: 11, accepted: 1, own: 0, foreign: 10, dropped: 0, repliesSent: 0, peers: 1, peersEvicted: 0, sources: 4, sourcesEvicted: 7}]);
		advance(1.2 * INTERVAL);
		expect(of('discovery-stats')).toHaveLength(1);
	});

	it('foreign datagrams keep only their first bytes', () => {
		const {protocol, of} = harness({limits: {foreignBytes: 8}});
		protocol.receive(Buffer.from('M-SEARCH * HTTP/1.1\r\n'), {address: '10.0.0.50', port: 1900});
		expect(of('foreign-datagram')).toMatchObject([{from: {address: '10.0.0.50', port: 1900}, bytes: 21}]);
		expect(of('foreign-datagram')[0]!.data.toString()).toBe('M-SEARCH');
	});
});
