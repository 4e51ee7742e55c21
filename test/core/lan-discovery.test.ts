import dnsPacket from 'dns-packet';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import type {BusEvent, EventInput} from '../../source/core/events.js';
import {MdnsBrowser, orderAddresses} from '../../source/core/discovery/mdns/browser.js';
import {decodeMdns, txtPairs} from '../../source/core/discovery/mdns/codec.js';
import {LanGate} from '../../source/core/discovery/services/lan-protocol.js';
import {lanLinkLocals} from '../../source/core/discovery/services/multicast-socket.js';
import {ServiceTable, type ServiceSighting} from '../../source/core/discovery/services/service-table.js';
import {decodeAnnounce, shortDeviceId} from '../../source/core/discovery/syncthing/codec.js';
import {admitEveryone} from '../../source/core/udp/admission.js';

/*
 * The LAN protocols without sockets: the service table's lifetimes and caps,
 * the mDNS browser fed real dns-packet responses, the flood gate, and every
 * decoder under 100,000 random and mutated packets.
 */

const from = {address: '10.0.0.7', port: 5353};

function tableWithEvents(limits = {}): {table: ServiceTable; events: EventInput[]} {
	const events: EventInput[] = [];
	return {table: new ServiceTable((event) => events.push(event), limits), events};
}

const sighting = (key: string, address = '10.0.0.7'): ServiceSighting => ({protocol: 'mdns', key, name: key, serviceType: '_http._tcp', host: 'h.local', address, port: 80, txt: {}, details: {}});

/** A response avahi would send for one service. */
function announcement(ttl: number, port = 631): Buffer {
	return dnsPacket.encode({
		type: 'response',
		flags: dnsPacket.AUTHORITATIVE_ANSWER,
		answers: [
			{type: 'PTR', name: '_ipp._tcp.local', ttl, data: 'Lab Printer._ipp._tcp.local'},
			{type: 'SRV', name: 'Lab Printer._ipp._tcp.local', ttl, data: {target: 'printer.local', port}},
			{type: 'TXT', name: 'Lab Printer._ipp._tcp.local', ttl, data: ['rp=lab', 'color']},
			{type: 'A', name: 'printer.local', ttl, data: '10.0.0.7'},
		],
	});
}

function browse(limits = {}) {
	const {table, events} = tableWithEvents();
	const sent: dnsPacket.Question[][] = [];
	const browser = new MdnsBrowser(table, (questions) => sent.push(questions), limits);
	const feed = (data: Buffer, now: number) => {
		const decoded = decodeMdns(data);
		if ('packet' in decoded) {
			browser.receive(decoded.packet, from, now);
		}
	};

	return {table, events, sent, browser, feed};
}

