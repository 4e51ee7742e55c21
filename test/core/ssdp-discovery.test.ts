import http from 'node:http';
import type {AddressInfo} from 'node:net';
import fc from 'fast-check';
import {afterEach, describe, expect, it} from 'vitest';
import type {EventInput} from '../../source/core/events.js';
import {SsdpBrowser} from '../../source/core/discovery/ssdp/browser.js';
import {decodeSsdp, encodeSearch, maxAgeOf, parseDescription, type SsdpMessage} from '../../source/core/discovery/ssdp/codec.js';
import {DescriptionFetcher, whyNotFetch, type FetchResult} from '../../source/core/discovery/ssdp/fetch.js';
import {ServiceTable} from '../../source/core/discovery/services/service-table.js';

/*
 * SSDP without multicast: the parser, the browser fed the messages minidlna
 * really sends (captured with tshark in a namespace), the description
 * fetcher against HTTP servers on 127.0.0.1, and the parser and browser
 * under 100,000 random and mutated packets.
 */

const device = '10.0.0.7';
const uuid = 'uuid:4d696e69-444c-164e-9d41-001122334455';
const location = `http://${device}:8200/rootDesc.xml`;

/** A NOTIFY as minidlna 1.3.0 writes it (no space after the colons). */
function notify(nts: 'ssdp:alive' | 'ssdp:byebye', nt = 'urn:schemas-upnp-org:device:MediaServer:1', options: {maxAge?: number; location?: string; usn?: string} = {}): Buffer {
	const usn = options.usn ?? (nt.startsWith('uuid:') ? nt : `${uuid}::${nt}`);
	const alive = nts === 'ssdp:alive' ? `CACHE-CONTROL:max-age=${options.maxAge ?? 20}\r\nLOCATION:${options.location ?? location}\r\nSERVER: Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0\r\n` : '';
	return Buffer.from(`NOTIFY * HTTP/1.1\r\nHOST:239.255.255.250:1900\r\n${alive}NT:${nt}\r\nUSN:${usn}\r\nNTS:${nts}\r\n\r\n`);
}

