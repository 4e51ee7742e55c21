import {describe, expect, it} from 'vitest';
import {decode, encode, randomInstanceId, type DiscoveryPacket, type PacketKind} from '../../source/core/discovery/codec.js';
import {DiscoveryProtocol, defaultLimits, type ProtocolSettings} from '../../source/core/discovery/protocol.js';
import {classifySource} from '../../source/core/discovery/source-address.js';
import type {Endpoint, EventInput} from '../../source/core/events.js';
import {listInterfaces} from '../../source/core/interfaces.js';

const SELF = 'aaaaaaaaaaaaaaaa';

/** The protocol on a clock the test moves (10 ms ticks, as the glue's timer would). */
function harness(overrides: Partial<ProtocolSettings> = {}) {
	let now = 1_700_000_000_000;
	let nextId = 0x1000;
	const sent: Array<{bytes: Buffer; to: Endpoint | 'targets'}> = [];
	const events: Array<EventInput & {at: number}> = [];
	const protocol = new DiscoveryProtocol({
		instanceId: SELF,
		name: 'self',
		intervalMs: 5000,
		now: () => now,
		random: () => 0.5,
		requestId: () => (nextId += 0x1_0001),
		ports: () => [8080],
		send(bytes, to) {
			sent.push({bytes, to});
		},
		emit(event) {
			events.push({...event, at: now});
		},
		...overrides,
	});
	return {
		protocol,
		sent,
		events,
		get now() {
			return now;
		},
		advance(ms: number) {
			for (let step = 0; step < ms; step += 10) {
				now += Math.min(10, ms - step);
				protocol.tick();
			}
		},
		of: <T extends EventInput['type']>(type: T) => events.filter((event) => event.type === type) as unknown as Array<Extract<EventInput, {type: T}>>,
	};
}

function packet(kind: PacketKind, instanceId: string, fields: Partial<DiscoveryPacket> = {}): Buffer {
	return encode({kind, instanceId, requestId: kind === 'probe' || kind === 'reply' ? 7 : 0, name: 'peer', ports: [], ...fields});
}

function expectAllCounted(protocol: DiscoveryProtocol): void {
	const {stats} = protocol;
	expect(stats.received).toBe(stats.accepted + stats.own + stats.foreign + stats.droppedTotal);
}

/** The i-th of 10,000 forged sources, spread over 10.1.0.0/16. */
const forged = (index: number): Endpoint => ({address: `10.1.${Math.floor(index / 250)}.${(index % 250) + 1}`, port: 47_474});

