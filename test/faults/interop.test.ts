import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {createHash, randomBytes} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';

/** A few MiB each way, different each way and each run. */
const size = 4 * 1024 * 1024;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function sha256(chunks: Buffer[]): string {
	const hash = createHash('sha256');
	for (const chunk of chunks) {
		hash.update(chunk);
	}

	return hash.digest('hex');
}

/** A port that was free a moment ago (socat and ncat cannot listen on port 0 and tell us which port they got). */
async function freePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const {port} = server.address() as net.AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return port;
}

/** A real peer: its stdin is what it sends, its stdout what it received. */
type Peer = {
	readonly child: ChildProcessWithoutNullStreams;
	/** Bytes the peer wrote to stdout: what it received from netdash. */
	readonly received: Buffer[];
	/** Resolves when the peer closed its stdout: it saw netdash's FIN. */
	readonly sawEof: Promise<void>;
	readonly exited: Promise<number | string>;
	stderr(): string;
};

function startPeer(command: string, args: string[]): Peer {
	const child = spawn(command, args, {stdio: 'pipe'});
	const received: Buffer[] = [];
	let errors = '';
	child.stdout.on('data', (chunk: Buffer) => received.push(chunk));
	child.stderr.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	child.stdin.on('error', () => {}); // EPIPE if the peer is gone: the assertions say why.
	const sawEof = new Promise<void>((resolve) => child.stdout.on('end', resolve));
	const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
	cleanups.push(() => child.kill('SIGKILL'));
	return {child, received, sawEof, exited, stderr: () => errors};
}

