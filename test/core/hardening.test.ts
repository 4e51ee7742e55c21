import {readFileSync, mkdtempSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {spawn} from 'node:child_process';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore, type Core} from '../../source/core/index.js';
import {openLogFile} from '../../source/core/capture/log-file.js';
import {parseCidr} from '../../source/core/tcp/admission.js';
import {cliPath, spawnJson, type JsonChild} from '../helpers/cli.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options?: Parameters<typeof createCore>[0]): {core: Core; events: Recorder} {
	const core = createCore(options);
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

function client(port: number, localAddress = '127.0.0.1'): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1', localAddress});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	return socket;
}

describe('admission control', () => {
	it('--max-conns 10 with 60 clients: exactly 50 refusals, counted and listed with address and reason', async () => {
		const {core, events} = setup({admission: {maxConnections: 10}});
		const store = createStore(core.bus, {publishIntervalMs: 20});
		cleanups.push(() => store.dispose());
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const localPorts = new Set<number>();
		for (let index = 0; index < 60; index++) {
			const socket = client(port);
			socket.on('connect', () => localPorts.add(socket.localPort!));
		}

		await until(() => events.of('connection-refused').length + events.of('connection-opened').length === 60, () => `${events.of('connection-refused').length} refused, ${events.of('connection-opened').length} opened`);
		const refused = events.of('connection-refused');
		expect(refused).toHaveLength(50);
		expect(events.of('connection-opened')).toHaveLength(10);
		expect(refused.filter((event) => event.reason !== 'limit' || event.remote.address !== '127.0.0.1' || !(event.remote.port > 0))).toEqual([]);
		expect(refused.every((event) => localPorts.has(event.remote.port))).toBe(true);
		store.flush();
		expect(store.getSnapshot().totals.refused).toBe(50);
		expect(store.getSnapshot().refused).toHaveLength(50);
		expect(store.getSnapshot().listeners[0]).toMatchObject({accepted: 10, refused: 50, open: 10});
		console.log('max-conns 10, 60 clients: 10 accepted, 50 refused and listed');
	});

	it('deny wins over allow when both match, and allow alone admits only its subnet', async () => {
		const {core, events} = setup({admission: {allow: ['127.0.0.0/8'], deny: ['127.0.0.2']}});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');

		// 127.0.0.2 is in the allow subnet and in deny: refused.
		const denied = client(port, '127.0.0.2');
		const reset = new Promise((resolve) => denied.on('close', resolve));
		const refusal = await events.waitFor('connection-refused');
		expect(refusal).toMatchObject({reason: 'denied', rule: 'deny 127.0.0.2/32', remote: {address: '127.0.0.2'}});
		await reset;

		// 127.0.0.3 is allowed and not denied: accepted.
		client(port, '127.0.0.3');
		expect((await events.waitFor('connection-opened')).remote.address).toBe('127.0.0.3');

		// Changed while running: allow only 127.0.0.9/32, so 127.0.0.3 is now turned away.
		expect(core.setAdmission({allow: ['127.0.0.9/32'], deny: []}, {ref: 'acl'})).toBe(true);
		expect(await events.waitFor('admission-changed')).toMatchObject({allow: ['127.0.0.9/32'], deny: [], ref: 'acl'});
		client(port, '127.0.0.3');
		const second = await events.waitFor('connection-refused', (event) => event.remote.address === '127.0.0.3');
		expect(second.rule).toMatch(/not in allow 127.0.0.9\/32/);
	});

	it('bad CIDRs are refused with one line and change nothing', async () => {
		const {core, events} = setup();
		expect(() => parseCidr('10.1')).toThrow(/not an address or CIDR/);
		expect(() => parseCidr('10.0.0.0/33')).toThrow(/not an address or CIDR/);
		expect(parseCidr('10.1.2.3/8').text).toBe('10.1.2.3/8');
		expect(parseCidr('::1').text).toBe('::1/128');
		expect(core.setAdmission({deny: ['10.0.0.0/8', 'nonsense']})).toBe(false);
		expect((await events.waitFor('command-failed')).code).toBe('BAD_CIDR');
		expect(core.admission.deny).toEqual([]);
	});
});