describe('discovery flood control', () => {
	it('a 5 s flood of forged announces from 10,000 sources is capped by the global bucket and costs about one event per admitted datagram, drops summed once a second', () => {
		const {protocol, events, advance, of} = harness();
		// Given 4,000 forged announces a second, each source new and each with a new instance id
		const perTick = 40;
		for (let tick = 0; tick < 500; tick++) {
			for (let index = 0; index < perTick; index++) {
				const n = ((tick * perTick) + index) % 10_000;
				protocol.receive(packet('announce', randomInstanceId()), forged(n));
			}

			advance(10);
		}

		advance(1000);
		const {stats} = protocol;
		// Then at most the global burst plus five seconds of its rate got past the limiter
		const admittedMax = defaultLimits.globalBurst + (defaultLimits.globalPerSecond * 6);
		const admitted = stats.received - stats.droppedTotal + (stats.dropped['table-full'] ?? 0) + (stats.dropped['peer-limit'] ?? 0);
		expect(stats.received).toBe(20_000);
		expect(admitted).toBeLessThanOrEqual(admittedMax);
		expect(stats.dropped.overloaded).toBeGreaterThanOrEqual(20_000 - admittedMax);
		expect(protocol.peerCount).toBe(defaultLimits.maxPeers);
		// And every drop is in an event, summed: at most one per reason per second (plus the first)
		const drops = of('packet-dropped');
		expect(drops.reduce((sum, event) => sum + event.count, 0)).toBe(stats.droppedTotal);
		const reasons = new Set(drops.map((event) => event.reason));
		expect(drops.length).toBeLessThanOrEqual(reasons.size * 7);
		const perSecond = Array.from({length: 6}, (_, second) => events.filter((event) => event.at - events[0]!.at >= second * 1000 && event.at - events[0]!.at < (second + 1) * 1000).length);
		console.log(`forged announce flood, 20,000 datagrams from 10,000 sources in 5 s: ${admitted} admitted (bound ${admittedMax}), ${stats.dropped.overloaded} over the global rate, ${stats.dropped['table-full'] ?? 0} refused by the full table, ${stats.challengesSent} challenges; events per second ${perSecond.join(', ')}; ${drops.length} drop events`);
		// The first second carries the burst; after it, events follow the global rate, not the flood
		for (const count of perSecond.slice(1)) {
			expect(count).toBeLessThanOrEqual(defaultLimits.globalPerSecond + (reasons.size * 2) + 10);
		}

		expectAllCounted(protocol);
	});

	it('a source coming back after the source table forgot it cannot get more through than the global rate', () => {
		const {protocol} = harness({limits: {maxSources: 16, globalBurst: 64, globalPerSecond: 32}});
		// 100 sources, far more than the 16 remembered, each sending its full burst over and over
		for (let round = 0; round < 10; round++) {
			for (let source = 0; source < 100; source++) {
				for (let index = 0; index < 32; index++) {
					protocol.receive(Buffer.from('junk'), forged(source));
				}
			}
		}

		expect(protocol.stats.foreign).toBe(64);
		expect(protocol.stats.dropped.overloaded).toBe(32_000 - 64 - (protocol.stats.dropped['rate-limited'] ?? 0));
		expectAllCounted(protocol);
	});

	it('a newcomer that answers a challenge displaces an unverified peer while forged announces keep the table full and fresh', () => {
		const {protocol, sent, advance, of} = harness({limits: {maxPeers: 8}});
		const fakes = Array.from({length: 8}, () => randomInstanceId());
		const refreshFakes = () => {
			for (const [index, id] of fakes.entries()) {
				protocol.receive(packet('announce', id), forged(index));
			}
		};

		refreshFakes();
		expect(protocol.peerCount).toBe(8);
		// A real newcomer announces: the full table refuses it, and sends it a challenge probe no larger than its announce
		const newcomer: Endpoint = {address: '10.0.0.99', port: 47_474};
		const NEWCOMER = randomInstanceId();
		const announce = packet('announce', NEWCOMER, {name: 'real'});
		protocol.receive(announce, newcomer);
		expect(of('packet-dropped').at(-1)).toMatchObject({reason: 'table-full', from: newcomer});
		const challenge = sent.find((entry) => entry.to !== 'targets' && entry.to.address === newcomer.address)!;
		expect(challenge.bytes.length).toBeLessThanOrEqual(announce.length);
		const decoded = decode(challenge.bytes);
		expect(decoded.ok && decoded.packet.kind).toBe('probe');
		const requestId = decoded.ok ? decoded.packet.requestId : 0;
		advance(100);
		refreshFakes();

		// A forged reply carrying the id from another address proves nothing
		protocol.receive(packet('reply', randomInstanceId(), {requestId}), forged(50));
		expect(protocol.peerCount).toBe(8);
		expect(protocol.stats.dropped['unknown-request']).toBe(1);

		// The newcomer's reply from its own address verifies it: it takes the place of the least recently heard fake
		protocol.receive(packet('reply', NEWCOMER, {requestId, name: 'real'}), newcomer);
		expect(protocol.peers().map((peer) => peer.instanceId)).toContain(NEWCOMER);
		expect(protocol.verifiedPeers()).toEqual([NEWCOMER]);
		expect(of('peer-left')).toMatchObject([{reason: 'evicted', instanceId: fakes[0]}]);
		expect(of('peer-discovered').at(-1)).toMatchObject({instanceId: NEWCOMER, via: 'reply', address: '10.0.0.99'});

		// And the fakes cannot push it out again, however often they announce
		for (let round = 0; round < 20; round++) {
			advance(100);
			refreshFakes();
			protocol.receive(packet('announce', randomInstanceId()), forged(100 + round));
		}

		expect(protocol.peers().map((peer) => peer.instanceId)).toContain(NEWCOMER);
		expectAllCounted(protocol);
	});

	it('an announce that carries a verified peer\'s id from another address takes its verification away', () => {
		const {protocol, sent} = harness();
		const real: Endpoint = {address: '10.0.0.5', port: 47_474};
		const REAL = randomInstanceId();
		protocol.probe();
		const probe = decode(sent.at(-1)!.bytes);
		protocol.receive(packet('reply', REAL, {requestId: probe.ok ? probe.packet.requestId : 0}), real);
		expect(protocol.verifiedPeers()).toEqual([REAL]);
		// Heard again from its own address: still verified
		protocol.receive(packet('announce', REAL), real);
		expect(protocol.verifiedPeers()).toEqual([REAL]);
		// Its id from a forged address: the peer moves (as a peer may), but the proof stays with the old address
		protocol.receive(packet('announce', REAL), forged(1));
		expect(protocol.peers()).toMatchObject([{instanceId: REAL, address: forged(1).address}]);
		expect(protocol.verifiedPeers()).toEqual([]);
	});

	it('challenges are rate-limited: a flood of refused newcomers does not become a flood of probes', () => {
		const {protocol, sent} = harness({limits: {maxPeers: 4}});
		for (let index = 0; index < 1000; index++) {
			protocol.receive(packet('announce', randomInstanceId()), forged(index));
		}

		const challenges = sent.filter((entry) => entry.to !== 'targets');
		expect(challenges.length).toBe(2 * defaultLimits.challengesPerSecond);
		expect(protocol.stats.challengesSent).toBe(challenges.length);
	});

	it('a denied source is refused before any bucket: counted, summed once a second, and everyone else is still heard', () => {
		const {protocol, advance, of} = harness({refusal: (address) => (address === '10.0.0.66' ? 'deny 10.0.0.66/32' : undefined)});
		for (let index = 0; index < 10_000; index++) {
			protocol.receive(packet('announce', randomInstanceId()), {address: '10.0.0.66', port: 9});
		}

		protocol.receive(packet('announce', randomInstanceId(), {name: 'allowed'}), {address: '10.0.0.2', port: 47_474});
		advance(1000);
		expect(protocol.stats.dropped.denied).toBe(10_000);
		const refusals = of('datagram-refused');
		expect(refusals.length).toBeLessThanOrEqual(2);
		expect(refusals.reduce((sum, event) => sum + event.count, 0)).toBe(10_000);
		expect(refusals[0]).toMatchObject({socket: 'discovery', rule: 'deny 10.0.0.66/32', from: {address: '10.0.0.66'}});
		expect(protocol.peers()).toMatchObject([{name: 'allowed'}]);
		expect(of('peer-discovered').filter((event) => event.address === '10.0.0.66')).toEqual([]);
		expectAllCounted(protocol);
	});

	it('a probe from a broadcast address is dropped unread, one from off our subnets is heard but never answered', () => {
		const interfaces = listInterfaces({eth0: [{address: '10.0.0.1', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '10.0.0.1/24'}]});
		const {protocol, sent, of} = harness({classify: (address) => classifySource(address, interfaces)});
		protocol.receive(packet('probe', randomInstanceId()), {address: '10.0.0.255', port: 47_474});
		protocol.receive(packet('probe', randomInstanceId()), {address: '224.0.0.251', port: 47_474});
		expect(protocol.stats.dropped['bad-source']).toBe(2);
		expect(protocol.peerCount).toBe(0);
		protocol.receive(packet('probe', randomInstanceId()), {address: '192.0.2.7', port: 47_474});
		expect(protocol.stats.unanswered).toBe(1);
		expect(of('peer-discovered')).toMatchObject([{address: '192.0.2.7'}]);
		protocol.receive(packet('probe', randomInstanceId()), {address: '10.0.0.7', port: 47_474});
		expect(sent.filter((entry) => entry.to !== 'targets')).toMatchObject([{to: {address: '10.0.0.7'}}]);
		expect(protocol.stats.repliesSent).toBe(1);
		expectAllCounted(protocol);
	});
});

describe('which discovery sources may be answered', () => {
	const interfaces = listInterfaces({
		lo: [{address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8'}],
		eth0: [{address: '10.0.0.1', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '10.0.0.1/24'}],
		ptp: [{address: '10.9.9.0', netmask: '255.255.255.254', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '10.9.9.0/31'}],
	});

	it.each([
		['10.0.0.7', 'local'],
		['127.4.5.6', 'local'],
		['10.9.9.1', 'local'],
		['10.0.0.255', 'not-unicast'],
		['10.0.0.0', 'not-unicast'],
		['127.255.255.255', 'not-unicast'],
		['255.255.255.255', 'not-unicast'],
		['224.0.0.251', 'not-unicast'],
		['0.0.0.0', 'not-unicast'],
		['240.0.0.1', 'not-unicast'],
		['192.0.2.7', 'remote'],
		['10.0.1.7', 'remote'],
	])('%s is %s', (address, kind) => {
		expect(classifySource(address, interfaces)).toBe(kind);
	});
});