const description = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><specVersion><major>1</major><minor>0</minor></specVersion><device><deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType><friendlyName>Lab Media &amp; More</friendlyName><manufacturer>Justin Maggard</manufacturer><modelName>Windows Media Connect compatible (MiniDLNA)</modelName><modelNumber>1.3.0</modelNumber><UDN>${uuid}</UDN></device></root>`;

function decoded(data: Buffer): SsdpMessage {
	const message = decodeSsdp(data);
	if ('error' in message) {
		throw new Error(message.error);
	}

	return message;
}

function browse(limits = {}) {
	const events: EventInput[] = [];
	const table = new ServiceTable((event) => events.push(event));
	const searches: string[] = [];
	const fetches: Array<{key: string; location: string; sender: string}> = [];
	const browser = new SsdpBrowser(table, {search: (st) => searches.push(st), fetch: (key, url, sender) => fetches.push({key, location: url, sender})}, limits);
	const feed = (data: Buffer, now: number, from = device) => {
		browser.receive(decoded(data), from, now);
	};

	const fetched = (body: string): FetchResult => ({outcome: 'fetched', body, bytes: body.length, ms: 5});
	return {table, events, searches, fetches, browser, feed, fetched};
}

describe('the SSDP parser', () => {
	it('reads a NOTIFY, a search answer and an M-SEARCH, header names in any case', () => {
		expect(decoded(notify('ssdp:alive'))).toMatchObject({kind: 'notify', headers: {nt: 'urn:schemas-upnp-org:device:MediaServer:1', nts: 'ssdp:alive', location, 'cache-control': 'max-age=20'}});
		expect(decoded(Buffer.from('HTTP/1.1 200 OK\r\nCache-Control: max-age = 1800\r\nST: upnp:rootdevice\r\nUSN: uuid:x::upnp:rootdevice\r\n\r\n'))).toMatchObject({kind: 'response', status: 200, headers: {st: 'upnp:rootdevice'}});
		expect(decoded(encodeSearch())).toMatchObject({kind: 'search', headers: {st: 'ssdp:all', man: '"ssdp:discover"', mx: '2'}});
		expect(maxAgeOf('no-cache="Ext", max-age = 1800')).toBe(1800);
		expect(maxAgeOf('private')).toBeUndefined();
	});

	it('refuses what is not SSDP with a reason, and a header named __proto__ is a plain key', () => {
		expect(decodeSsdp(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toEqual({error: 'not-ssdp'});
		expect(decodeSsdp(Buffer.from('NOTIFY * HTTP/1.1\r\nno colon here\r\n\r\n'))).toEqual({error: 'bad-header'});
		expect(decodeSsdp(Buffer.alloc(8193, 0x41))).toEqual({error: 'too-large'});
		const message = decoded(Buffer.from('NOTIFY * HTTP/1.1\r\n__proto__: x\r\nNTS: ssdp:alive\r\n\r\n'));
		expect(Object.getPrototypeOf(message.headers)).toBe(Object.prototype);
		expect(message.headers['__proto__']).toBe('x');
	});

	it('reads at most 32 headers; a value longer than a field is cut by the service table', () => {
		const headers = Array.from({length: 100}, (_, index) => `X-H${index}: ${index}`).join('\r\n');
		const message = decoded(Buffer.from(`NOTIFY * HTTP/1.1\r\n${headers}\r\n\r\n`));
		expect(Object.keys(message.headers)).toHaveLength(32);
		const {feed, events} = browse();
		feed(notify('ssdp:alive', uuid, {location: `http://10.0.0.99/${'x'.repeat(2000)}`}), 0);
		expect(Buffer.byteLength((events[0] as {details: Record<string, string>}).details['location']!)).toBe(255);
	});

	it('a description gives friendlyName, manufacturer and model, entities unescaped; an embedded device its own fields', () => {
		expect(parseDescription(description, uuid)).toEqual({
			friendlyName: 'Lab Media & More', manufacturer: 'Justin Maggard', model: 'Windows Media Connect compatible (MiniDLNA)', modelNumber: '1.3.0', deviceType: 'urn:schemas-upnp-org:device:MediaServer:1',
		});
		const nested = '<root><device><friendlyName>Router</friendlyName><UDN>uuid:root</UDN><deviceList><device><friendlyName>WAN</friendlyName><UDN>uuid:wan</UDN></device></deviceList></device></root>';
		expect(parseDescription(nested, 'uuid:wan').friendlyName).toBe('WAN');
		expect(parseDescription(nested, 'uuid:root').friendlyName).toBe('Router');
		expect(parseDescription('not xml at all')).toEqual({});
	});
});