describe('timeouts and the progress watchdog', () => {
	it('a non-reading peer and a 100 MiB paste: the paste is refused, queued bytes never exceed the cap, and the connection is marked stalled', async () => {
		const cap = 4 * 1024 * 1024;
		const {core, events} = setup({maxQueuedBytes: cap, stallTimeoutMs: 400, watchIntervalMs: 50});
		const peers: net.Socket[] = [];
		const server = net.createServer((socket) => {
			peers.push(socket);
			socket.on('error', () => {});
			socket.pause(); // Alive but never reads.
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		cleanups.push(() => new Promise((resolve) => {
			for (const peer of peers) {
				peer.destroy();
			}

			server.close(resolve);
		}));
		const id = core.connect('127.0.0.1', (server.address() as net.AddressInfo).port)!;
		await events.waitFor('connection-opened');

		expect(core.send(id, Buffer.alloc(100 * 1024 * 1024))).toBe(false);
		expect((await events.waitFor('command-failed')).code).toBe('TOO_LARGE');
		// Fill up to the cap in pieces, again each time the kernel's buffers (several MiB on
		// loopback, autotuned) have taken the queue, until the queue stays: the peer's window is shut.
		let accepted = 0;
		for (let round = 0; round < 64 && events.of('connection-stalled').length === 0; round++) {
			while (core.send(id, Buffer.alloc(256 * 1024))) {
				accepted += 256 * 1024;
			}

			const before = events.of('data-sent').length;
			await new Promise((resolve) => setTimeout(resolve, 100));
			if (events.of('data-sent').length === before) {
				break; // Nothing moved for 100 ms: the kernel is full and the queue waits.
			}
		}

		const stalled = await events.waitFor('connection-stalled');
		expect(stalled.queued).toBeGreaterThan(0);
		expect(stalled.queued).toBeLessThanOrEqual(cap);
		const queuedSeen = [...events.of('send-queued'), ...events.of('data-sent')].map((event) => event.queued);
		expect(Math.max(...queuedSeen)).toBeLessThanOrEqual(cap);
		console.log(`non-reading peer: ${accepted} B accepted in all (kernel buffers took the rest), queue never over the ${cap} B cap, stalled with ${stalled.queued} B queued`);

		// Reset is the way out; the unsent bytes are counted, not lost silently.
		core.reset(id);
		const closed = await events.waitFor('connection-closed');
		expect(closed.reason).toBe('reset');
		expect(closed.unsent).toBeGreaterThan(0);
		expect(closed.bytesOut + closed.unsent).toBe(accepted);
	});

	it('an idle timeout really closes the connection', async () => {
		const {core, events} = setup({idleTimeoutMs: 300});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const socket = client(port);
		const peerClosed = new Promise((resolve) => socket.on('end', resolve));
		const closed = await events.waitFor('connection-closed');
		expect(closed).toMatchObject({reason: 'closed', code: 'IDLE_TIMEOUT'});
		await peerClosed;
	});
});

describe('--log FILE', () => {
	it('keeps every event as JSON lines with base64 payloads and no raw control bytes', async () => {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-log-'));
		const file = path.join(directory, 'session.jsonl');
		const {core, events} = setup();
		const log = openLogFile(core, file);
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const socket = client(port);
		socket.write(Buffer.from('\u001B[2J\u001B]0;pwned\u0007\r\n\u0000\u00FF', 'latin1'));
		await events.waitFor('data-received');
		await core.closeAll(100);
		await log.close();
		const text = readFileSync(file, 'utf8');
		// eslint-disable-next-line no-control-regex
		expect(text).not.toMatch(/[\u0000-\u0009\u000B-\u001F\u007F]/);
		const lines = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
		// Beside the events: the session-started record first, and the commands given (no seq).
		expect(lines.filter((line) => line['seq'] !== undefined).map((line) => line['seq'])).toEqual(events.events.map((event) => event.seq));
		const data = lines.find((line) => line['type'] === 'data-received')!;
		expect(Buffer.from(data['base64'] as string, 'base64').toString('latin1')).toBe('\u001B[2J\u001B]0;pwned\u0007\r\n\u0000\u00FF');
	});

	it('a write error (disk full) is shown once and the session keeps running', async () => {
		const {core, events} = setup();
		openLogFile(core, '/dev/full', {allowSpecial: true});
		core.listen('127.0.0.1', 0);
		const failed = await events.waitFor('log-file-failed');
		expect(failed.code).toBe('ENOSPC');
		expect(failed.message).toMatch(/goes on without it/);
		const {port} = await events.waitFor('listener-opened');
		client(port).write('still here');
		expect((await events.waitFor('data-received')).bytes).toBe(10);
		expect(events.of('log-file-failed')).toHaveLength(1);
	});
});

describe('resource exhaustion', () => {
	it('under prlimit --nofile=64, a flood of clients leaves netdash alive and the exhaustion shown', async () => {
		const child = spawn('prlimit', ['--nofile=64', process.execPath, cliPath, '--json', '--listen', '0', '--max-conns', '1000'], {stdio: 'pipe'});
		const netdash: Pick<JsonChild, 'events'> = {events: []};
		let buffer = '';
		child.stdout.on('data', (chunk: Buffer) => {
			buffer += chunk.toString();
			const lines = buffer.split('\n');
			buffer = lines.pop()!;
			for (const line of lines) {
				netdash.events.push(JSON.parse(line) as Record<string, any>);
			}
		});
		cleanups.push(() => child.kill('SIGKILL'));
		await until(() => netdash.events.some((event) => event['type'] === 'listener-opened'), () => 'listener');
		const {port} = netdash.events.find((event) => event['type'] === 'listener-opened')!;
		const clients = Array.from({length: 120}, () => client(port as number));
		await until(
			() => netdash.events.some((event) => event['type'] === 'resource-exhausted'),
			() => `no resource-exhausted; ${netdash.events.filter((event) => event['type'] === 'connection-opened').length} opened`,
		);
		const exhausted = netdash.events.find((event) => event['type'] === 'resource-exhausted')!;
		expect(exhausted['limit']).toBe(64);
		expect(exhausted['message']).toMatch(/open files/);
		// Still alive and answering commands.
		for (const socket of clients) {
			socket.destroy();
		}

		child.stdin.write('{"cmd":"listen","port":0,"ref":"alive"}\n');
		await until(() => netdash.events.some((event) => event['ref'] === 'alive'), () => 'an answer after exhaustion');
		child.stdin.write('{"cmd":"quit"}\n');
		const code = await new Promise((resolve) => child.on('exit', resolve));
		expect(code).toBe(0);
		console.log(`fd exhaustion: reported at ${exhausted['used']} of ${exhausted['limit']} open files; process alive, exit 0`);
	});
});

describe('the CLI takes the hardening flags', () => {
	it('--deny refuses a client and --max-conns is reported in admission', async () => {
		const netdash = spawnJson(['--json', '--listen', '0', '--deny', '127.0.0.0/8', '--max-conns', '5']);
		cleanups.push(() => netdash.child.kill('SIGKILL'));
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener');
		client(opened.port as number);
		const refused = await netdash.waitFor((event) => event.type === 'connection-refused', 'refusal');
		expect(refused).toMatchObject({reason: 'denied', rule: 'deny 127.0.0.0/8'});
		netdash.send({cmd: 'admission', deny: [], ref: 'open-up'});
		await netdash.waitFor((event) => event.type === 'admission-changed' && event.ref === 'open-up', 'admission change');
		client(opened.port as number);
		await netdash.waitFor((event) => event.type === 'connection-opened', 'accepted after the change');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
	});
});
