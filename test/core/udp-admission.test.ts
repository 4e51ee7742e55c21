import dgram from 'node:dgram';
import {afterEach, describe, expect, it} from 'vitest';
import {Core, type CoreOptions} from '../../source/core/core.js';
import {decode, encode, randomInstanceId} from '../../source/core/discovery/codec.js';
import {Store} from '../../source/core/store/store.js';
import {decodeHeader, encodeRequest} from '../../source/core/udp/request.js';
import {freeUdpPort} from '../helpers/ports.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

/**
 * `--allow` / `--deny` hold for UDP too: a refused source's datagrams are
 * not shown, not echoed, not answered by discovery, and are counted with
 * the TCP refusals. Sources are loopback addresses (127.0.0.2, 127.0.0.3 …
 * are all this host's).
 */

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function makeCore(options: CoreOptions): {core: Core; events: Recorder; store: Store} {
	const core = new Core(options);
	const events = record(core.bus);
	const store = new Store(core.bus);
	cleanups.push(async () => {
		events.stop();
		store.dispose();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events, store};
}

/** A plain socket on a loopback address, collecting what it receives. */
async function peer(address: string): Promise<{socket: dgram.Socket; received: Buffer[]; send: (bytes: Buffer, port: number) => Promise<void>}> {
	const socket = dgram.createSocket('udp4');
	const received: Buffer[] = [];
	socket.on('error', () => {});
	socket.on('message', (message) => {
		received.push(message);
	});
	await new Promise<void>((resolve) => {
		socket.bind(0, address, resolve);
	});
	cleanups.push(() => {
		socket.close();
	});
	return {
		socket,
		received,
		send: async (bytes, port) =>
			new Promise<void>((resolve) => {
				socket.send(bytes, port, '127.0.0.1', () => {
					resolve();
				});
			}),
	};
}

describe('allow and deny rules on UDP', () => {
	it('a denied source gets no echo reply and is not shown; its datagrams are counted as refusals, summed once a second', async () => {
		// Given an echo socket and the rule deny 127.0.0.2
		const {core, events, store} = makeCore({admission: {deny: ['127.0.0.2']}});
		const id = core.udpBind('127.0.0.1', 0, {isEcho: true})!;
		const {port} = await events.waitFor('udp-bound', (event) => event.socket === id);
		const denied = await peer('127.0.0.2');
		const allowed = await peer('127.0.0.3');

		// When the denied host sends an echo request
		await denied.send(encodeRequest(1, 1, Buffer.from('from a denied host')), port);
		const refused = await events.waitFor('datagram-refused');
		expect(refused).toMatchObject({socket: id, from: {address: '127.0.0.2'}, rule: 'deny 127.0.0.2/32', count: 1});
		// and an allowed host sends one after it
		await allowed.send(encodeRequest(2, 1, Buffer.from('from an allowed host')), port);
		await until(() => allowed.received.length === 1, () => `the allowed host has ${allowed.received.length} replies`);

		// Then only the allowed host was echoed and shown
		expect(decodeHeader(allowed.received[0]!)).toMatchObject({type: 'reply', requestId: 2});
		expect(denied.received).toEqual([]);
		expect(events.of('datagram-received').map((event) => event.from.address)).toEqual(['127.0.0.3']);
		expect(events.of('datagram-sent')).toHaveLength(1);

		// And a flood from the denied host costs two events, every datagram counted, with the TCP refusals too
		// (100: all fit the socket's receive buffer, so the kernel drops none and the count is exact)
		for (let index = 0; index < 100; index++) {
			await denied.send(Buffer.from(`flood ${index}`), port);
		}

		const sum = () => events.of('datagram-refused').reduce((total, event) => total + event.count, 0);
		await until(() => sum() === 101, () => `${sum()} refusals reported of 101`, 5000);
		expect(events.of('datagram-refused').length).toBeLessThanOrEqual(3);
		expect(denied.received).toEqual([]);
		expect(events.of('datagram-received')).toHaveLength(1);
		await until(() => store.getSnapshot().totals.refused === 101, () => `the store counts ${store.getSnapshot().totals.refused} refusals`);
	});

	it('changing the rules while running applies to the next datagram', async () => {
		const {core, events} = makeCore({admission: {allow: ['127.0.0.3']}});
		const id = core.udpBind('127.0.0.1', 0, {isEcho: true})!;
		const {port} = await events.waitFor('udp-bound', (event) => event.socket === id);
		const outsider = await peer('127.0.0.2');
		await outsider.send(encodeRequest(1, 1, Buffer.from('x')), port);
		expect(await events.waitFor('datagram-refused')).toMatchObject({rule: 'not in allow 127.0.0.3/32'});

		expect(core.setAdmission({allow: []})).toBe(true);
		await outsider.send(encodeRequest(2, 1, Buffer.from('x')), port);
		await until(() => outsider.received.length === 1, () => 'an echo once the allow list is cleared');
		expect(decodeHeader(outsider.received[0]!)).toMatchObject({type: 'reply', requestId: 2});
	});

	it('discovery does not answer or list a denied host, and counts its datagrams as refused', async () => {
		const {core, events, store} = makeCore({admission: {deny: ['127.0.0.2']}});
		const port = await freeUdpPort();
		expect(core.startDiscovery({port, name: 'guarded', intervalMs: 250, broadcast: ['127.0.0.1:9']})).toBe(true);
		await events.waitFor('discovery-started');
		const denied = await peer('127.0.0.2');
		const allowed = await peer('127.0.0.3');
		const probe = (id: number) => encode({kind: 'probe', instanceId: randomInstanceId(), requestId: id, name: 'prober', ports: []});

		await denied.send(probe(11), port);
		expect(await events.waitFor('datagram-refused')).toMatchObject({socket: 'discovery', from: {address: '127.0.0.2'}, rule: 'deny 127.0.0.2/32'});
		await allowed.send(probe(12), port);
		await until(() => allowed.received.length === 1, () => 'a reply to the allowed prober');

		const reply = decode(allowed.received[0]!);
		expect(reply.ok && reply.packet).toMatchObject({kind: 'reply', requestId: 12});
		expect(denied.received).toEqual([]);
		expect(events.of('peer-discovered').map((event) => event.address)).toEqual(['127.0.0.3']);
		expect(core.discoveryStats!.dropped.denied).toBe(1);
		await until(() => store.getSnapshot().totals.refused === 1 && store.getSnapshot().discovery.dropped.denied === 1, () => 'the refusal in the store');
	});
});