describe('the SSDP browser', () => {
	it('searches for ssdp:all at start, and never answers an M-SEARCH: it is only counted', () => {
		const {browser, searches, fetches, events} = browse();
		browser.start(0);
		expect(searches).toEqual(['ssdp:all']);
		browser.receive(decoded(encodeSearch('ssdp:all')), '10.0.0.9', 10);
		browser.receive(decoded(encodeSearch('upnp:rootdevice')), '10.0.0.9', 20);
		expect(browser.counts.searchesSeen).toBe(2);
		expect(searches).toHaveLength(1);
		expect(fetches).toHaveLength(0);
		expect(events).toHaveLength(0);
	});

	it('a device announcing six notification types is one service, shown once its description came, by its friendlyName', () => {
		const {browser, feed, fetches, events, fetched} = browse();
		for (const nt of [uuid, 'upnp:rootdevice', 'urn:schemas-upnp-org:device:MediaServer:1', 'urn:schemas-upnp-org:service:ContentDirectory:1']) {
			feed(notify('ssdp:alive', nt), 0);
		}

		expect(fetches).toEqual([{key: uuid, location, sender: device}]);
		expect(events).toHaveLength(0);
		browser.described(uuid, fetched(description), 40);
		expect(events).toHaveLength(1);
		expect(events[0]).toMatchObject({
			type: 'service-discovered', protocol: 'ssdp', key: uuid, name: 'Lab Media & More', serviceType: 'urn:schemas-upnp-org:device:MediaServer:1',
			host: device, address: device, port: 8200, txt: {},
			details: {friendlyName: 'Lab Media & More', manufacturer: 'Justin Maggard', model: 'Windows Media Connect compatible (MiniDLNA)', location, server: 'Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0', maxAge: '20', description: 'fetched'},
		});
	});

	it('CACHE-CONTROL max-age drives expiry: stale at max-age after it was last heard, expired a grace time later', () => {
		const {browser, feed, table, events, fetched} = browse();
		feed(notify('ssdp:alive', uuid, {maxAge: 20}), 0);
		browser.described(uuid, fetched(description), 100);
		feed(notify('ssdp:alive', uuid, {maxAge: 20}), 5000);
		table.tick(24_999);
		expect(table.get('ssdp', uuid)?.state).toBe('fresh');
		table.tick(25_000);
		expect(table.get('ssdp', uuid)?.state).toBe('stale');
		table.tick(25_000 + 5000);
		expect(events.at(-1)).toMatchObject({type: 'service-expired', key: uuid});
	});

	it('at 80 % of its max-age unheard, the device is searched for by its uuid', () => {
		const {browser, feed, searches} = browse();
		browser.start(0);
		feed(notify('ssdp:alive', uuid, {maxAge: 100}), 0);
		browser.tick(79_999);
		expect(searches.filter((st) => st === uuid)).toHaveLength(0);
		browser.tick(80_000);
		browser.tick(80_500);
		expect(searches.filter((st) => st === uuid)).toHaveLength(1);
	});

	it('a byebye from the device\'s own address removes it at once; one from a neighbour naming its uuid does not', () => {
		const {browser, feed, table, events, fetched} = browse();
		feed(notify('ssdp:alive', uuid), 0);
		browser.described(uuid, fetched(description), 10);
		feed(notify('ssdp:byebye', uuid), 20, '10.0.0.66');
		expect(table.get('ssdp', uuid)).toBeDefined();
		feed(notify('ssdp:byebye', 'upnp:rootdevice'), 30);
		expect(table.get('ssdp', uuid)).toBeUndefined();
		expect(events.at(-1)).toMatchObject({type: 'service-left', reason: 'bye', key: uuid});
		expect(browser.counts.byes).toBe(1);
	});

	it('a LOCATION naming another host than the sender is never fetched: the device shows at once, description refused-host', () => {
		const {feed, fetches, events} = browse();
		feed(notify('ssdp:alive', uuid, {location: 'http://10.0.0.99:80/desc.xml'}), 0);
		feed(notify('ssdp:alive', uuid, {location: 'http://example.com/desc.xml'}), 10);
		feed(notify('ssdp:alive', uuid, {location: 'file:///etc/passwd'}), 20);
		expect(fetches).toHaveLength(0);
		expect(events[0]).toMatchObject({type: 'service-discovered', name: 'Debian DLNADOC/1.50 UPnP/1.0 MiniDLNA/1.3.0', details: {description: 'refused-host'}});
		expect(events.at(-1)).toMatchObject({details: {description: 'bad-location'}});
	});

	it('a description is fetched once per device per max-age, however often it announces', () => {
		const {browser, feed, fetches, fetched} = browse();
		feed(notify('ssdp:alive', uuid, {maxAge: 60}), 0);
		browser.described(uuid, fetched(description), 50);
		for (let now = 1000; now < 60_000; now += 1000) {
			feed(notify('ssdp:alive', uuid, {maxAge: 60}), now);
		}

		expect(fetches).toHaveLength(1);
		feed(notify('ssdp:alive', uuid, {maxAge: 60}), 60_050);
		expect(fetches).toHaveLength(2);
	});

	it('a short max-age does not make fetches more often than every 30 s', () => {
		const {browser, feed, fetches, fetched} = browse();
		for (let now = 0; now < 30_000; now += 500) {
			feed(notify('ssdp:alive', uuid, {maxAge: 1}), now);
			if (fetches.length > 0 && now === 0) {
				browser.described(uuid, fetched(description), now);
			}
		}

		expect(fetches).toHaveLength(1);
	});

	it('fetches run a few at a time and one per source address; the rest wait for a free slot', () => {
		const {browser, feed, fetches, fetched} = browse({maxFetching: 2});
		// Three devices behind one address, two more elsewhere.
		feed(notify('ssdp:alive', 'uuid:a', {location: 'http://10.0.0.7/a.xml'}), 0);
		feed(notify('ssdp:alive', 'uuid:b', {location: 'http://10.0.0.7/b.xml'}), 0);
		feed(notify('ssdp:alive', 'uuid:c', {location: 'http://10.0.0.8/c.xml'}), 0, '10.0.0.8');
		feed(notify('ssdp:alive', 'uuid:d', {location: 'http://10.0.0.9/d.xml'}), 0, '10.0.0.9');
		expect(fetches.map((fetch) => fetch.key)).toEqual(['uuid:a', 'uuid:c']);
		browser.described('uuid:a', fetched('<x/>'), 10);
		expect(fetches.map((fetch) => fetch.key)).toEqual(['uuid:a', 'uuid:c', 'uuid:b']);
		browser.described('uuid:c', {outcome: 'timeout', bytes: 0, ms: 2000}, 2000);
		expect(fetches.map((fetch) => fetch.key)).toEqual(['uuid:a', 'uuid:c', 'uuid:b', 'uuid:d']);
	});

	it('a new device queued behind busy fetch slots is shown without its description after 2 s, then updated when it comes', () => {
		const {browser, feed, fetches, events, fetched} = browse({maxFetching: 1});
		feed(notify('ssdp:alive', 'uuid:a', {location: 'http://10.0.0.7/a.xml'}), 0);
		feed(notify('ssdp:alive', 'uuid:b', {location: 'http://10.0.0.7/b.xml'}), 0);
		browser.tick(1999);
		expect(events).toHaveLength(0);
		browser.tick(2000);
		expect(events.map((event) => event.type === 'service-discovered' && event.key)).toEqual(['uuid:b']);
		browser.described('uuid:a', {outcome: 'timeout', bytes: 0, ms: 2000}, 2001);
		browser.described('uuid:b', fetched(description.replace(uuid, 'uuid:b')), 2100);
		expect(fetches).toHaveLength(2);
		expect(events.at(-1)).toMatchObject({type: 'service-updated', key: 'uuid:b', name: 'Lab Media & More', changed: ['name', 'details']});
	});

	it('a flood of device ids fills the device cap, not memory', () => {
		const {browser, feed} = browse({maxDevices: 10});
		for (let index = 0; index < 100; index++) {
			feed(notify('ssdp:alive', `uuid:flood-${index}`, {location: 'http://10.0.0.99/x.xml'}), index);
		}

		expect(browser.size).toBe(10);
		expect(browser.counts.refused).toBe(90);
	});
});