describe('the service table', () => {
	it('a service heard once is discovered, goes stale when its lifetime runs out, then expires a grace time later', () => {
		const {table, events} = tableWithEvents();
		table.see(sighting('a'), 4000, 0);
		table.tick(3999);
		expect(events.map((event) => event.type)).toEqual(['service-discovered']);
		table.tick(4000);
		expect(events.at(-1)).toMatchObject({type: 'service-updated', changed: ['state'], state: 'stale'});
		// Grace: a quarter of the lifetime, at least a second.
		table.tick(4999);
		expect(events).toHaveLength(2);
		table.tick(5000);
		expect(events.at(-1)).toMatchObject({type: 'service-expired', key: 'a'});
		expect(table.size).toBe(0);
	});

	it('a stale service heard again is fresh again, and an unchanged refresh emits nothing', () => {
		const {table, events} = tableWithEvents();
		table.see(sighting('a'), 1000, 0);
		table.see(sighting('a'), 1000, 500);
		expect(events).toHaveLength(1);
		table.tick(1500);
		table.see(sighting('a'), 1000, 1600);
		expect(events.at(-1)).toMatchObject({type: 'service-updated', changed: ['state'], state: 'fresh'});
	});

	it('caps hold: services per host, hosts, and the whole table refuse newcomers and count them', () => {
		const {table} = tableWithEvents({maxPerHost: 2, maxHosts: 2, maxServices: 3});
		expect([table.see(sighting('a1', '10.0.0.1'), 1000, 0), table.see(sighting('a2', '10.0.0.1'), 1000, 0), table.see(sighting('a3', '10.0.0.1'), 1000, 0)]).toEqual([true, true, false]);
		expect(table.see(sighting('b1', '10.0.0.2'), 1000, 0)).toBe(true);
		expect(table.see(sighting('c1', '10.0.0.3'), 1000, 0)).toBe(false);
		expect(table.size).toBe(3);
		expect(Object.fromEntries(table.refused)).toEqual({'per-host-limit': 1, 'table-full': 1});
	});

	it('the host cap refuses a new address once that many hosts are known, while known hosts still add services', () => {
		const {table} = tableWithEvents({maxHosts: 2});
		expect([table.see(sighting('a1', '10.0.0.1'), 1000, 0), table.see(sighting('b1', '10.0.0.2'), 1000, 0), table.see(sighting('c1', '10.0.0.3'), 1000, 0)]).toEqual([true, true, false]);
		expect(table.see(sighting('a2', '10.0.0.1'), 1000, 0)).toBe(true);
		expect(Object.fromEntries(table.refused)).toEqual({'host-limit': 1});
	});

	it('long names and TXT values are cut to the field cap, and TXT pairs to their cap', () => {
		const {table} = tableWithEvents({maxFieldBytes: 10, maxPairs: 2});
		table.see({...sighting('k'), name: 'é'.repeat(20), txt: {a: 'x'.repeat(50), b: '1', c: '2'}}, 1000, 0);
		const [service] = table.list();
		expect(service!.name).toBe('é'.repeat(5));
		expect(service!.txt).toEqual({a: 'x'.repeat(10), b: '1'});
	});
});

