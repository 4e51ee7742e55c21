import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {spawnJson} from '../helpers/cli.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';

/*
 * Point 6 of issue 13: the relay between real programs nobody here wrote
 * (curl, python3's http.server, socat, ncat), bytes compared by sha256.
 */

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/** A port that was free a moment ago (the programs here cannot listen on port 0 and say which port they got). */
async function freePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as net.AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/**
 * Resolves once a socket listens on 127.0.0.1:port, read from /proc/net/tcp
 * rather than by connecting: socat without `fork` serves only its first
 * connection, and a probe would be it.
 */
async function listening(port: number): Promise<void> {
	const {readFileSync} = await import('node:fs');
	const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
	await until(
		() => readFileSync('/proc/net/tcp', 'latin1').split('\n').some((line) => line.trim().split(/\s+/)[1] === local && line.trim().split(/\s+/)[3] === '0A'),
		() => `nothing listens on 127.0.0.1:${port}`,
	);
}

type Program = {child: ChildProcessWithoutNullStreams; stdout: Buffer[]; stderr(): string; exited: Promise<number | string>; hash: ReturnType<typeof createHash>; bytes(): number};

function run(command: string, args: string[], options: {cwd?: string} = {}): Program {
	const child = spawn(command, args, {stdio: 'pipe', ...options});
	const stdout: Buffer[] = [];
	const hash = createHash('sha256');
	let bytes = 0;
	let errors = '';
	// Big outputs are hashed as they come, not kept.
	child.stdout.on('data', (chunk: Buffer) => {
		hash.update(chunk);
		bytes += chunk.length;
		if (stdout.length < 1024) {
			stdout.push(chunk);
		}
	});
	child.stderr.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	child.stdin.on('error', () => {});
	const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
	cleanups.push(() => child.kill('SIGKILL'));
	return {child, stdout, stderr: () => errors, exited, hash, bytes: () => bytes};
}

