import {createHash, randomBytes} from 'node:crypto';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore, type Core, type CoreOptions} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options: CoreOptions = {}): {core: Core; events: Recorder} {
	const core = createCore(options);
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/** A plain Node server on 127.0.0.1 port 0 (the "real server" behind the relay). */
async function server(onSocket: (socket: net.Socket) => void): Promise<number> {
	const sockets = new Set<net.Socket>();
	const listening = net.createServer({allowHalfOpen: true}, (socket) => {
		sockets.add(socket);
		socket.on('error', () => {});
		onSocket(socket);
	});
	await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
	cleanups.push(
		async () =>
			new Promise((resolve) => {
				listening.close(resolve);
				for (const socket of sockets) {
					socket.destroy();
				}
			}),
	);
	return (listening.address() as net.AddressInfo).port;
}

async function forwardTo(core: Core, events: Recorder, port: number, options: {framing?: import('../../source/core/index.js').FramingSpec} = {}): Promise<number> {
	const id = core.forward('127.0.0.1', 0, {host: '127.0.0.1', port}, options);
	const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
	expect(opened.target).toEqual({address: '127.0.0.1', port});
	return opened.port;
}

function client(port: number): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	return socket;
}

function collect(socket: net.Socket): {chunks: Buffer[]; ended: Promise<void>; closed: Promise<Error | undefined>} {
	const chunks: Buffer[] = [];
	socket.on('data', (chunk: Buffer) => chunks.push(chunk));
	let lastError: Error | undefined;
	socket.on('error', (error) => {
		lastError = error;
	});
	return {
		chunks,
		ended: new Promise((resolve) => socket.on('end', resolve)),
		closed: new Promise((resolve) => socket.on('close', () => resolve(lastError))),
	};
}

describe('forward', () => {
	it('each client of a forward gets its own upstream connection, and the pair names each other under one relay id', async () => {
		const accepted: net.Socket[] = [];
		const upstream = await server((socket) => accepted.push(socket));
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream);

		client(port);
		client(port);
		await until(() => accepted.length === 2, () => `${accepted.length} upstream connections`);
		await until(() => events.of('connection-opened').length === 4, () => 'four halves open');

		const relays = events.of('relay-opened');
		expect(relays.map((event) => event.relay)).toEqual(['R1', 'R2']);
		for (const relay of relays) {
			const client = events.of('connection-opened').find((event) => event.connection === relay.client)!;
			const server = events.of('connection-opened').find((event) => event.connection === relay.server)!;
			expect(client).toMatchObject({origin: 'accepted', relay: relay.relay, partner: relay.server});
			expect(server).toMatchObject({origin: 'dialed', relay: relay.relay, partner: relay.client, remote: {address: '127.0.0.1', port: upstream}});
		}
	});

	it('the store shows both halves as connection rows carrying their relay and partner, and the forward its target', async () => {
		const upstream = await server(() => {});
		const {core, events} = setup();
		const store = createStore(core.bus, {publishIntervalMs: 0});
		cleanups.push(() => store.dispose());
		const port = await forwardTo(core, events, upstream);
		client(port);
		const relay = await events.waitFor('relay-opened');
		await events.waitFor('connection-opened', (event) => event.connection === relay.server);
		store.flush();
		const rows = store.getSnapshot().connections;
		expect(rows.map((row) => [row.id, row.relay, row.partner])).toEqual([
			[relay.client, 'R1', relay.server],
			[relay.server, 'R1', relay.client],
		]);
		expect(store.getSnapshot().listeners[0]!.target).toEqual({address: '127.0.0.1', port: upstream});
	});
});

function sha256(chunks: Buffer[]): string {
	return createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
	const probe = net.createServer();
	await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
	const {port} = probe.address() as net.AddressInfo;
	await new Promise((resolve) => probe.close(resolve));
	return port;
}