describe('the mDNS browser', () => {
	it('asks for the service types at start, then for the instances of each type it hears of', () => {
		const {sent, browser, feed} = browse();
		browser.start(0);
		expect(sent[0]).toEqual([{name: '_services._dns-sd._udp.local', type: 'PTR', class: 'IN'}]);
		feed(dnsPacket.encode({type: 'response', answers: [{type: 'PTR', name: '_services._dns-sd._udp.local', ttl: 4500, data: '_ipp._tcp.local'}]}), 10);
		expect(sent[1]).toEqual([{name: '_ipp._tcp.local', type: 'PTR', class: 'IN'}]);
	});

	it('resolves an announcement into one service with host, address, port and TXT; TTL 0 is a goodbye', () => {
		const {events, feed} = browse();
		feed(announcement(120), 0);
		expect(events).toEqual([expect.objectContaining({type: 'service-discovered', name: 'Lab Printer', serviceType: '_ipp._tcp', host: 'printer.local', address: '10.0.0.7', port: 631, txt: {rp: 'lab', color: ''}})]);
		feed(announcement(120, 632), 1000);
		expect(events.at(-1)).toMatchObject({type: 'service-updated', changed: ['port'], port: 632});
		feed(announcement(0), 2000);
		expect(events.at(-1)).toMatchObject({type: 'service-left', reason: 'bye', name: 'Lab Printer'});
	});

	it('asks nothing an announcement answered itself: its PTR comes before the SRV and TXT, its SRV before the host\'s A', () => {
		const {events, sent, browser, feed} = browse();
		const before = sent.length;
		feed(announcement(120), 0);
		expect(events).toHaveLength(1);
		expect(sent.slice(before)).toEqual([]);
		expect(browser.counts.questionsSent).toBe(sent.slice(0, before).flat().length);
		// A PTR alone still asks for what is missing.
		feed(dnsPacket.encode({type: 'response', answers: [{type: 'PTR', name: '_ipp._tcp.local', ttl: 120, data: 'Other._ipp._tcp.local'}]}), 10);
		expect(sent.at(-1)).toEqual(expect.arrayContaining([{name: 'Other._ipp._tcp.local', type: 'SRV', class: 'IN'}, {name: 'Other._ipp._tcp.local', type: 'TXT', class: 'IN'}]));
	});

	it('a service is shown once its TXT record came too, not before: it asks for the TXT', () => {
		const {events, sent, feed} = browse();
		const name = 'Lab Printer._ipp._tcp.local';
		feed(dnsPacket.encode({type: 'response', answers: [{type: 'SRV', name, ttl: 120, data: {target: 'printer.local', port: 631}}]}), 0);
		expect(events).toEqual([]);
		expect(sent.flat()).toContainEqual({name, type: 'TXT', class: 'IN'});
		feed(dnsPacket.encode({type: 'response', answers: [{type: 'TXT', name, ttl: 120, data: ['rp=lab']}]}), 10);
		expect(events).toEqual([expect.objectContaining({type: 'service-discovered', port: 631, txt: {rp: 'lab'}})]);
	});

	it('re-asks for a service at 80 % of its TTL, so a live responder keeps it fresh', () => {
		const {sent, browser, feed} = browse();
		feed(announcement(10), 0);
		const before = sent.length;
		browser.tick(7999);
		expect(sent.slice(before).flat().some((question) => question.type === 'SRV')).toBe(false);
		browser.tick(8000);
		expect(sent.slice(before).flat()).toEqual(expect.arrayContaining([{name: 'Lab Printer._ipp._tcp.local', type: 'SRV', class: 'IN'}, {name: 'Lab Printer._ipp._tcp.local', type: 'TXT', class: 'IN'}]));
	});

	it('a host heard over IPv6 only shows its AAAA address with the interface it came through; with an A record too, the IPv4 one', () => {
		const {table, browser} = browse();
		const records = (withA: boolean) => dnsPacket.encode({type: 'response', answers: [
			{type: 'PTR', name: '_ipp._tcp.local', ttl: 120, data: 'P6._ipp._tcp.local'},
			{type: 'SRV', name: 'P6._ipp._tcp.local', ttl: 120, data: {target: 'p6.local', port: 631}},
			{type: 'TXT', name: 'P6._ipp._tcp.local', ttl: 120, data: ['a=1']},
			{type: 'AAAA', name: 'p6.local', ttl: 120, data: 'fe80::5'},
			{type: 'AAAA', name: 'p6.local', ttl: 120, data: '2001:db8::5'},
			...(withA ? [{type: 'A' as const, name: 'p6.local', ttl: 120, data: '10.0.0.5'}] : []),
		]});
		const decode = (data: Buffer) => (decodeMdns(data) as {packet: dnsPacket.DecodedPacket}).packet;
		browser.receive(decode(records(false)), {address: 'fe80::5%eth1', port: 5353}, 0);
		expect(table.get('mdns', 'P6._ipp._tcp.local')).toMatchObject({address: 'fe80::5%eth1', details: {addresses: 'fe80::5%eth1 2001:db8::5'}});
		browser.receive(decode(records(true)), {address: 'fe80::5%eth1', port: 5353}, 10);
		expect(table.get('mdns', 'P6._ipp._tcp.local')?.address).toBe('10.0.0.5');
		expect(orderAddresses(['2001:db8::1', '10.0.0.9', '10.0.0.5'], '10.0.0.5')).toEqual(['10.0.0.5', '10.0.0.9', '2001:db8::1']);
	});

	it('IPv6 is up on an interface with a link-local address: loopback and global-only interfaces do not count', () => {
		const entry = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? {scopeid: 0} : {})}) as import('node:os').NetworkInterfaceInfo;
		expect(lanLinkLocals({
			lo: [entry('::1', 'IPv6', true), entry('127.0.0.1', 'IPv4', true)],
			eth0: [entry('10.0.0.2', 'IPv4'), entry('2001:db8::2', 'IPv6'), entry('fe80::2', 'IPv6')],
			wg0: [entry('2001:db8:1::2', 'IPv6')],
		})).toEqual([{name: 'eth0', address: 'fe80::2'}]);
	});

	it('never answers a query: a question about anything produces no packet and is only counted', () => {
		const {sent, browser, feed, events} = browse();
		feed(announcement(120), 0);
		const before = sent.length;
		feed(dnsPacket.encode({type: 'query', questions: [{type: 'PTR', name: '_ipp._tcp.local'}, {type: 'SRV', name: 'Lab Printer._ipp._tcp.local'}]}), 10);
		expect(sent.length).toBe(before);
		expect(browser.counts.queriesSeen).toBe(1);
		expect(events).toHaveLength(1);
	});

	it('caps hold: service types, records read per packet, addresses per host name, questions per query packet', () => {
		const {browser, feed, sent, table} = browse({maxTypes: 3, maxRecords: 5, maxQuestions: 4});
		// Ten types listed in one packet: three are kept (and asked for, four questions a packet at most).
		feed(dnsPacket.encode({type: 'response', answers: Array.from({length: 10}, (_, index) => ({type: 'PTR' as const, name: '_services._dns-sd._udp.local', ttl: 120, data: `_t${index}._tcp.local`}))}), 0);
		const asked = sent.flat().filter((question) => /^_t\d\._tcp\.local$/.test(question.name)).map((question) => question.name);
		expect(asked.sort()).toEqual(['_t0._tcp.local', '_t1._tcp.local', '_t2._tcp.local']);
		expect(Math.max(...sent.map((questions) => questions.length))).toBeLessThanOrEqual(4);
		// A packet of six records: only the first five are read (the TXT that would complete the service is the sixth).
		feed(dnsPacket.encode({type: 'response', answers: [
			{type: 'PTR', name: '_t0._tcp.local', ttl: 120, data: 'X._t0._tcp.local'},
			{type: 'SRV', name: 'X._t0._tcp.local', ttl: 120, data: {target: 'x.local', port: 1}},
			...Array.from({length: 3}, (_, index) => ({type: 'A' as const, name: 'x.local', ttl: 120, data: `10.0.0.${index + 1}`})),
			{type: 'TXT', name: 'X._t0._tcp.local', ttl: 120, data: ['a=1']},
		]}), 10);
		expect(table.size).toBe(0);
		// Twenty A records for one host name: eight addresses are kept.
		const many = browse({maxRecords: 128});
		many.feed(dnsPacket.encode({type: 'response', answers: [
			{type: 'PTR', name: '_t._tcp.local', ttl: 120, data: 'Y._t._tcp.local'},
			{type: 'SRV', name: 'Y._t._tcp.local', ttl: 120, data: {target: 'y.local', port: 1}},
			{type: 'TXT', name: 'Y._t._tcp.local', ttl: 120, data: ['a=1']},
			...Array.from({length: 20}, (_, index) => ({type: 'A' as const, name: 'y.local', ttl: 120, data: `10.0.1.${index + 1}`})),
		]}), 0);
		expect(many.table.get('mdns', 'Y._t._tcp.local')?.details['addresses']?.split(' ')).toHaveLength(8);
		expect(browser.counts.responses).toBe(2);
	});

	it('a responder flooding instances fills its instance cap, not memory', () => {
		const {browser, feed} = browse({maxInstances: 5});
		for (let index = 0; index < 50; index++) {
			feed(dnsPacket.encode({type: 'response', answers: [{type: 'PTR', name: '_x._tcp.local', ttl: 120, data: `i${index}._x._tcp.local`}]}), index);
		}

		expect(browser.counts.refused).toBe(45);
	});
});

