import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {createCore, executeCommand, type Core} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

/** Point 4 of issue 13, by JSON command: intercept, release (as is or edited), drop, inject. */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

type Pair = {core: Core; events: Recorder; client: net.Socket; atServer: () => string; atClient: () => string; serverEnded: () => boolean; server: () => net.Socket};

/** A forward to a server that keeps what it reads, and one client through it. */
async function pair(): Promise<Pair> {
	let serverSocket: net.Socket | undefined;
	let received = '';
	let isEnded = false;
	const upstream = net.createServer({allowHalfOpen: true}, (socket) => {
		serverSocket = socket;
		socket.on('error', () => {});
		socket.on('data', (chunk: Buffer) => {
			received += chunk.toString();
		});
		socket.on('end', () => {
			isEnded = true;
		});
	});
	await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
	const core = createCore();
	const events = record(core.bus);
	cleanups.push(async () => {
		serverSocket?.destroy();
		upstream.close();
		await core.closeAll(100);
		core.dispose();
	});
	const id = core.forward('127.0.0.1', 0, {host: '127.0.0.1', port: (upstream.address() as net.AddressInfo).port});
	const {port} = await events.waitFor('listener-opened', (event) => event.listener === id);
	const client = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
	client.on('error', () => {});
	cleanups.push(() => client.destroy());
	let atClient = '';
	client.on('data', (chunk: Buffer) => {
		atClient += chunk.toString();
	});
	await events.waitFor('connection-opened', (event) => event.origin === 'dialed');
	await until(() => serverSocket !== undefined, () => 'upstream accepted');
	return {core, events, client, atServer: () => received, atClient: () => atClient, serverEnded: () => isEnded, server: () => serverSocket!};
}

function run(core: Core, line: string): void {
	executeCommand(core, parseJsonCommand(line));
}

describe('steering a relay', () => {
	it('intercept holds chunks going to the server; each can be released, edited then released, or dropped, and every action is an event', async () => {
		const {core, events, client, atServer} = await pair();
		run(core, '{"cmd":"intercept","relay":"R1","direction":"to-server","on":true}');
		expect(events.of('relay-intercept-changed')).toMatchObject([{relay: 'R1', direction: 'to-server', isOn: true}]);

		// Three chunks, one at a time so each is one read
		for (const [index, text] of ['first ', 'second ', 'third '].entries()) {
			client.write(text);
			await until(() => events.of('relay-chunk-held').length === index + 1, () => `${events.of('relay-chunk-held').length} held`);
		}

		const held = events.of('relay-chunk-held');
		expect(held.map((event) => [event.chunk, event.direction, event.data.toString()])).toEqual([
			[1, 'to-server', 'first '],
			[2, 'to-server', 'second '],
			[3, 'to-server', 'third '],
		]);
		expect(atServer()).toBe('');

		run(core, '{"cmd":"release","relay":"R1","chunk":1}');
		run(core, '{"cmd":"release","relay":"R1","chunk":2,"text":"EDITED "}');
		run(core, '{"cmd":"drop","relay":"R1","chunk":3,"ref":"d3"}');
		await until(() => atServer() === 'first EDITED ', () => `server has ${JSON.stringify(atServer())}`);
		expect(events.of('relay-chunk-released').map((event) => [event.chunk, event.isEdited, event.bytes])).toEqual([
			[1, false, 6],
			[2, true, 7],
		]);
		expect(events.of('relay-chunk-dropped')).toMatchObject([{chunk: 3, bytes: 6, ref: 'd3'}]);

		// A chunk that is not held is a command-failed, not a crash
		run(core, '{"cmd":"drop","relay":"R1","chunk":3,"ref":"again"}');
		expect(await events.waitFor('command-failed', (event) => event.ref === 'again')).toMatchObject({code: 'UNKNOWN_CHUNK'});
	});

	it('turning intercept off releases what is held in order, and a FIN waits behind held chunks', async () => {
		const {core, events, client, atServer, serverEnded} = await pair();
		run(core, '{"cmd":"intercept","relay":"R1","direction":"to-server"}');
		client.write('a');
		await until(() => events.of('relay-chunk-held').length === 1, () => 'held a');
		client.write('b');
		await until(() => events.of('relay-chunk-held').length === 2, () => 'held b');
		client.end();
		await events.waitFor('connection-half-closed', (event) => event.by === 'remote');
		expect(serverEnded()).toBe(false);

		run(core, '{"cmd":"intercept","relay":"R1","direction":"to-server","on":false}');
		await until(() => serverEnded(), () => `server has ${JSON.stringify(atServer())}, no FIN`);
		expect(atServer()).toBe('ab');
		// The FIN left after the held bytes, as it came after them from the client
		const serverHalf = events.of('relay-opened')[0]!.server;
		const lastSent = events.of('data-sent').filter((event) => event.connection === serverHalf).at(-1)!;
		const fin = events.of('connection-half-closed').find((event) => event.connection === serverHalf && event.by === 'local')!;
		expect(fin.seq).toBeGreaterThan(lastSent.seq);
	});

	it('inject sends bytes of our own towards either side', async () => {
		const {core, events, atServer, atClient} = await pair();
		run(core, '{"cmd":"inject","relay":"R1","direction":"to-client","text":"hello client"}');
		run(core, '{"cmd":"inject","relay":"R1","direction":"to-server","hex":"68 69"}');
		await until(() => atClient() === 'hello client' && atServer() === 'hi', () => `client ${atClient()} server ${atServer()}`);
		expect(events.of('relay-injected').map((event) => [event.direction, event.bytes])).toEqual([
			['to-client', 12],
			['to-server', 2],
		]);
		run(core, '{"cmd":"inject","relay":"R9","direction":"to-client","text":"x","ref":"r9"}');
		expect(await events.waitFor('command-failed', (event) => event.ref === 'r9')).toMatchObject({code: 'UNKNOWN_ID'});
	});

	it('throttle paces a direction: 8,000 bytes at 20,000 B/s take at least 0.3 s, arrive whole, and the FIN follows them', async () => {
		const {core, events, server, atClient} = await pair();
		run(core, '{"cmd":"throttle","relay":"R1","direction":"to-client","bytesPerSecond":20000}');
		expect(events.of('relay-throttle-changed')).toMatchObject([{relay: 'R1', direction: 'to-client', bytesPerSecond: 20_000}]);
		const payload = 'x'.repeat(7999) + 'y';
		const started = Date.now();
		server().end(payload);
		const clientHalf = events.of('relay-opened')[0]!.client;
		const fin = await events.waitFor('connection-half-closed', (event) => event.connection === clientHalf && event.by === 'local');
		expect(Date.now() - started).toBeGreaterThanOrEqual(300);
		expect(fin.seq).toBeGreaterThan(events.of('data-sent').filter((event) => event.connection === clientHalf).at(-1)!.seq);
		await until(() => atClient().length === payload.length, () => `${atClient().length} bytes at the client`);
		expect(atClient()).toBe(payload);
		// Paced in slices: many data-sent events, none larger than one tick's budget
		const sent = events.of('data-sent').filter((event) => event.connection === clientHalf);
		expect(sent.length).toBeGreaterThanOrEqual(4);
		expect(Math.max(...sent.map((event) => event.bytes))).toBeLessThanOrEqual(2000);
	});
});
