import {createHash} from 'node:crypto';
import {spawn, type ChildProcess} from 'node:child_process';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cores: Core[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	await Promise.all(cores.splice(0).map(async (core) => core.closeAll(200)));
});

function setup(options?: Parameters<typeof createCore>[0]): {core: Core; events: Recorder} {
	const core = createCore(options);
	cores.push(core);
	return {core, events: record(core.bus)};
}

async function listenOnLoopback(core: Core, events: Recorder, options?: Parameters<Core['listen']>[2]): Promise<number> {
	const id = core.listen('127.0.0.1', 0, options);
	const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
	expect(opened.port).toBeGreaterThan(0);
	return opened.port;
}

/** A plain Node server the test controls, as the "other side". */
async function rawServer(onSocket: (socket: net.Socket) => void): Promise<number> {
	const sockets = new Set<net.Socket>();
	const server = net.createServer({allowHalfOpen: true}, (socket) => {
		sockets.add(socket);
		socket.on('error', () => {});
		onSocket(socket);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	return (server.address() as net.AddressInfo).port;
}

function sha256(chunks: Buffer[]): string {
	const hash = createHash('sha256');
	for (const chunk of chunks) {
		hash.update(chunk);
	}

	return hash.digest('hex');
}

describe('connections', () => {
	it('three clients to one listener on port 0 get three distinct connection names and exact byte counts both ways', async () => {
		// Given a listener on an ephemeral port
		const {core, events} = setup();
		const port = await listenOnLoopback(core, events);

		// When three netdash clients dial it and each side sends a different amount
		const dialed = [1, 2, 3].map(() => core.connect('127.0.0.1', port)!);
		const opened = await Promise.all(dialed.map(async (id) => events.waitFor('connection-opened', (event) => event.connection === id)));
		await until(() => events.of('connection-opened').filter((event) => event.origin === 'accepted').length === 3, () => 'three accepted');
		const accepted = events.of('connection-opened').filter((event) => event.origin === 'accepted');
		for (const [index, id] of dialed.entries()) {
			core.send(id, Buffer.alloc(1000 * (index + 1), 'a'));
		}

		for (const [index, connection] of accepted.entries()) {
			core.send(connection.connection, Buffer.alloc(7 * (index + 1), 'b'));
		}

		// Then every connection name (local and remote 4-tuple) is distinct and each peer saw the other's
		const names = opened.map((event) => `${event.local.address}:${event.local.port}->${event.remote.address}:${event.remote.port}`);
		expect(new Set(names).size).toBe(3);
		for (const event of opened) {
			expect(event.remote.port).toBe(port);
			const twin = accepted.find((other) => other.remote.port === event.local.port);
			expect(twin?.listener).toBe('L1');
			expect(twin?.local.port).toBe(port);
		}

		const received = (id: string) => events.of('data-received').filter((event) => event.connection === id).reduce((sum, event) => sum + event.bytes, 0);
		await until(
			() => dialed.every((id, index) => received(accepted.find((a) => a.remote.port === opened[index]!.local.port)!.connection) === 1000 * (index + 1)),
			() => 'server side received every byte',
		);
		await until(() => accepted.every((event, index) => {
			const client = opened.find((o) => o.local.port === event.remote.port)!;
			return received(client.connection) === 7 * (index + 1);
		}), () => 'client side received every byte');

		// And closing the dialed side is enough: each accepted side closes on its peer's FIN, and every close
		// reports the same exact counters
		for (const id of dialed) {
			core.close(id);
		}

		await until(() => events.of('connection-closed').length === 6, () => `${events.of('connection-closed').length} closed`);
		for (const [index, id] of dialed.entries()) {
			const closed = events.of('connection-closed').find((event) => event.connection === id)!;
			expect(closed.bytesOut).toBe(1000 * (index + 1));
			expect(closed.reason).toBe('closed');
		}

		for (const event of accepted) {
			const closed = events.of('connection-closed').find((each) => each.connection === event.connection)!;
			expect(closed.reason).toBe('closed');
			expect(closed.ref).toBeUndefined();
		}
	});

	it('after our shutdown we still receive, and the peer sees our FIN', async () => {
		const {core, events} = setup();
		let peer!: net.Socket;
		const peerGotEnd = new Promise<void>((resolve) => {
			void rawServer((socket) => {
				peer = socket;
				socket.on('end', resolve);
				socket.resume();
			}).then((port) => core.connect('127.0.0.1', port));
		});
		const opened = await events.waitFor('connection-opened');

		// When we half-close our side
		expect(core.shutdown(opened.connection)).toBe(true);
		await peerGotEnd;
		await events.waitFor('connection-half-closed', (event) => event.by === 'local');

		// Then the peer can still send to us and we receive it
		peer.end('still talking');
		const data = await events.waitFor('data-received');
		expect(data.data.toString()).toBe('still talking');
		// And sending after our shutdown is refused with a clear message, not a crash
		expect(core.send(opened.connection, Buffer.from('x'))).toBe(false);
		expect((await events.waitFor('command-failed')).message).toMatch(/shut down/);
		const closed = await events.waitFor('connection-closed');
		expect(closed.reason).toBe('closed');
		expect(closed.bytesIn).toBe(13);
	});

	it('with halfOpen, after the peer sends FIN we can still send to it', async () => {
		const {core, events} = setup();
		const chunks: Buffer[] = [];
		const peerDone = new Promise<void>((resolve) => {
			void rawServer((socket) => {
				socket.on('data', (chunk: Buffer) => chunks.push(chunk));
				socket.on('end', resolve);
				socket.end('bye from peer');
			}).then((port) => core.connect('127.0.0.1', port, {halfOpen: true}));
		});

		const halfClosed = await events.waitFor('connection-half-closed', (event) => event.by === 'remote');
		core.send(halfClosed.connection, Buffer.from('reply after your FIN'));
		core.shutdown(halfClosed.connection);
		await peerDone;
		expect(Buffer.concat(chunks).toString()).toBe('reply after your FIN');
		const closed = await events.waitFor('connection-closed');
		expect(closed).toMatchObject({reason: 'closed', bytesIn: 13, bytesOut: 20, unsent: 0});
	});
});

describe('resets', () => {
	it('reset is seen by the peer as ECONNRESET', async () => {
		const {core, events} = setup();
		const peerError = new Promise<string | undefined>((resolve) => {
			void rawServer((socket) => {
				socket.removeAllListeners('error');
				socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code));
				socket.on('close', () => resolve('closed without error'));
				socket.resume();
			}).then((port) => core.connect('127.0.0.1', port));
		});
		const opened = await events.waitFor('connection-opened');
		core.reset(opened.connection);
		expect(await peerError).toBe('ECONNRESET');
		expect((await events.waitFor('connection-closed')).reason).toBe('reset');
	});

	it("a peer's RST shows as state reset with the code kept", async () => {
		const {core, events} = setup();
		await rawServer((socket) => {
			socket.write('hello', () => socket.resetAndDestroy());
		}).then((port) => core.connect('127.0.0.1', port));
		const closed = await events.waitFor('connection-closed');
		expect(closed.reason).toBe('reset');
		expect(closed.code).toBe('ECONNRESET');
		const failed = await events.waitFor('socket-failed');
		expect(failed.message).toMatch(/reset by the peer/);
	});
});

