import dgram from 'node:dgram';
import {appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {PassThrough} from 'node:stream';
import {render} from 'ink-testing-library';
import {createElement} from 'react';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import type {BusEvent} from '../../source/core/events.js';
import {loadSession} from '../../source/core/replay/recording.js';
import {openReplay, type Replay} from '../../source/core/replay/replay.js';
import {askSession} from '../../source/replay-command.js';
import {App} from '../../source/ui/app.js';
import {keyBindings, keyLabel} from '../../source/ui/keys.js';
import {formatTime} from '../../source/ui/format.js';
import {runCli, spawnJson} from '../helpers/cli.js';
import {waitForFrame} from '../helpers/ink.js';

const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-replay-'));
afterAll(() => {
	rmSync(directory, {recursive: true, force: true});
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/**
 * One real run of the built netdash with --json and --log FILE: a loopback
 * client sends `up`, netdash answers `down` and the client closes; then a
 * datagram comes in on a UDP socket and one goes back. Returns what stdout
 * printed, line by line: the events as they happened.
 */
async function recordSession(logFile: string, up: string, down: string): Promise<string[]> {
	const netdash = spawnJson(['--json', '--log', logFile, '-l', '0', '--udp', '0']);
	const lines: string[] = [];
	netdash.child.stdout.on('data', () => {});
	try {
		const listener = await netdash.waitFor((event) => event.type === 'listener-opened', 'the listener');
		const bound = await netdash.waitFor((event) => event.type === 'udp-bound', 'the UDP socket');
		const client = net.connect({host: '127.0.0.1', port: listener['port'] as number});
		client.on('error', () => {});
		const got: Buffer[] = [];
		client.on('data', (chunk: Buffer) => got.push(chunk));
		client.write(up);
		const received = await netdash.waitFor((event) => event.type === 'data-received', 'the client bytes');
		netdash.send({cmd: 'send', connection: received['connection'], text: down});
		await netdash.waitFor((event) => event.type === 'data-sent', 'the answer');
		client.end();
		await netdash.waitFor((event) => event.type === 'connection-closed', 'the close');
		expect(Buffer.concat(got).toString()).toBe(down);

		const peer = dgram.createSocket('udp4');
		cleanups.push(() => peer.close());
		await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
		// A datagram may be dropped on a busy machine: send again until netdash reports one.
		for (let tries = 0; !netdash.events.some((event) => event.type === 'datagram-received'); tries++) {
			peer.send(`${up} by udp`, bound['port'] as number, '127.0.0.1');
			await netdash.waitFor((event) => event.type === 'datagram-received', 'a datagram', 500).catch(() => undefined);
			expect(tries).toBeLessThan(20);
		}

		netdash.send({cmd: 'sendto', socket: bound['socket'], host: '127.0.0.1', port: peer.address().port, text: `${down} by udp`});
		await netdash.waitFor((event) => event.type === 'datagram-sent', 'the datagram back');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
	} finally {
		netdash.child.kill();
	}

	expect(netdash.badLines).toEqual([]);
	for (const event of netdash.events) {
		lines.push(JSON.stringify(event));
	}

	return lines;
}

/** Lines of JSON, each re-serialised the same way, so key order and spacing cannot differ. */
function normalised(text: string): string[] {
	return text
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.stringify(JSON.parse(line)));
}

let single: {file: string; live: string[]};
let double: {file: string; first: string[]; second: string[]};

beforeAll(async () => {
	const file = path.join(directory, 'one.jsonl');
	single = {file, live: await recordSession(file, 'hello netdash\n', 'hi from netdash\n')};
	const twice = path.join(directory, 'two.jsonl');
	const first = await recordSession(twice, 'first run\n', 'one\n');
	const second = await recordSession(twice, 'second run\n', 'two\n');
	double = {file: twice, first, second};
}, 60_000);

describe('netdash replay FILE --json', () => {
	it('writes the events of a session recorded with --log against real sockets again, equal and in order', async () => {
		const {code, stdout, stderr} = await runCli(['replay', single.file, '--json']);
		expect(stderr).toBe('');
		expect(code).toBe(0);
		const replayed = normalised(stdout);
		// Every kind of event the session had, payloads included (base64 of TCP chunks and datagrams);
		// on a busy machine there may be more (datagrams-dropped while a resent datagram waited).
		const kinds = new Set(replayed.map((line) => JSON.parse(line).type as string));
		for (const kind of ['listener-opened', 'udp-bound', 'connection-opened', 'data-received', 'send-queued', 'data-sent', 'connection-half-closed', 'connection-closed', 'datagram-received', 'datagram-sent', 'listener-closed', 'udp-closed']) {
			expect(kinds, kind).toContain(kind);
		}

		expect(replayed).toEqual(single.live);
	});

	it('names a cut or corrupt line by its number on stderr and replays every event around it', async () => {
		// Given the recording with a line of garbage after its third line and its last event cut in half
		const lines = readFileSync(single.file, 'utf8').split('\n').filter(Boolean);
		const cut = lines.at(-1)!;
		const damaged = [...lines.slice(0, 3), '{"type":"data-rec', ...lines.slice(3, -1), cut.slice(0, cut.length >> 1)];
		const file = path.join(directory, 'damaged.jsonl');
		writeFileSync(file, damaged.join('\n') + '\n');

		const {code, stdout, stderr} = await runCli(['replay', file, '--json']);

		expect(code).toBe(0);
		expect(stderr).toContain(`${file} line 4: not JSON`);
		expect(stderr).toContain(`${file} line ${damaged.length}: not JSON`);
		expect(stderr.trim().split('\n')).toHaveLength(2);
		// Every whole event is written, in order; only the one whose line was cut is missing.
		expect(normalised(stdout)).toEqual(single.live.slice(0, -1));
	});

	it('asks for --session N when the file holds two runs, and --session 2 replays the second', async () => {
		const asked = await runCli(['replay', double.file, '--json']);
		expect(asked.code).toBe(2);
		expect(asked.stderr).toMatch(/holds 2 runs: name one with --session N/);
		expect(asked.stdout).toBe('');

		const second = await runCli(['replay', double.file, '--json', '--session', '2']);
		expect(second.stderr).toBe('');
		expect(normalised(second.stdout)).toEqual(double.second);
		const first = await runCli(['replay', double.file, '--json', '--session=1']);
		expect(normalised(first.stdout)).toEqual(double.first);

		const none = await runCli(['replay', double.file, '--json', '--session', '3']);
		expect(none.code).toBe(2);
		expect(none.stderr).toContain('there is no run 3');
	});

	it('on a terminal, lists the runs and asks which one to open until it gets a number it has', async () => {
		const {sessions} = await import('../../source/core/replay/recording.js').then(async ({indexRecording}) => indexRecording(double.file));
		const input = new PassThrough();
		const output = new PassThrough();
		let shown = '';
		output.on('data', (chunk: Buffer) => {
			shown += chunk.toString();
		});
		const answer = askSession(sessions, input, output);
		input.write('7\n');
		input.write('2\n');
		expect(await answer).toBe(2);
		expect(shown).toContain('this file holds 2 runs');
		expect(shown).toMatch(/^ {2}1 {2}\d{4}-\d\d-\d\dT.*netdash --json --log .* \(\d+ events, \d+\.\d s\)$/m);
		expect(shown).toContain('there is no run "7"');
		expect(shown.match(/open which run\? \(1–2\)/g)).toHaveLength(2);
	});
});

describe('netdash replay FILE in the dashboard', () => {
	async function open(): Promise<Replay & {rendered: ReturnType<typeof render>; see: (text: string | ((frame: string) => boolean), what?: string) => Promise<string>}> {
		const loaded = await loadSession(single.file, 1);
		const replay = openReplay(loaded, single.file);
		const rendered = render(createElement(App, {core: replay.core, store: replay.store, replay: replay.player}));
		cleanups.push(async () => {
			rendered.unmount();
			replay.player.dispose();
			replay.store.dispose();
			await replay.core.closeAll(100);
			replay.core.dispose();
		});
		replay.player.start();
		const see = async (text: string | ((frame: string) => boolean), what = String(text)) =>
			waitForFrame(rendered.lastFrame, typeof text === 'string' ? (frame) => frame.includes(text) : text, what);
		return {...replay, rendered, see};
	}

	const lastAt = () => (JSON.parse(single.live.at(-1)!) as {at: number}).at;
	const firstAt = () => (JSON.parse(single.live[0]!) as {at: number}).at;

	it('shows the recorded connection and UDP socket in the panes, with the recorded time on its status line, and stays at the end', async () => {
		const {see, rendered, core} = await open();
		// The replay's line moves at once; the panes with the store's next publish.
		const frame = await see((shown) => shown.includes('■ end') && shown.includes('0 listening'), 'the end of the replay, panes included');
		// The panes as they were: the listener, the connection with its bytes each way, the UDP socket, the log.
		expect(frame).toContain('C1');
		expect(frame).toContain('U1');
		expect(frame).toMatch(/14 B/);
		expect(frame).toContain(`${formatTime(lastAt())}`);
		expect(frame).toContain(`${single.live.length}/${single.live.length} events`);
		// It does not exit: it still answers keys and shows the same state.
		rendered.stdin.write('?');
		const help = await see('Replay (netdash replay)');
		for (const binding of keyBindings.filter((each) => each.scope === 'replay')) {
			expect(help).toContain(`${keyLabel(binding).padEnd(11)} ${binding.description}`);
		}

		rendered.stdin.write('?');
		await see('■ end');
		expect(core.openSockets).toBe(0);
	});

	it('space pauses, + and - change the speed, [ goes back to the start and ] forward to the end', async () => {
		const {see, rendered} = await open();
		await see('■ end');
		rendered.stdin.write(' ');
		rendered.stdin.write('[');
		// Paused at the recorded start: only what happened at its first instant is shown.
		let frame = await see((shown) => shown.includes('⏸ paused') && shown.includes(`${formatTime(firstAt())} (00:00.000 of`), 'paused at the start');
		expect(frame).not.toContain('C1');
		const atStart = Number(/ (\d+)\/\d+ events/.exec(frame)![1]);
		expect(atStart).toBeLessThan(single.live.length);
		rendered.stdin.write('+');
		await see('· 10× ·');
		rendered.stdin.write('+');
		await see('· full speed ·');
		rendered.stdin.write('-');
		await see('· 10× ·');
		rendered.stdin.write('-');
		await see('· 1× ·');
		rendered.stdin.write('-');
		// Still paused all along: nothing more was delivered.
		frame = await see('· 1× ·');
		expect(frame).toContain(`${atStart}/${single.live.length} events`);
		rendered.stdin.write(']');
		// The replay's line moves at once; the panes with the store's next publish.
		frame = await see((shown) => shown.includes('■ end') && shown.includes('C1'), 'the end, with C1');
		expect(frame).toContain(`${single.live.length}/${single.live.length} events`);
		// Back again, then play: at full speed it reaches the end by itself.
		rendered.stdin.write('[');
		await see((shown) => shown.includes('⏸ paused') && !shown.includes('C1'), 'back at the start');
		rendered.stdin.write('++ ');
		await see((shown) => shown.includes('■ end') && shown.includes('· full speed ·') && shown.includes('C1'), 'the end at full speed, with C1');
	});

	it('refuses a command that would touch a socket with one line, and opens nothing', async () => {
		const {see, rendered, core} = await open();
		await see('■ end');
		rendered.stdin.write(':');
		await see((frame) => frame.includes(':'), 'the command line');
		rendered.stdin.write('connect 127.0.0.1:9\r');
		await see('read-only');
		expect(core.openSockets).toBe(0);
		expect(core.connectionIds()).toEqual([]);
	});
});

describe('a replayed pane counts ages in recorded time', () => {
	it('a peer heard at the end of a recording made long ago is shown seconds old, not hours', async () => {
		// Given a recording (from a day ago) of discovery hearing one peer
		const t0 = Date.now() - 24 * 3600 * 1000;
		const peer = {instanceId: 'a1b2c3d4e5f60718', name: 'lab-1', address: '10.0.0.7', port: 47_474, ports: [8080], state: 'fresh', rttMs: null, firstSeen: t0 + 1000, lastSeen: t0 + 1000};
		const events = [
			{type: 'discovery-started', port: 47_474, instanceId: 'ffffeeeeddddcccc', name: 'me', intervalMs: 5000, targets: [], seq: 1, at: t0},
			{type: 'peer-discovered', via: 'announce', ...peer, seq: 2, at: t0 + 1000},
		] as unknown as BusEvent[];
		const replay = openReplay({session: {number: 1, line: 1, events: 2}, events, badLines: []}, 'discovery.jsonl');
		const rendered = render(createElement(App, {core: replay.core, store: replay.store, replay: replay.player}));
		cleanups.push(async () => {
			rendered.unmount();
			replay.player.dispose();
			replay.store.dispose();
			replay.core.dispose();
		});
		// Wide enough for the Discovery pane's age column (as a terminal resize tells Ink).
		Object.defineProperty(rendered.stdout, 'columns', {configurable: true, get: () => 200});
		Object.defineProperty(rendered.stdout, 'rows', {configurable: true, get: () => 40});
		rendered.stdout.emit('resize');
		replay.player.start();
		const frame = await waitForFrame(rendered.lastFrame, (shown) => shown.includes('■ end') && /lab-1 .* \d+[smh] /.test(shown), 'the peer with its age at the end');
		const row = frame.split('\n').find((line) => line.includes('lab-1'))!;
		expect(row).toMatch(/ \ds /);
		expect(row).not.toMatch(/\d+h /);
	});
});

describe('a run that recorded no events', () => {
	it('opens at the time the run started, with 0/0 events, at its end', async () => {
		const startedAt = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 600));
		const file = path.join(directory, 'quiet.jsonl');
		writeFileSync(file, JSON.stringify({type: 'session-started', at: startedAt.getTime(), startedAt: startedAt.toISOString(), version: 'test', arguments: [], host: 'h', pid: 1}) + '\n');
		const replay = openReplay(await loadSession(file, 1), file);
		const rendered = render(createElement(App, {core: replay.core, store: replay.store, replay: replay.player}));
		cleanups.push(async () => {
			rendered.unmount();
			replay.player.dispose();
			replay.store.dispose();
			replay.core.dispose();
		});
		replay.player.start();
		await waitForFrame(rendered.lastFrame, (shown) => shown.includes(`replay ■ end ${formatTime(startedAt.getTime())} (00:00.000 of 00:00.000) · 1× · 0/0 events`), 'the empty run at its start');
	});
});