describe('the flood gate', () => {
	it('one source over its token bucket is dropped and reported once per second, others still pass', () => {
		const events: BusEvent[] = [];
		const bus = new Bus();
		bus.subscribe((event) => events.push(event));
		const {table} = tableWithEvents();
		const gate = new LanGate({bus, table, refusal: admitEveryone, flood: {maxSources: 16, burst: 4, perSecond: 1, globalBurst: 100, globalPerSecond: 100}}, 'mdns', 0);
		const verdicts = Array.from({length: 10}, () => gate.admit(from, 100, 0));
		expect(verdicts.filter(Boolean)).toHaveLength(4);
		expect(gate.admit({address: '10.0.0.8', port: 5353}, 100, 0)).toBe(true);
		expect(gate.dropped.get('mdns-rate-limited')).toBe(6);
		expect(events.filter((event) => event.type === 'packet-dropped')).toHaveLength(1);
	});
});

describe('the decoders under hostile input', () => {
	const seeds = [announcement(120), Buffer.from('2ea7d90b0a0466616b65120f7463703a2f2f303a323230303018ac02', 'hex')];
	const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {maxLength: 8}), fc.nat({max: 200})).map(([seed, flips, cut]) => {
		const copy = Buffer.from(seed);
		for (const [position, value] of flips) {
			copy[position % copy.length] = value;
		}

		return copy.subarray(0, Math.max(0, copy.length - cut));
	});
	const packets = fc.oneof(fc.uint8Array({maxLength: 600}).map((bytes) => Buffer.from(bytes)), mutated);

	it('100,000 random and mutated packets through the mDNS and Syncthing decoders: 0 throws', () => {
		let decoded = 0;
		fc.assert(fc.property(packets, (data) => {
			if ('packet' in decodeMdns(data)) {
				decoded++;
			}

			const announce = decodeAnnounce(data);
			if (!('error' in announce)) {
				shortDeviceId(announce.id);
			}
		}), {seed: 15, numRuns: 100_000});
		// The mutations kept enough packets whole to reach past the header.
		expect(decoded).toBeGreaterThan(1000);
	});

	it('20,000 mutated packets that decode go through the browser and the table: 0 throws, caps hold', () => {
		const {browser, table} = browse({maxInstances: 64});
		let now = 0;
		fc.assert(fc.property(mutated, (data) => {
			now += 10;
			const result = decodeMdns(data);
			if ('packet' in result) {
				browser.receive(result.packet, from, now);
				browser.tick(now);
				table.tick(now);
			}
		}), {seed: 16, numRuns: 20_000});
		expect(table.size).toBeLessThanOrEqual(64);
	});

	it('an mDNS datagram whose header claims more records than its size can hold is refused before decoding', () => {
		const header = Buffer.alloc(40);
		header.writeUInt16BE(0xFF_FF, 6);
		expect(decodeMdns(header)).toEqual({reason: 'malformed'});
		expect(decodeMdns(Buffer.alloc(9001))).toEqual({reason: 'too-large'});
		expect('packet' in decodeMdns(announcement(120))).toBe(true);
	});

	it('a Syncthing announcement listing 40 addresses keeps 16', () => {
		const addresses = Array.from({length: 40}, (_, index) => `tcp://10.0.0.${index}:22000`);
		const packet = Buffer.concat([Buffer.from('2ea7d90b0a04', 'hex'), Buffer.from('fake'), ...addresses.flatMap((address) => [Buffer.from([0x12, address.length]), Buffer.from(address)])]);
		const announce = decodeAnnounce(packet);
		expect('error' in announce ? announce.error : announce.addresses).toEqual(addresses.slice(0, 16));
	});

	it('the Syncthing decoder refuses what is not an announcement, with a reason', () => {
		expect(decodeAnnounce(Buffer.from('hello'))).toEqual({error: 'bad-magic'});
		expect(decodeAnnounce(Buffer.from('2ea7d90b0a20', 'hex'))).toEqual({error: 'truncated'});
		expect(decodeAnnounce(Buffer.from('2ea7d90b18ac02', 'hex'))).toEqual({error: 'no-id'});
		expect(decodeAnnounce(Buffer.alloc(5000))).toEqual({error: 'too-large'});
	});

	it('TXT pairs: the first of a key wins, a bare key is a boolean, caps hold', () => {
		expect(txtPairs([Buffer.from('a=1'), Buffer.from('A=2'), Buffer.from('flag'), Buffer.from('=x')])).toEqual({a: '1', flag: ''});
		expect(Object.keys(txtPairs(Array.from({length: 100}, (_, index) => `k${index}=v`)))).toHaveLength(32);
	});
});