describe('failures are events, not crashes', () => {
	it('a refused connect is a socket-failed event with a plain message', async () => {
		// Given a port where nothing listens (bound then closed)
		const probe = net.createServer();
		await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
		const {port} = probe.address() as net.AddressInfo;
		await new Promise((resolve) => probe.close(resolve));

		const {core, events} = setup();
		const id = core.connect('127.0.0.1', port, {ref: 'dial-1'});
		const failed = await events.waitFor('socket-failed');
		expect(failed).toMatchObject({target: id, code: 'ECONNREFUSED', ref: 'dial-1'});
		expect(failed.message).toBe(`connection refused by 127.0.0.1:${port} — nothing is listening there`);
		expect((await events.waitFor('connection-closed')).reason).toBe('failed');
	});

	it('an address in use is a socket-failed event and the first listener keeps working', async () => {
		const {core, events} = setup();
		const port = await listenOnLoopback(core, events);
		const second = core.listen('127.0.0.1', port);
		const failed = await events.waitFor('socket-failed', (event) => event.target === second);
		expect(failed.code).toBe('EADDRINUSE');
		expect(failed.message).toContain('already in use');
		expect(core.listenerIds()).toEqual(['L1']);
		core.connect('127.0.0.1', port);
		await events.waitFor('connection-opened', (event) => event.origin === 'accepted');
	});

	it('a dial into a full accept queue times out with ETIMEDOUT after the connect timeout', async () => {
		// Given a listener whose process is stopped: its accept queue fills and the kernel drops further SYNs
		const child: ChildProcess = spawn(process.execPath, [
			'-e',
			`const s=require('net').createServer();s.listen({port:0,host:'127.0.0.1',backlog:1},()=>{console.log(s.address().port);process.kill(process.pid,'SIGSTOP')})`,
		]);
		cleanups.push(() => {
			child.kill('SIGKILL');
		});
		const port = await new Promise<number>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))));
		// Backlog 1 queues two connections; Node treats backlog 0 as "default" (511).
		const fillers = Array.from({length: 6}, () => net.connect(port, '127.0.0.1').on('error', () => {}));
		cleanups.push(() => {
			for (const socket of fillers) {
				socket.destroy();
			}
		});
		await until(() => fillers.filter((socket) => !socket.connecting).length >= 2, () => 'the accept queue filled');

		// When netdash dials it with a short timeout
		const {core, events} = setup({connectTimeoutMs: 400});
		const id = core.connect('127.0.0.1', port);
		const failed = await events.waitFor('socket-failed');

		// Then it fails with ETIMEDOUT and a message naming the timeout
		expect(failed).toMatchObject({target: id, code: 'ETIMEDOUT'});
		expect(failed.message).toMatch(/timed out after 0.4 s/);
		expect((await events.waitFor('connection-closed')).reason).toBe('failed');
	});

	it('an unknown host is a socket-failed event', async () => {
		const {core, events} = setup();
		core.connect('no-such-host.invalid', 80);
		const failed = await events.waitFor('socket-failed', undefined, 20_000);
		expect(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']).toContain(failed.code);
		expect(failed.message).toMatch(/cannot resolve host/);
	});

	it('commands on unknown ids and bad ports are command-failed events', async () => {
		const {core, events} = setup();
		expect(core.send('C99', Buffer.from('x'), {ref: 'r1'})).toBe(false);
		expect(await events.waitFor('command-failed')).toMatchObject({ref: 'r1', code: 'UNKNOWN_ID'});
		expect(core.listen('127.0.0.1', 70_000)).toBeUndefined();
		expect((await events.waitFor('command-failed', (event) => event.code === 'BAD_PORT')).message).toMatch(/70000/);
	});
});