describe('netdash replay, bad usage', () => {
	it('a reader that stops reading --json early (| head -1) ends the replay quietly, exit 0', async () => {
		// Given a long run: the recorded session's events repeated, numbered on
		const [started, ...events] = readFileSync(single.file, 'utf8').split('\n').filter(Boolean);
		const file = path.join(directory, 'long.jsonl');
		const lines = [started!];
		for (let round = 0, seq = 0; round < 5000; round++) {
			for (const line of events) {
				const record = JSON.parse(line) as Record<string, unknown>;
				if (record['type'] !== 'command') {
					lines.push(JSON.stringify({...record, seq: ++seq}));
				}
			}
		}

		writeFileSync(file, lines.join('\n') + '\n');
		const {spawn} = await import('node:child_process');
		const {cliPath} = await import('../helpers/cli.js');
		const child = spawn(process.execPath, [cliPath, 'replay', file, '--json'], {stdio: ['ignore', 'pipe', 'pipe']});
		let stderr = '';
		child.stderr.on('data', (chunk: Buffer) => {
			stderr += chunk.toString();
		});
		// When the reader takes one chunk and goes away
		child.stdout.once('data', () => {
			child.stdout.destroy();
		});
		const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
		expect(stderr).toBe('');
		expect(code).toBe(0);
	});

	it('a file that does not exist is one line and exit 2', async () => {
		const {code, stderr} = await runCli(['replay', path.join(directory, 'missing.jsonl'), '--json']);
		expect(code).toBe(2);
		expect(stderr.trim().split('\n')).toHaveLength(1);
		expect(stderr).toContain('cannot read the recording');
	});

	it('a file with no event in it is one line and exit 2', async () => {
		const file = path.join(directory, 'empty.jsonl');
		appendFileSync(file, 'not json\n');
		const {code, stderr} = await runCli(['replay', file, '--json']);
		expect(code).toBe(2);
		expect(stderr).toContain('holds no recorded events (1 line(s) are not records)');
	});
});