function setup(maxConnections = 100): {core: Core; events: Recorder} {
	const core = createCore({admission: {maxConnections}});
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

async function forward(core: Core, events: Recorder, port: number): Promise<number> {
	const id = core.forward('127.0.0.1', 0, {host: '127.0.0.1', port});
	return (await events.waitFor('listener-opened', (event) => event.listener === id)).port;
}

function tempDir(): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-relay-'));
	cleanups.push(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

function sha256(data: Buffer): string {
	return createHash('sha256').update(data).digest('hex');
}

describe('curl through a --forward to python3 -m http.server', () => {
	skipEachIf(missingTool('curl') ?? missingTool('python3'));

	it('curl gets the file byte-identical, and the JSON stream shows every byte each way as data-received', async () => {
		const directory = tempDir();
		const file = randomBytes(1024 * 1024 + 123);
		writeFileSync(path.join(directory, 'blob.bin'), file);
		const httpPort = await freePort();
		run('python3', ['-m', 'http.server', String(httpPort), '--bind', '127.0.0.1'], {cwd: directory});
		await listening(httpPort);

		const netdash = spawnJson(['--json', '--forward', `0:127.0.0.1:${httpPort}`]);
		cleanups.push(() => netdash.child.kill('SIGKILL'));
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
		expect(opened['target']).toEqual({address: '127.0.0.1', port: httpPort});

		const curl = run('curl', ['-sS', '--fail', `http://127.0.0.1:${opened['port'] as number}/blob.bin`]);
		expect(await curl.exited).toBe(0);
		expect(curl.hash.digest('hex')).toBe(sha256(file));

		const closed = await netdash.waitFor((event) => event.type === 'relay-closed', 'relay-closed');
		expect(closed['reason']).toBe('closed');
		const bytesOf = (connection: string) => Buffer.concat(netdash.events.filter((event) => event.type === 'data-received' && event['connection'] === connection).map((event) => Buffer.from(event['base64'] as string, 'base64')));
		const request = bytesOf(closed['client'] as string).toString();
		expect(request).toMatch(/^GET \/blob\.bin HTTP\/1\.1\r\n/);
		const response = bytesOf(closed['server'] as string);
		expect(response.length).toBe(closed['bytesToClient']);
		expect(sha256(response.subarray(response.indexOf('\r\n\r\n') + 4))).toBe(sha256(file));
		expect(netdash.badLines).toEqual([]);
	});
});

describe('socat and ncat on both ends of a forward', () => {
	skipEachIf(missingTool('socat') ?? missingTool('ncat', 'ncat'));

	it('64 MiB from one socat to another through the relay arrive with an identical sha256', async () => {
		const directory = tempDir();
		const payload = randomBytes(64 * 1024 * 1024);
		const file = path.join(directory, 'payload.bin');
		writeFileSync(file, payload);
		const serverPort = await freePort();
		const receiver = run('socat', ['-u', `TCP-LISTEN:${serverPort},bind=127.0.0.1,reuseaddr`, 'STDOUT']);
		await listening(serverPort);
		const {core, events} = setup();
		const port = await forward(core, events, serverPort);
		const sender = run('socat', ['-u', `FILE:${file}`, `TCP:127.0.0.1:${port}`]);
		expect(await sender.exited).toBe(0);
		expect(await receiver.exited).toBe(0);
		expect(receiver.bytes()).toBe(payload.length);
		expect(receiver.hash.digest('hex')).toBe(sha256(payload));
		expect(await events.waitFor('relay-closed')).toMatchObject({reason: 'closed', bytesToServer: payload.length});
	}, 60_000);

	it('a client that half-closes and then reads its answer still gets it (ncat to socat running wc -c)', async () => {
		const serverPort = await freePort();
		// socat shuts the program's stdin on the client's FIN; wc then answers with the count.
		run('socat', ['-t', '5', `TCP-LISTEN:${serverPort},bind=127.0.0.1,reuseaddr`, 'SYSTEM:wc -c']);
		await listening(serverPort);
		const {core, events} = setup();
		const port = await forward(core, events, serverPort);
		const request = randomBytes(100_000);
		const client = run('ncat', ['127.0.0.1', String(port)]);
		client.child.stdin.end(request);
		expect(await client.exited).toBe(0);
		expect(Buffer.concat(client.stdout).toString().trim()).toBe(String(request.length));
	});
});

describe('resets and crowds through a forward', () => {
	skipEachIf(missingTool('python3') ?? missingTool('ncat', 'ncat'));

	it('the server resetting mid-stream resets the client (python3 server with SO_LINGER 0, ncat client)', async () => {
		const serverPort = await freePort();
		// Sends a first part, waits for the client's bytes, then aborts with a RST (linger 0).
		const script = [
			'import socket, struct',
			'server = socket.socket()',
			'server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
			`server.bind(("127.0.0.1", ${serverPort}))`,
			'server.listen(1)',
			'connection, _ = server.accept()',
			'connection.sendall(b"first part\\n")',
			'connection.recv(100)',
			'connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))',
			'connection.close()',
		].join('\n');
		run('python3', ['-c', script]);
		await listening(serverPort);
		const {core, events} = setup();
		const port = await forward(core, events, serverPort);
		const client = run('ncat', ['127.0.0.1', String(port)]);
		await until(() => Buffer.concat(client.stdout).toString().includes('first part'), () => `ncat got ${Buffer.concat(client.stdout).toString()}`);
		client.child.stdin.write('more\n');
		expect(await client.exited).not.toBe(0);
		expect(client.stderr()).toMatch(/reset/i);
		expect(await events.waitFor('relay-closed')).toMatchObject({reason: 'reset', code: 'ECONNRESET'});
	});

	it('200 clients at once through one forward each get their own answer (python3 asyncio echo server)', async () => {
		const serverPort = await freePort();
		const script = [
			'import asyncio',
			'async def echo(reader, writer):',
			'    while data := await reader.read(65536):',
			'        writer.write(data)',
			'        await writer.drain()',
			'    writer.close()',
			'async def main():',
			`    server = await asyncio.start_server(echo, "127.0.0.1", ${serverPort}, backlog=1024)`,
			'    await server.serve_forever()',
			'asyncio.run(main())',
		].join('\n');
		run('python3', ['-c', script]);
		await listening(serverPort);
		// Given a forward that admits 200 clients at once (the default --max-conns is 100 per listener)
		const {core, events} = setup(250);
		const port = await forward(core, events, serverPort);

		// When 200 clients connect together, each sends its own bytes and half-closes
		const count = 200;
		const results = await Promise.all(
			Array.from({length: count}, async (_, index) => {
				const payload = Buffer.from(`client ${index} `.repeat(100 + index));
				const socket = net.connect({port, host: '127.0.0.1', allowHalfOpen: true});
				cleanups.push(() => socket.destroy());
				const chunks: Buffer[] = [];
				socket.on('data', (chunk: Buffer) => chunks.push(chunk));
				socket.end(payload);
				await new Promise<void>((resolve, reject) => {
					socket.on('end', resolve);
					socket.on('error', reject);
				});
				return Buffer.concat(chunks).equals(payload);
			}),
		);

		// Then every one gets exactly its own bytes back, over 200 relays
		expect(results.filter(Boolean)).toHaveLength(count);
		await until(() => events.of('relay-closed').length === count, () => `${events.of('relay-closed').length} relays closed`);
		expect(new Set(events.of('relay-opened').map((event) => event.relay)).size).toBe(count);
		expect(events.of('relay-closed').every((event) => event.reason === 'closed')).toBe(true);
	}, 30_000);
});
