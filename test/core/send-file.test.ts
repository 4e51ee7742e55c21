import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {PassThrough, Writable} from 'node:stream';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {runJsonLines} from '../../source/core/json-lines.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/** A core dialed to a loopback peer that reads only once `startReading` is called. */
async function toStalledPeer(maxQueuedBytes: number): Promise<{core: Core; events: Recorder; id: string; startReading: () => void; received: () => number}> {
	let peer: net.Socket | undefined;
	let received = 0;
	const server = net.createServer((socket) => {
		peer = socket;
		socket.on('error', () => {});
		socket.pause();
		socket.on('data', (chunk: Buffer) => {
			received += chunk.length;
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const core = createCore({maxQueuedBytes});
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
		peer?.destroy();
		await new Promise((resolve) => server.close(resolve));
	});
	const events = record(core.bus);
	const id = core.connect('127.0.0.1', (server.address() as net.AddressInfo).port)!;
	await events.waitFor('connection-opened');
	await until(() => peer !== undefined, () => 'the peer to accept');
	return {core, events, id, startReading: () => peer!.resume(), received: () => received};
}

describe('queue limits: typed sends and scripts', () => {
	it('a typed send past --max-queued is still refused, while a script is told to wait for room instead', async () => {
		const {core, events, id, startReading} = await toStalledPeer(MiB);
		// The kernel's buffers take megabytes before the queue holds any: send until bytes wait in it.
		await until(
			() => {
				core.send(id, Buffer.alloc(256 * 1024));
				return core.whenQueueHasRoom(id, MiB) !== undefined;
			},
			() => 'the queue to fill',
		);
		expect(core.send(id, Buffer.alloc(MiB))).toBe(false);
		expect((await events.waitFor('command-failed')).code).toBe('QUEUE_FULL');

		let hasRoom = false;
		void core.whenQueueHasRoom(id, MiB)!.then(() => {
			hasRoom = true;
		});
		startReading();
		await until(() => hasRoom, () => 'room in the queue once the peer reads');
		expect(core.send(id, Buffer.alloc(MiB))).toBe(true);
	});
});

describe('sendfile on a connection', () => {
	it('waits for room as the peer reads; a send meanwhile is refused as busy; close stops the file, and says how much was queued', async () => {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-sendfile-'));
		cleanups.push(() => {
			rmSync(directory, {recursive: true, force: true});
		});
		const file = path.join(directory, 'thirty-two.bin');
		writeFileSync(file, Buffer.alloc(32 * MiB, 0x5a));
		const {core, events, id} = await toStalledPeer(MiB);

		expect(core.sendFile(id, file, {ref: 'f'})).toBe(true);
		expect(await events.waitFor('sendfile-started')).toMatchObject({connection: id, path: file, size: 32 * MiB, ref: 'f'});
		// The peer reads nothing: the file stops at the queue limit, it is not read ahead into memory.
		await until(() => core.whenQueueHasRoom(id, 256 * 1024) !== undefined, () => 'the queue to fill from the file');
		const queuedSoFar = events.of('send-queued').reduce((sum, event) => sum + event.bytes, 0);
		expect(queuedSoFar).toBeLessThan(32 * MiB);

		expect(core.send(id, Buffer.from('typed'))).toBe(false);
		expect((await events.waitFor('command-failed')).code).toBe('BUSY');

		expect(core.close(id)).toBe(true);
		const stopped = await events.waitFor('sendfile-failed');
		expect(stopped).toMatchObject({connection: id, code: 'STOPPED', ref: 'f'});
		expect(stopped.bytes).toBe(events.of('send-queued').reduce((sum, event) => sum + event.bytes, 0));
		expect(events.of('sendfile-finished')).toEqual([]);
	});
});

describe('sendfile in --json when stdout is not read', () => {
	it('stops sending while stdout is behind (each piece sent is an event to write), and finishes once it is read again', async () => {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-sendfile-'));
		cleanups.push(() => {
			rmSync(directory, {recursive: true, force: true});
		});
		const file = path.join(directory, 'thirty-two.bin');
		const size = 32 * MiB;
		writeFileSync(file, Buffer.alloc(size, 0x5a));
		const {core, events, id, startReading, received} = await toStalledPeer(MiB);
		startReading();

		// A stdout that takes nothing until released.
		let waiting: Array<() => void> | undefined = [];
		const output = new Writable({
			highWaterMark: 1024,
			write(_chunk, _encoding, callback) {
				if (waiting) {
					waiting.push(callback);
				} else {
					callback();
				}
			},
		});
		const input = new PassThrough();
		const session = runJsonLines({core, input, output, graceMs: 100});
		cleanups.push(async () => session.quit());
		input.write(`${JSON.stringify({cmd: 'sendfile', connection: id, path: file})}\n`);
		await events.waitFor('sendfile-started');
		// The file fills the queue, and the queue does not drain: nothing more goes out while stdout is behind.
		await until(() => core.whenQueueHasRoom(id, 256 * 1024) !== undefined, () => 'the queue to fill while stdout is behind');
		expect(received()).toBeLessThan(MiB);
		expect(events.of('sendfile-finished')).toEqual([]);

		const callbacks = waiting;
		waiting = undefined;
		for (const callback of callbacks) {
			callback();
		}

		await until(() => received() === size, () => `${size} bytes at the peer (has ${received()})`, 60_000);
		expect(await events.waitFor('sendfile-finished')).toMatchObject({bytes: size});
	});
});