describe('backpressure', () => {
	it('64 MiB through a slow reader arrives whole, and queued bytes rise then fall to 0', async () => {
		const size = 64 * 1024 * 1024;
		const payload = Buffer.alloc(size);
		for (let index = 0; index < size; index += 4) {
			payload.writeUInt32LE((index * 2_654_435_761) >>> 0, index);
		}

		// Given a peer that reads in bursts with pauses
		const received: Buffer[] = [];
		let receivedBytes = 0;
		const {core, events} = setup({maxQueuedBytes: 128 * 1024 * 1024});
		const port = await rawServer((socket) => {
			socket.on('data', (chunk: Buffer) => {
				received.push(chunk);
				receivedBytes += chunk.length;
				if (received.length % 64 === 0) {
					socket.pause();
					setTimeout(() => socket.resume(), 5);
				}
			});
		});
		const id = core.connect('127.0.0.1', port)!;
		await events.waitFor('connection-opened');

		// When 64 MiB are sent at once, the process is not blocked: a timer still fires while they drain
		const loopAlive = new Promise<number>((resolve) => {
			const started = Date.now();
			setTimeout(() => resolve(Date.now() - started), 10);
		});
		expect(core.send(id, payload)).toBe(true);
		const queuedAtSend = (await events.waitFor('send-queued')).queued;
		expect(await loopAlive).toBeLessThan(5000);
		await until(() => receivedBytes === size, () => `${receivedBytes} of ${size} received`, 60_000);

		// Then every byte arrived in order, and the queue drained to 0
		expect(sha256(received)).toBe(sha256([payload]));
		const sent = events.of('data-sent');
		expect(sent.reduce((sum, event) => sum + event.bytes, 0)).toBe(size);
		expect(queuedAtSend).toBeGreaterThan(0);
		expect(Math.max(...sent.map((event) => event.queued))).toBeGreaterThan(0);
		expect(sent.at(-1)!.queued).toBe(0);
		console.log(`64 MiB: queued peaked at ${queuedAtSend} B, drained in ${sent.length} pieces`);
	});

	it('a send larger than the queue limit is refused with a message naming the limit', async () => {
		const {core, events} = setup({maxQueuedBytes: 1024 * 1024});
		const port = await rawServer(() => {}); // Never reads.
		const id = core.connect('127.0.0.1', port)!;
		await events.waitFor('connection-opened');
		expect(core.send(id, Buffer.alloc(2 * 1024 * 1024))).toBe(false);
		const failed = await events.waitFor('command-failed');
		expect(failed.code).toBe('TOO_LARGE');
		expect(failed.message).toMatch(/larger than the queue limit of 1048576 bytes/);
	});

	it('both sides writing 32 MiB before reading (the classic deadlock) completes, because netdash never blocks', async () => {
		const size = 32 * 1024 * 1024;
		const {core, events} = setup({maxQueuedBytes: 64 * 1024 * 1024});
		let peerReceived = 0;
		const peerDone = new Promise<void>((resolve) => {
			void rawServer((socket) => {
				// The peer writes everything first and only then starts reading.
				socket.pause();
				socket.write(Buffer.alloc(size, 'p'), () => {
					socket.on('data', (chunk: Buffer) => {
						peerReceived += chunk.length;
						if (peerReceived === size) {
							resolve();
						}
					});
					socket.resume();
				});
			}).then((port) => {
				const id = core.connect('127.0.0.1', port)!;
				void events.waitFor('connection-opened').then(() => core.send(id, Buffer.alloc(size, 'n')));
			});
		});
		await peerDone;
		await until(() => events.of('data-received').reduce((sum, event) => sum + event.bytes, 0) === size, () => 'netdash received all');
		expect(peerReceived).toBe(size);
	});
});

describe('framing on a live connection', () => {
	it('line framing gives message-received events for each line whatever the segments', async () => {
		const {core, events} = setup();
		const port = await listenOnLoopback(core, events, {framing: {kind: 'line'}});
		const client = net.connect(port, '127.0.0.1');
		client.on('error', () => {});
		cleanups.push(() => {
			client.destroy();
		});
		await new Promise((resolve) => client.once('connect', resolve));
		client.write('hel');
		await events.waitFor('data-received');
		client.write('lo\r\nwor');
		await until(() => events.of('data-received').length >= 2, () => 'second chunk');
		client.write('ld\n\n');
		await until(() => events.of('message-received').length === 3, () => 'three messages');
		expect(events.of('message-received').map((event) => event.data.toString())).toEqual(['hello', 'world', '']);
	});
});
