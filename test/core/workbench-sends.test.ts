import {chownSync, lstatSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {Core, type CoreOptions} from '../../source/core/core.js';
import {parseCommandLine} from '../../source/core/command-line.js';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function makeCore(options: CoreOptions = {}): {core: Core; events: Recorder} {
	const core = new Core(options);
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

/** A raw listener and a client of it; `connection` is the accepted side's id. */
async function pair(core: Core, events: Recorder): Promise<{client: net.Socket; connection: string; received: () => Buffer}> {
	const listener = core.listen('127.0.0.1', 0)!;
	const {port} = await events.waitFor('listener-opened', (event) => event.listener === listener);
	const client = net.connect(port, '127.0.0.1');
	client.on('error', () => {});
	const chunks: Buffer[] = [];
	client.on('data', (chunk: Buffer) => chunks.push(chunk));
	cleanups.push(() => {
		client.destroy();
	});
	const opened = await events.waitFor('connection-opened');
	return {client, connection: opened.connection, received: () => Buffer.concat(chunks)};
}

function tempDir(): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-save-'));
	cleanups.push(() => {
		rmSync(directory, {recursive: true, force: true});
	});
	return directory;
}

describe('timed and repeated sends', () => {
	it('send --count 100 sends the text exactly 100 times and the schedule finishes as done', async () => {
		const {core, events} = makeCore();
		const {connection, received} = await pair(core, events);
		core.send(connection, Buffer.from('tick;'), {count: 100});
		const finished = await events.waitFor('schedule-finished');
		expect(finished).toMatchObject({schedule: 'S1', connection, reason: 'done', sent: 100, count: 100});
		await until(() => received().length === 500, () => `received ${received().length} bytes`);
		expect(received().toString()).toBe('tick;'.repeat(100));
	});

	it('a count larger than the queue holds waits for room while the peer does not read: the queue stays under its limit, none is refused', async () => {
		// Given a 64 KiB queue and a peer that stops reading
		const limit = 64 * 1024;
		const {core, events} = makeCore({maxQueuedBytes: limit});
		const {client, connection, received} = await pair(core, events);
		client.pause();

		// When 5,000 sends of 4 KiB (20 MiB, more than the kernel's buffers hold) are scheduled
		const count = 5000;
		core.send(connection, Buffer.alloc(4096, 0x61), {count});

		// Then the queue fills to its limit and the schedule waits there, not failing
		await until(() => events.of('send-queued').some((event) => event.queued > limit - 4096), () => `queued at most ${Math.max(0, ...events.of('send-queued').map((event) => event.queued))}`, 20_000);
		core.listSchedules();
		expect((await events.waitFor('schedules-listed')).schedules).toMatchObject([{schedule: 'S1', count}]);
		expect(events.of('schedule-finished')).toEqual([]);

		// And once the peer reads, every send goes, none refused, the queue never past its limit
		client.resume();
		await events.waitFor('schedule-finished', undefined, 20_000);
		await until(() => received().length === 4096 * count, () => `received ${received().length} bytes`, 20_000);
		expect(events.of('command-failed')).toEqual([]);
		expect(events.of('schedule-finished')[0]).toMatchObject({reason: 'done', sent: count, skipped: 0});
		expect(Math.max(...events.of('send-queued').map((event) => event.queued))).toBeLessThanOrEqual(limit);
	});

	it('send --every sends at the interval until cancelled, and is listed while it runs', async () => {
		const {core, events} = makeCore();
		const {connection, received} = await pair(core, events);
		core.send(connection, Buffer.from('beat\n'), {everyMs: 50});
		await until(() => received().length >= 15, () => `received ${received().length} bytes`);
		core.listSchedules();
		const listed = await events.waitFor('schedules-listed');
		expect(listed.schedules).toMatchObject([{schedule: 'S1', connection, every: 0.05, bytes: 5}]);
		core.cancelSchedule('S1');
		const finished = await events.waitFor('schedule-finished');
		expect(finished.reason).toBe('cancelled');
		const atCancel = finished.sent;
		expect(atCancel).toBeGreaterThanOrEqual(3);
		// Nothing more is sent once cancelled: a second schedule's three beats are the clock (no fixed sleep).
		core.send(connection, Buffer.from('Z'), {everyMs: 50, count: 3});
		await until(() => received().toString().split('Z').length === 4, () => `received ${JSON.stringify(received().toString())}`);
		expect(received().toString().split('beat\n').length - 1).toBe(atCancel);
		core.listSchedules();
		await until(() => events.of('schedules-listed').length === 2, () => 'second list');
		expect(events.of('schedules-listed')[1]!.schedules).toEqual([]);
		expect(events.of('schedule-finished').map((event) => event.reason)).toEqual(['cancelled', 'done']);
	});

	it('a timed send whose tick finds the queue full skips that tick and counts it', async () => {
		const {core, events} = makeCore({maxQueuedBytes: 64 * 1024});
		const {client, connection} = await pair(core, events);
		// The peer stops reading: the kernel buffers fill, then our queue.
		client.pause();
		core.send(connection, Buffer.alloc(60 * 1024), {everyMs: 10});
		await until(() => {
			core.listSchedules();
			const last = events.of('schedules-listed').at(-1);
			return (last?.schedules[0]?.skipped ?? 0) >= 3;
		}, () => 'skipped ticks', 20_000);
		expect(events.of('command-failed')).toEqual([]);
	});

	it('a schedule ends when its connection closes', async () => {
		const {core, events} = makeCore();
		const {client, connection} = await pair(core, events);
		core.send(connection, Buffer.from('x'), {everyMs: 20});
		client.destroy();
		const finished = await events.waitFor('schedule-finished');
		expect(finished.reason).toBe('closed');
	});

	it('cancel of an unknown schedule fails with one line naming the running ones', async () => {
		const {core, events} = makeCore();
		core.cancelSchedule('S9');
		expect((await events.waitFor('command-failed')).message).toBe('no schedule "S9" (none is running)');
	});

	it('send reads --every and --count on the command line, and every/count in JSON', () => {
		expect(parseCommandLine('send --every 1s hello', {selected: 'C1'})).toEqual({cmd: 'send', connection: 'C1', bytes: Buffer.from('hello'), framed: true, everyMs: 1000});
		expect(parseCommandLine('send --count 100 C2 a b')).toEqual({cmd: 'send', connection: 'C2', bytes: Buffer.from('a b'), framed: true, count: 100});
		expect(parseCommandLine('send C2 --count 3 x')).toMatchObject({bytes: Buffer.from('--count 3 x')});
		expect(() => parseCommandLine('send --count 0 x', {selected: 'C1'})).toThrow(/at least 1/);
		expect(parseCommandLine('cancel S3')).toEqual({cmd: 'cancel', schedule: 'S3'});
		expect(parseCommandLine('schedules')).toEqual({cmd: 'schedules'});
		expect(parseJsonCommand('{"cmd":"send","connection":"C1","text":"hi","every":0.5,"count":4}')).toEqual({cmd: 'send', connection: 'C1', bytes: Buffer.from('hi'), everyMs: 500, count: 4});
		expect(parseJsonCommand('{"cmd":"cancel","schedule":"S1"}')).toEqual({cmd: 'cancel', schedule: 'S1'});
		expect(() => parseJsonCommand('{"cmd":"send","connection":"C1","text":"hi","count":0}')).toThrow(/count/);
	});
});

describe('raw saves', () => {
	it('save writes what the connection receives from now on, byte for byte, and reports the count at close', async () => {
		const {core, events} = makeCore();
		const {client, connection} = await pair(core, events);
		client.write('before ');
		await events.waitFor('data-received');
		const file = path.join(tempDir(), 'in.bin');
		core.save(connection, file, 'in');
		await events.waitFor('save-started');
		const payload = Buffer.from(Array.from({length: 70_000}, (_, index) => index % 256));
		client.end(payload);
		const finished = await events.waitFor('save-finished');
		expect(finished).toMatchObject({connection, path: file, direction: 'in', bytes: payload.length});
		expect(readFileSync(file).equals(payload)).toBe(true);
		expect(lstatSync(file).mode & 0o777).toBe(0o600);
	});

	it('save --out writes what we sent', async () => {
		const {core, events} = makeCore();
		const {client, connection} = await pair(core, events);
		const file = path.join(tempDir(), 'out.bin');
		core.save(connection, file, 'out');
		core.send(connection, Buffer.from('\u0000\u00ffhello'));
		await events.waitFor('data-sent');
		client.end();
		const finished = await events.waitFor('save-finished');
		expect(finished.bytes).toBe(Buffer.from('\u0000\u00ffhello').length);
		expect(readFileSync(file).equals(Buffer.from('\u0000\u00ffhello'))).toBe(true);
	});

	it('save refuses a symbolic link and leaves its target alone', async () => {
		const {core, events} = makeCore();
		const {connection} = await pair(core, events);
		const directory = tempDir();
		const target = path.join(directory, 'target');
		writeFileSync(target, 'keep me');
		symlinkSync(target, path.join(directory, 'link'));
		expect(core.save(connection, path.join(directory, 'link'))).toBe(false);
		const failed = await events.waitFor('command-failed');
		expect(failed.message).toMatch(/symbolic link/);
		expect(readFileSync(target, 'utf8')).toBe('keep me');
	});

	it.skipIf(process.getuid?.() !== 0)('save refuses a file another user owns and leaves it as it was', async () => {
		const {core, events} = makeCore();
		const {connection} = await pair(core, events);
		const planted = path.join(tempDir(), 'planted');
		writeFileSync(planted, 'theirs');
		chownSync(planted, 65_534, 65_534);
		expect(core.save(connection, planted)).toBe(false);
		const failed = await events.waitFor('command-failed');
		expect(failed.message).toMatch(/belongs to uid 65534/);
		expect(readFileSync(planted, 'utf8')).toBe('theirs');
	});

	it('save reads from the command line and JSON', () => {
		expect(parseCommandLine('save C3 /tmp/a file')).toEqual({cmd: 'save', connection: 'C3', path: '/tmp/a file', direction: 'in'});
		expect(parseCommandLine('save --out /tmp/x', {selected: 'C1'})).toEqual({cmd: 'save', connection: 'C1', path: '/tmp/x', direction: 'out'});
		expect(parseJsonCommand('{"cmd":"save","connection":"C1","path":"/tmp/x","direction":"out"}')).toEqual({cmd: 'save', connection: 'C1', path: '/tmp/x', direction: 'out'});
		expect(() => parseJsonCommand('{"cmd":"save","connection":"C1","path":"/tmp/x","direction":"both"}')).toThrow(/direction/);
	});
});