describe('relay is faithful', () => {
	it('bytes pass unchanged and in order each way, and data-received on both halves carries every byte', async () => {
		const toServer = randomBytes(3 * 1024 * 1024);
		const toClient = randomBytes(2 * 1024 * 1024 + 7);
		let atServer: ReturnType<typeof collect> | undefined;
		const upstream = await server((socket) => {
			atServer = collect(socket);
			socket.end(toClient);
		});
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream);
		const socket = client(port);
		const atClient = collect(socket);
		socket.end(toServer);
		await atClient.ended;
		await until(() => atServer !== undefined, () => 'upstream accepted');
		await atServer!.ended;

		expect(sha256(atServer!.chunks)).toBe(sha256([toServer]));
		expect(sha256(atClient.chunks)).toBe(sha256([toClient]));
		const relay = events.of('relay-opened')[0]!;
		const seen = (connection: string) => events.of('data-received').filter((event) => event.connection === connection).map((event) => event.data);
		expect(sha256(seen(relay.client))).toBe(sha256([toServer]));
		expect(sha256(seen(relay.server))).toBe(sha256([toClient]));
		const closed = await events.waitFor('relay-closed');
		expect(closed).toMatchObject({relay: 'R1', reason: 'closed', bytesToServer: toServer.length, bytesToClient: toClient.length});
	});

	it('a client FIN reaches the server as a FIN, and the server can still answer (half-close end to end)', async () => {
		const upstream = await server((socket) => {
			const got: Buffer[] = [];
			socket.on('data', (chunk: Buffer) => got.push(chunk));
			// Answer only once the client's FIN arrived: the answer proves our side stayed open.
			socket.on('end', () => {
				socket.end(`got ${Buffer.concat(got).toString()} then FIN`);
			});
		});
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream);
		const socket = client(port);
		const atClient = collect(socket);
		socket.end('question');
		await atClient.ended;
		expect(Buffer.concat(atClient.chunks).toString()).toBe('got question then FIN');
		const relay = await events.waitFor('relay-closed');
		expect(relay.reason).toBe('closed');
		const halfClosed = events.of('connection-half-closed');
		expect(halfClosed.filter((event) => event.connection === relay.server && event.by === 'local')).toHaveLength(1);
	});

	it('the server resetting mid-stream resets the client, and a client reset resets the server', async () => {
		const upstream = await server((socket) => {
			socket.write('partial answer');
			socket.once('data', () => {
				socket.resetAndDestroy();
			});
		});
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream);
		const socket = client(port);
		const atClient = collect(socket);
		await until(() => atClient.chunks.length > 0, () => 'the first bytes');
		socket.write('go on');
		const error = await atClient.closed;
		expect((error as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
		const closed = await events.waitFor('relay-closed');
		expect(closed).toMatchObject({reason: 'reset', code: 'ECONNRESET'});
		expect(events.of('connection-closed').find((event) => event.connection === closed.client)).toMatchObject({reason: 'reset', code: 'RELAYED_RESET'});

		// And the other way: the client resets, the server sees ECONNRESET.
		let serverSide: ReturnType<typeof collect> | undefined;
		const upstream2 = await server((socket2) => {
			serverSide = collect(socket2);
		});
		const port2 = await forwardTo(core, events, upstream2);
		const socket2 = client(port2);
		socket2.write('hello');
		await until(() => (serverSide?.chunks.length ?? 0) > 0, () => 'server got bytes');
		socket2.resetAndDestroy();
		expect(((await serverSide!.closed) as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
	});

	it('an upstream that refuses closes the client with a reason on its row', async () => {
		const {core, events} = setup();
		const store = createStore(core.bus, {publishIntervalMs: 0});
		cleanups.push(() => store.dispose());
		const port = await forwardTo(core, events, await closedPort());
		const socket = client(port);
		const atClient = collect(socket);
		await atClient.closed;
		const closed = await events.waitFor('relay-closed');
		expect(closed).toMatchObject({reason: 'upstream-failed', code: 'ECONNREFUSED'});
		const failed = await events.waitFor('socket-failed', (event) => event.target === closed.client);
		expect(failed.code).toBe('UPSTREAM_FAILED');
		expect(failed.message).toMatch(/ECONNREFUSED/);
		store.flush();
		const row = store.getSnapshot().connections.find((candidate) => candidate.id === closed.client)!;
		expect(row.error?.message).toMatch(/refused/);
		expect(row.closeReason).toBe('reset');
	});

	it('an upstream that times out closes the client with ETIMEDOUT as the reason', async () => {
		// A listener whose process is stopped: its accept queue fills and the kernel drops further SYNs.
		const {spawn} = await import('node:child_process');
		const child = spawn(process.execPath, ['-e', `const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);process.kill(process.pid,'SIGSTOP')})`]);
		cleanups.push(() => child.kill('SIGKILL'));
		const blackHole = await new Promise<number>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))));
		const fillers = Array.from({length: 6}, () => net.connect(blackHole, '127.0.0.1').on('error', () => {}));
		cleanups.push(() => fillers.forEach((socket) => socket.destroy()));
		await until(() => fillers.filter((socket) => !socket.connecting).length >= 2, () => 'the accept queue filled');

		const {core, events} = setup({connectTimeoutMs: 400});
		const port = await forwardTo(core, events, blackHole);
		const atClient = collect(client(port));
		await atClient.closed;
		const closed = await events.waitFor('relay-closed');
		expect(closed).toMatchObject({reason: 'upstream-failed', code: 'ETIMEDOUT'});
		expect((await events.waitFor('socket-failed', (event) => event.target === closed.client)).message).toMatch(/timed out/);
	});

	it('backpressure crosses the relay: a server that stops reading stops the relay reading the client, and memory stays bounded', async () => {
		const payload = randomBytes(48 * 1024 * 1024);
		let upstreamSocket: net.Socket | undefined;
		const received: Buffer[] = [];
		const upstream = await server((socket) => {
			upstreamSocket = socket;
			socket.pause(); // Not reading, for now.
		});
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream);
		const socket = client(port);
		socket.write(payload);
		socket.end();
		const relay = await events.waitFor('relay-opened');
		// What the relay holds at every moment: read from the client, not yet handed to the server's kernel buffer.
		let read = 0;
		let sent = 0;
		let maxHeld = 0;
		core.bus.subscribe((event) => {
			if (event.type === 'data-received' && event.connection === relay.client) {
				read += event.bytes;
			} else if (event.type === 'data-sent' && event.connection === relay.server) {
				sent += event.bytes;
			}

			maxHeld = Math.max(maxHeld, read - sent);
		});

		// When the relay has stopped reading (nothing more read for 300 ms while the server reads nothing)
		let lastRead = -1;
		let stableSince = Date.now();
		await until(
			() => {
				if (read !== lastRead) {
					lastRead = read;
					stableSince = Date.now();
				}

				return read > 0 && Date.now() - stableSince > 300;
			},
			() => `relay still reading: ${read} read, ${sent} sent`,
			20_000,
		);
		// Then it read only what the kernel buffers and its own high-water mark hold, far from the whole payload
		expect(read).toBeLessThan(payload.length / 2);

		// And once the server reads again, every byte arrives, in order
		await until(() => upstreamSocket !== undefined, () => 'upstream accepted');
		upstreamSocket!.on('data', (chunk: Buffer) => received.push(chunk));
		upstreamSocket!.resume();
		await new Promise((resolve) => upstreamSocket!.on('end', resolve));
		expect(sha256(received)).toBe(sha256([payload]));
		// And at no moment did the relay hold more than its 1 MiB high-water mark plus one read chunk
		expect(maxHeld).toBeLessThanOrEqual(1024 * 1024 + 64 * 1024);
	});

	it('framing applies per direction for display only: the bytes sent on are not reframed', async () => {
		const atServer: Buffer[] = [];
		const upstream = await server((socket) => {
			socket.on('data', (chunk: Buffer) => atServer.push(chunk));
			socket.on('end', () => socket.end('one\ntwo\npartial'));
		});
		const {core, events} = setup();
		const port = await forwardTo(core, events, upstream, {framing: {kind: 'line'}});
		const atClient = collect(client(port));
		const socket = client(port);
		void atClient;
		const replies = collect(socket);
		socket.end('a\r\nb\nrest');
		await replies.ended;
		expect(Buffer.concat(atServer).toString()).toBe('a\r\nb\nrest');
		expect(Buffer.concat(replies.chunks).toString()).toBe('one\ntwo\npartial');
		const relay = events.of('relay-opened')[1]!;
		const messages = (connection: string) => events.of('message-received').filter((event) => event.connection === connection).map((event) => event.data.toString());
		expect(messages(relay.client)).toEqual(['a', 'b']);
		expect(messages(relay.server)).toEqual(['one', 'two']);
	});
});