describe('the description fetcher, against HTTP servers on 127.0.0.1', () => {
	const servers: http.Server[] = [];
	afterEach(async () => {
		await Promise.all(servers.splice(0).map(async (server) => new Promise((resolve) => {
			server.closeAllConnections();
			server.close(resolve);
		})));
	});

	async function serve(handler: http.RequestListener): Promise<{url: string; requests: () => number}> {
		let requests = 0;
		const server = http.createServer((request, response) => {
			requests++;
			handler(request, response);
		});
		servers.push(server);
		await new Promise<void>((resolve) => {
			server.listen(0, '127.0.0.1', resolve);
		});
		return {url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/desc.xml`, requests: () => requests};
	}

	it('fetches only plain http from the sender\'s own address literal', () => {
		expect(whyNotFetch('http://10.0.0.7:8200/d.xml', '10.0.0.7')).toBeUndefined();
		expect(whyNotFetch('http://10.0.0.8:8200/d.xml', '10.0.0.7')).toBe('refused-host');
		expect(whyNotFetch('http://printer.local/d.xml', '10.0.0.7')).toBe('refused-host');
		expect(whyNotFetch('https://10.0.0.7/d.xml', '10.0.0.7')).toBe('bad-location');
		expect(whyNotFetch('http://u:p@10.0.0.7/d.xml', '10.0.0.7')).toBe('bad-location');
		expect(whyNotFetch('::garbage::', '10.0.0.7')).toBe('bad-location');
	});

	it('a description is read whole', async () => {
		const {url} = await serve((_, response) => response.end(description));
		const result = await new DescriptionFetcher().fetch(url, '127.0.0.1');
		expect(result).toMatchObject({outcome: 'fetched', bytes: Buffer.byteLength(description)});
	});

	it('a LOCATION on another address than the sender gets no request at all', async () => {
		const {url, requests} = await serve((_, response) => response.end(description));
		const result = await new DescriptionFetcher().fetch(url, '10.0.0.7');
		expect(result.outcome).toBe('refused-host');
		expect(requests()).toBe(0);
	});

	it('an endless description is cut off past 64 KiB', async () => {
		const {url} = await serve((_, response) => {
			const chunk = Buffer.alloc(16 * 1024, 0x20);
			const write = () => {
				while (response.write(chunk)) {
					// Fill the socket until it pushes back, then wait for a drain.
				}
			};

			response.on('drain', write);
			write();
		});
		const result = await new DescriptionFetcher().fetch(url, '127.0.0.1');
		expect(result.outcome).toBe('too-large');
		expect(result.bytes).toBeGreaterThan(64 * 1024);
		expect(result.bytes).toBeLessThanOrEqual((64 * 1024) + (64 * 1024));
	});

	it('a description that declares more than 64 KiB is refused before its body', async () => {
		const {url} = await serve((_, response) => {
			response.writeHead(200, {'content-length': String(10 * 1024 * 1024)});
			response.write('<root>');
		});
		const result = await new DescriptionFetcher().fetch(url, '127.0.0.1');
		expect(result).toMatchObject({outcome: 'too-large', detail: `declared ${10 * 1024 * 1024} bytes`});
	});

	it('a server that drips its description slower than 2 s is cut off at 2 s', async () => {
		let closedAt = 0;
		const {url} = await serve((request, response) => {
			response.writeHead(200);
			response.write('<root><device>');
			request.socket.on('close', () => {
				closedAt = performance.now();
			});
		});
		const startedAt = performance.now();
		const result = await new DescriptionFetcher().fetch(url, '127.0.0.1');
		expect(result.outcome).toBe('timeout');
		expect(result.ms).toBeGreaterThanOrEqual(1990);
		expect(result.ms).toBeLessThan(3000);
		// The server sees the connection closed: nothing stays open after the cut.
		const deadline = Date.now() + 2000;
		while (closedAt === 0 && Date.now() < deadline) {
			await new Promise((resolve) => setImmediate(resolve));
		}

		expect(closedAt - startedAt).toBeLessThan(3000);
	});

	it('a redirect is not followed', async () => {
		const {url, requests} = await serve((_, response) => {
			response.writeHead(302, {location: 'http://10.0.0.99/elsewhere.xml'});
			response.end();
		});
		const result = await new DescriptionFetcher().fetch(url, '127.0.0.1');
		expect(result).toMatchObject({outcome: 'http-status', detail: '302'});
		expect(requests()).toBe(1);
	});
});

describe('the SSDP parser and browser under hostile input', () => {
	const seeds = [notify('ssdp:alive'), notify('ssdp:byebye', uuid), encodeSearch(), Buffer.from('HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: upnp:rootdevice\r\nUSN: uuid:x::upnp:rootdevice\r\nLOCATION: http://10.0.0.7:80/d.xml\r\n\r\n')];
	const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({min: 0, max: 255})), {maxLength: 8}), fc.nat({max: 200})).map(([seed, flips, cut]) => {
		const copy = Buffer.from(seed);
		for (const [position, value] of flips) {
			copy[position % copy.length] = value;
		}

		return copy.subarray(0, Math.max(0, copy.length - cut));
	});
	const packets = fc.oneof(fc.uint8Array({maxLength: 600}).map((bytes) => Buffer.from(bytes)), mutated);

	it('100,000 random and mutated packets through the SSDP parser, the browser and the table: 0 throws, caps hold', () => {
		const {browser, table, fetched} = browse({maxDevices: 32});
		let now = 0;
		let parsed = 0;
		fc.assert(fc.property(packets, fc.string({maxLength: 300}), (data, xml) => {
			now += 10;
			const message = decodeSsdp(data);
			if ('error' in message) {
				return;
			}

			parsed++;
			browser.receive(message, device, now);
			browser.described(uuid, fetched(xml), now);
			browser.tick(now);
			table.tick(now);
		}), {seed: 17, numRuns: 100_000});
		expect(parsed).toBeGreaterThan(10_000);
		expect(browser.size).toBeLessThanOrEqual(32);
	});

	it('a hostile description of 64 KiB of almost-tags parses in linear time', () => {
		const hostile = '<friendlyName '.repeat(4700) + '<UDN>uuid:x</UDN>';
		const startedAt = performance.now();
		expect(parseDescription(hostile, 'uuid:x')).toEqual({});
		expect(parseDescription(`${'<device>'.repeat(8000)}<friendlyName>ok</friendlyName>`).friendlyName).toBe('ok');
		expect(performance.now() - startedAt).toBeLessThan(500);
	});
});