function setup(): {core: Core; events: Recorder} {
	const core = createCore({maxQueuedBytes: 2 * size});
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/** How netdash meets the peer: it dials a listening peer, or a dialing peer reaches netdash's listener. */
type Meeting = {core: Core; events: Recorder; peer: Peer; connection: string};

/** `halfOpen`: netdash keeps its side open after the peer's FIN (the half-close lesson); otherwise it then closes. */
async function peerListens(command: string, args: (port: number) => string[], listening: RegExp, halfOpen?: boolean): Promise<Meeting> {
	const {core, events} = setup();
	const port = await freePort();
	const peer = startPeer(command, args(port));
	await until(() => listening.test(peer.stderr()), () => `${command} to listen on ${port}; stderr: ${peer.stderr()}`);
	const connection = core.connect('127.0.0.1', port, halfOpen === undefined ? {} : {halfOpen})!;
	await events.waitFor('connection-opened', (event) => event.connection === connection);
	return {core, events, peer, connection};
}

async function peerDials(command: string, args: (port: number) => string[], halfOpen?: boolean): Promise<Meeting> {
	const {core, events} = setup();
	core.listen('127.0.0.1', 0, halfOpen === undefined ? {} : {halfOpen});
	const {port} = await events.waitFor('listener-opened');
	const peer = startPeer(command, args(port));
	const {connection} = await events.waitFor('connection-opened', (event) => event.origin === 'accepted');
	return {core, events, peer, connection};
}

function receivedBy(events: Recorder, connection: string): Buffer[] {
	return events.of('data-received').filter((event) => event.connection === connection).map((event) => event.data);
}

/** Files for a peer that answers after EOF: it stores what it received in `input`, then sends `output` back. */
type Scratch = {input: string; output: string; toNetdash: Buffer};

function scratch(): Scratch {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-interop-'));
	cleanups.push(() => rmSync(directory, {recursive: true, force: true}));
	const toNetdash = randomBytes(size);
	const output = path.join(directory, 'out.bin');
	writeFileSync(output, toNetdash);
	return {input: path.join(directory, 'in.bin'), output, toNetdash};
}

/**
 * socat's SYSTEM address: a shell that reads until EOF, then answers. socat
 * turns netdash's FIN into EOF on the shell's stdin (shutdown of its
 * socketpair) and keeps moving the other way. (socat's STDIO cannot do this:
 * on the socket's EOF it closes stdin too.)
 */
function answerAfterEof(files: Scratch): string {
	return `SYSTEM:cat > ${files.input}; cat ${files.output}`;
}

/**
 * netdash speaks first: it sends A and shuts down (FIN). The peer must see
 * EOF (its reader ends) and can still send B back, which netdash reads to
 * the end before the connection closes normally.
 */
async function netdashClosesFirst({core, events, peer, connection}: Meeting, files: Scratch, label: string): Promise<void> {
	const toPeer = randomBytes(size);
	expect(core.send(connection, toPeer)).toBe(true);
	expect(core.shutdown(connection)).toBe(true);
	const shut = await events.waitFor('connection-half-closed', (event) => event.connection === connection && event.by === 'local');
	const closed = await events.waitFor('connection-closed', (event) => event.connection === connection, 20_000);
	expect(await peer.exited).toBe(0);
	// The peer's reader got exactly A and ended: it saw the FIN. Only then did it send B.
	expect(sha256([readFileSync(files.input)])).toBe(sha256([toPeer]));
	expect(sha256(receivedBy(events, connection))).toBe(sha256([files.toNetdash]));
	// Every byte from the peer arrived after our FIN: the half-close was honoured, not treated as a close.
	expect(events.of('data-received').find((event) => event.connection === connection)!.seq).toBeGreaterThan(shut.seq);
	expect(events.of('connection-half-closed').filter((event) => event.connection === connection).map((event) => event.by)).toEqual(['local', 'remote']);
	expect(closed).toMatchObject({reason: 'closed', bytesIn: size, bytesOut: size, unsent: 0});
	console.log(`${label}: ${size} B each way, SHA-256 equal (to peer ${sha256([toPeer]).slice(0, 12)}…, back ${sha256([files.toNetdash]).slice(0, 12)}…); netdash FIN first, peer saw EOF and sent all ${size} B after it`);
}

/**
 * The peer speaks first: it sends A and its stdin ends (its FIN). netdash
 * shows `half-closed-remote` and can still send B, which the peer writes out
 * in full before it exits.
 */
async function peerClosesFirst({core, events, peer, connection}: Meeting, label: string): Promise<void> {
	const toNetdash = randomBytes(size);
	const toPeer = randomBytes(size);
	peer.child.stdin.end(toNetdash);
	const remoteEof = await events.waitFor('connection-half-closed', (event) => event.connection === connection && event.by === 'remote', 20_000);
	expect(sha256(receivedBy(events, connection))).toBe(sha256([toNetdash]));
	expect(core.send(connection, toPeer)).toBe(true);
	expect(core.shutdown(connection)).toBe(true);
	const closed = await events.waitFor('connection-closed', (event) => event.connection === connection, 20_000);
	await peer.sawEof;
	expect(sha256(peer.received)).toBe(sha256([toPeer]));
	// Everything netdash sent left after the peer's FIN.
	const sent = events.of('data-sent').filter((event) => event.connection === connection);
	expect(sent.reduce((sum, event) => sum + event.bytes, 0)).toBe(size);
	expect(sent[0]!.seq).toBeGreaterThan(remoteEof.seq);
	expect(closed).toMatchObject({reason: 'closed', bytesIn: size, bytesOut: size, unsent: 0});
	expect(await peer.exited).toBe(0);
	console.log(`${label}: ${size} B each way, SHA-256 equal (from peer ${sha256([toNetdash]).slice(0, 12)}…, back ${sha256([toPeer]).slice(0, 12)}…); peer FIN first, netdash half-closed-remote then sent all ${size} B`);
}

describe('interop with socat', () => {
	skipEachIf(missingTool('socat'));
	// -t 10: after one direction ends, socat keeps the other open while it moves (its default gives up after 0.5 s of quiet).
	it('socat as listener: netdash sends, shuts down, and still reads what socat sends back after EOF', async () => {
		const files = scratch();
		const meeting = await peerListens('socat', (port) => ['-d', '-d', '-t', '10', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, answerAfterEof(files)], /listening on/);
		await netdashClosesFirst(meeting, files, 'socat listener');
	});

	it('socat as client, half-open: its EOF shows as half-closed-remote and netdash can still send to it', async () => {
		const meeting = await peerDials('socat', (port) => ['-t', '10', 'STDIO', `TCP:127.0.0.1:${port}`], true);
		await peerClosesFirst(meeting, 'socat client');
	});

	it('socat as client, netdash first: socat sees the FIN and still sends', async () => {
		const files = scratch();
		const meeting = await peerDials('socat', (port) => ['-t', '10', answerAfterEof(files), `TCP:127.0.0.1:${port}`]);
		await netdashClosesFirst(meeting, files, 'socat client, netdash FIN first');
	});
});

describe('interop with ncat', () => {
	skipEachIf(missingTool('ncat'));
	// ncat exits when it reads the socket's EOF, so it cannot answer after netdash's FIN: it only
	// half-closes the other way (stdin EOF → shutdown(SHUT_WR), reading on).
	it('ncat as listener, half-open: its EOF shows as half-closed-remote and netdash can still send to it', async () => {
		const meeting = await peerListens('ncat', (port) => ['-v', '-l', '127.0.0.1', String(port)], /Listening on/, true);
		await peerClosesFirst(meeting, 'ncat listener');
	});

	it('ncat as client, half-open: its EOF shows as half-closed-remote and netdash can still send to it', async () => {
		const meeting = await peerDials('ncat', (port) => ['127.0.0.1', String(port)], true);
		await peerClosesFirst(meeting, 'ncat client');
	});

	it('ncat as client (`echo line | ncat`): its EOF closes the connection, after what netdash had queued, and ncat exits 0', async () => {
		// Given netdash with the default (no half-open) and bytes queued for the client
		const {core, events, peer, connection} = await peerDials('ncat', (port) => ['127.0.0.1', String(port)]);
		const toPeer = randomBytes(size);
		expect(core.send(connection, toPeer)).toBe(true);

		// When ncat's stdin ends (it sends its line and FIN, then reads until the socket's EOF)
		peer.child.stdin.end('one line\n');

		// Then netdash sends the rest, closes by itself, and ncat gets every byte and exits 0
		const closed = await events.waitFor('connection-closed', (event) => event.connection === connection, 20_000);
		expect(closed).toMatchObject({reason: 'closed', bytesIn: 9, bytesOut: size, unsent: 0});
		expect(await peer.exited).toBe(0);
		expect(sha256(peer.received)).toBe(sha256([toPeer]));
		expect(core.connectionIds()).toEqual([]);
	});

	it('ncat --recv-only as listener: netdash FIN ends its input and it exits 0 with every byte', async () => {
		const {core, events, peer, connection} = await peerListens('ncat', (port) => ['-v', '--recv-only', '-l', '127.0.0.1', String(port)], /Listening on/);
		const toPeer = randomBytes(size);
		core.send(connection, toPeer);
		core.shutdown(connection);
		await peer.sawEof;
		expect(await peer.exited).toBe(0);
		expect(sha256(peer.received)).toBe(sha256([toPeer]));
		expect(await events.waitFor('connection-closed', (event) => event.connection === connection)).toMatchObject({reason: 'closed', bytesOut: size, unsent: 0});
		console.log(`ncat --recv-only listener: ${size} B, SHA-256 equal; netdash FIN ended it, exit 0`);
	});
});
