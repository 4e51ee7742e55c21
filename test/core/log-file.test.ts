import {spawn, spawnSync} from 'node:child_process';
import {chownSync, closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {maxLagBytes, openLogFile} from '../../source/core/capture/log-file.js';
import {cliPath, runCli} from '../helpers/cli.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
	console.warn('log-file.test.ts: the disk-full test is skipped, it needs root to mount a small tmpfs');
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(): {core: Core; events: Recorder} {
	const core = createCore();
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

function scratch(): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-log-'));
	cleanups.push(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

function client(port: number): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1'});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	return socket;
}

function fifo(directory: string): string {
	const file = path.join(directory, 'fifo');
	const made = spawnSync('mkfifo', ['-m', '600', file]);
	expect(made.status).toBe(0);
	return file;
}

/** Write `total` bytes to the socket as fast as it takes them. */
function flood(socket: net.Socket, total: number): void {
	const chunk = Buffer.alloc(64 * 1024, 0x61);
	let sent = 0;
	const pump = () => {
		while (sent < total) {
			sent += chunk.length;
			if (!socket.write(chunk)) {
				socket.once('drain', pump);
				return;
			}
		}
	};

	socket.once('connect', pump);
}

/** The records of a log file: complete lines parsed, and what follows the last newline (a cut line). */
function readLog(file: string): {records: Array<Record<string, any>>; tail: string} {
	const text = readFileSync(file, 'latin1');
	const end = text.lastIndexOf('\n') + 1;
	const records = text
		.slice(0, end)
		.split('\n')
		.filter((line) => line !== '')
		.map((line) => JSON.parse(line) as Record<string, any>);
	return {records, tail: text.slice(end)};
}

describe('--log is opened safely', () => {
	it('a symbolic link at the log path is refused and the file it points to is left untouched', () => {
		const directory = scratch();
		const target = path.join(directory, 'precious');
		writeFileSync(target, 'keep me\n');
		symlinkSync(target, path.join(directory, 'session.jsonl'));
		const {core} = setup();
		expect(() => openLogFile(core, path.join(directory, 'session.jsonl'))).toThrow(/symbolic link, and --log does not follow one/);
		expect(readFileSync(target, 'utf8')).toBe('keep me\n');
	});

	it.skipIf(!isRoot)('a file another user owns is refused for --log, --pcap and save, and is neither appended to nor emptied', async () => {
		const directory = scratch();
		const planted = path.join(directory, 'planted');
		writeFileSync(planted, 'theirs\n');
		chownSync(planted, 65_534, 65_534);
		const {openCaptureFile} = await import('../../source/core/capture/open-file.js');
		const {core} = setup();
		expect(() => openLogFile(core, planted)).toThrow(/belongs to uid 65534, not to you \(uid 0\)/);
		expect(() => openCaptureFile(planted, {noun: 'capture file', flag: '--pcap', code: 'PCAP'}, {allowSpecial: false, mode: 'truncate'})).toThrow(/belongs to uid 65534/);
		const listener = core.listen('127.0.0.1', 0);
		expect(listener).toBeDefined();
		expect(readFileSync(planted, 'utf8')).toBe('theirs\n');
		// The same file once it is ours is emptied for a capture (mode truncate), as before.
		chownSync(planted, 0, 0);
		const opened = openCaptureFile(planted, {noun: 'capture file', flag: '--pcap', code: 'PCAP'}, {allowSpecial: false, mode: 'truncate'});
		closeSync(opened.fd);
		expect(readFileSync(planted, 'utf8')).toBe('');
	});

	it('a log file netdash creates can be read only by its owner (0600)', async () => {
		const file = path.join(scratch(), 'session.jsonl');
		const {core} = setup();
		const log = openLogFile(core, file);
		await log.close();
		expect(statSync(file).mode & 0o777).toBe(0o600);
	});

	it('a FIFO is refused at once without --log-allow-special, so quit can never hang on it', async () => {
		const directory = scratch();
		const {core} = setup();
		expect(() => openLogFile(core, fifo(directory))).toThrow(/it is a FIFO; add --log-allow-special/);
		// With the flag but nobody reading, it fails at once too (instead of blocking in open).
		expect(() => openLogFile(core, fifo(scratch()), {allowSpecial: true})).toThrow(/FIFO that nobody is reading/);
		const {code, stderr} = await runCli(['--json', '--log', path.join(directory, 'fifo')]);
		expect({code, stderr}).toEqual({code: 2, stderr: `netdash: cannot open the log file ${path.join(directory, 'fifo')}: it is a FIFO; add --log-allow-special to write to it\n`});
		expect((await runCli(['--json', '--log-allow-special'])).stderr).toMatch(/--log-allow-special only applies to --log FILE/);
	});

	it('with --log-allow-special a FIFO gets the records, and closing gives up within seconds when its reader stops reading', async () => {
		const directory = scratch();
		const file = fifo(directory);
		const reader = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
		cleanups.push(() => closeSync(reader));
		const {core, events} = setup();
		const log = openLogFile(core, file, {allowSpecial: true});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const buffer = Buffer.alloc(256 * 1024);
		let text = '';
		await until(
			() => {
				try {
					text += buffer.toString('latin1', 0, readSync(reader, buffer));
				} catch {
					// EAGAIN: nothing yet.
				}

				return text.includes('"listener-opened"');
			},
			() => `no listener-opened through the FIFO: ${text.slice(0, 200)}`,
		);
		expect(JSON.parse(text.split('\n')[0]!)).toMatchObject({type: 'session-started'});
		// Now stop reading and push more than the pipe holds: the writer blocks.
		const socket = client(port);
		flood(socket, 4 * 1024 * 1024);
		await until(() => events.of('data-received').reduce((sum, event) => sum + event.bytes, 0) > 512 * 1024, () => 'data');
		const started = performance.now();
		await core.closeAll(100);
		await log.close();
		const closeMs = performance.now() - started;
		console.log(`FIFO whose reader stopped: close gave up after ${Math.round(closeMs)} ms`);
		expect(closeMs).toBeLessThan(5000);
	});
});

describe('--log keeps whole lines and stays close behind', () => {
	it.skipIf(!isRoot)('on a full disk the file is truncated back to its last whole line, and the failure is reported once', async () => {
		const mountPoint = scratch();
		expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=700', 'netdash-test', mountPoint]).status).toBe(0);
		cleanups.push(() => spawnSync('umount', ['-l', mountPoint]));
		const file = path.join(mountPoint, 'session.jsonl');
		const {core, events} = setup();
		openLogFile(core, file);
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		// Chunks that are not a multiple of a page, so the write that fills the disk stops mid-line.
		const socket = client(port);
		const chunk = Buffer.alloc(10_000, 0x62);
		socket.on('connect', () => {
			for (let index = 0; index < 60; index++) {
				socket.write(chunk);
			}
		});
		const failed = await events.waitFor('log-file-failed');
		expect(failed.code).toBe('ENOSPC');
		await until(() => events.of('data-received').reduce((sum, event) => sum + event.bytes, 0) === 600_000, () => 'all bytes received');
		const text = readFileSync(file, 'latin1');
		console.log(`disk full: ${text.length} bytes kept on a 256 KiB tmpfs, ${text.split('\n').length - 1} whole lines`);
		expect(text.length).toBeGreaterThan(0);
		expect(text.endsWith('\n')).toBe(true);
		expect(readLog(file).records[0]).toMatchObject({type: 'session-started'});
		expect(events.of('log-file-failed')).toHaveLength(1);
	});

	it('while the log is slower than the network, it lags the events by at most 1 MiB: reading pauses instead', async () => {
		const directory = scratch();
		const file = fifo(directory);
		const reader = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
		cleanups.push(() => closeSync(reader));
		const {core, events} = setup();
		const log = openLogFile(core, file, {allowSpecial: true});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		let emitted = 0;
		core.bus.subscribe((event) => {
			if (event.type === 'data-received') {
				emitted += event.bytes;
			}
		});
		// A slow reader of the log: 64 KiB per timer tick, parsed line by line.
		let logged = 0;
		let maxLag = 0;
		let partial = '';
		const buffer = Buffer.alloc(64 * 1024);
		let isReading = true;
		const readSome = () => {
			try {
				partial += buffer.toString('latin1', 0, readSync(reader, buffer));
			} catch {
				// EAGAIN: nothing yet.
			}

			const lines = partial.split('\n');
			partial = lines.pop()!;
			for (const line of lines) {
				const parsed = JSON.parse(line) as Record<string, any>;
				if (parsed['type'] === 'data-received') {
					logged += parsed['bytes'] as number;
				}
			}

			maxLag = Math.max(maxLag, emitted - logged);
			if (isReading) {
				setTimeout(readSome, 1);
			}
		};

		readSome();
		flood(client(port), 24 * 1024 * 1024);
		await until(() => logged >= 6 * 1024 * 1024, () => `logged ${logged} of ${emitted} bytes received`, 30_000);
		console.log(`log behind a slow reader: lag at most ${(maxLag / 1024).toFixed(0)} KiB (limit ${maxLagBytes / 1024} KiB plus the pipe's 64 KiB)`);
		// The pipe itself holds up to 64 KiB of lines the writer has handed over, and one loop turn may overshoot.
		expect(maxLag).toBeLessThanOrEqual(maxLagBytes + 512 * 1024);
		// Keep reading while everything closes, so the writer can finish.
		await core.closeAll(100);
		await log.close();
		isReading = false;
	});

	it('after a SIGKILL the log ends at most 1 MiB behind stdout, and the next run starts on a whole line', async () => {
		const directory = scratch();
		const logFile = path.join(directory, 'session.jsonl');
		const stdoutFile = path.join(directory, 'stdout.jsonl');
		// stdout to a regular file is written synchronously: it holds exactly what netdash emitted before the kill.
		const out = openSync(stdoutFile, 'w');
		const child = spawn(process.execPath, [cliPath, '--json', '--log', logFile, '--listen', '0'], {stdio: ['pipe', out, 'pipe']});
		closeSync(out);
		cleanups.push(() => child.kill('SIGKILL'));
		let port = 0;
		await until(() => {
			const match = /"type":"listener-opened".*?"port":(\d+)/.exec(readFileSync(stdoutFile, 'latin1'));
			port = match ? Number(match[1]) : 0;
			return port > 0;
		}, () => 'listener-opened on stdout');
		flood(client(port), 256 * 1024 * 1024);
		await until(() => statSync(stdoutFile).size > 24 * 1024 * 1024, () => `stdout at ${statSync(stdoutFile).size} bytes`, 30_000);
		child.kill('SIGKILL');
		await new Promise((resolve) => child.on('exit', resolve));

		const stdout = readLog(stdoutFile).records;
		const {records, tail} = readLog(logFile);
		const lastLogged = Math.max(...records.map((entry) => (typeof entry['seq'] === 'number' ? entry['seq'] : 0)));
		const lag = stdout.filter((event) => event['seq'] > lastLogged && event['type'] === 'data-received').reduce((sum, event) => sum + (event['bytes'] as number), 0);
		console.log(`SIGKILL after ${stdout.length} events: the log reached seq ${lastLogged}, ${(lag / 1024).toFixed(0)} KiB of payload behind stdout; ${tail.length} bytes of a cut line`);
		expect(lag).toBeLessThanOrEqual(maxLagBytes + 256 * 1024);
		// Every logged event is what stdout said, in order. Both are written a loop turn after the event
		// (stdout in one write per turn, the log by its worker), so the kill may land between the two
		// writes of one turn: the log may then hold that turn's events, which stdout never got. Those
		// continue the sequence, and they are at most one turn's write of stdout (64 KiB of lines).
		const loggedSeqs = records.filter((entry) => entry['seq'] !== undefined).map((entry) => entry['seq'] as number);
		const stdoutSeqs = stdout.map((event) => event['seq'] as number);
		const overlap = Math.min(loggedSeqs.length, stdoutSeqs.length);
		expect(loggedSeqs.slice(0, overlap)).toEqual(stdoutSeqs.slice(0, overlap));
		const ahead = records.filter((entry) => typeof entry['seq'] === 'number').slice(overlap);
		expect(ahead.map((entry) => entry['seq'])).toEqual(ahead.map((_, index) => stdoutSeqs.at(-1)! + 1 + index));
		const headChars = ahead.reduce((sum, entry) => sum + JSON.stringify({...entry, base64: undefined}).length + 1, 0);
		expect(headChars).toBeLessThanOrEqual(64 * 1024 + 16 * 1024);

		// The next run repairs a cut last line before appending its own records.
		const again = await runCli(['--json', '--log', logFile]);
		expect(again.code).toBe(0);
		const after = readLog(logFile);
		expect(after.tail).toBe('');
		const sessions = after.records.filter((entry) => entry['type'] === 'session-started');
		expect(sessions).toHaveLength(2);
		expect(sessions[1]!['repairedBytes'] ?? 0).toBe(tail.length);
	});

	it('a file whose last line was cut is truncated back to its last whole line before a new run appends', async () => {
		const file = path.join(scratch(), 'session.jsonl');
		writeFileSync(file, '{"type":"session-started"}\n{"seq":1,"type":"listener-opened"}\n{"seq":2,"type":"data-rec');
		const {core} = setup();
		const log = openLogFile(core, file);
		await log.close();
		const {records, tail} = readLog(file);
		expect(tail).toBe('');
		expect(records.map((entry) => entry['type'])).toEqual(['session-started', 'listener-opened', 'session-started']);
		expect(records[2]).toMatchObject({repairedBytes: '{"seq":2,"type":"data-rec'.length});
	});
});

describe('the session file is a document', () => {
	it('records every command the core is given, before the events it causes, with payloads in base64', async () => {
		const file = path.join(scratch(), 'session.jsonl');
		const {core, events} = setup();
		const log = openLogFile(core, file, {version: '9.9.9', arguments: ['--log', file]});
		core.listen('127.0.0.1', 0, {ref: 'l1'});
		const {port} = await events.waitFor('listener-opened');
		core.connect('127.0.0.1', port, {ref: 'c1'});
		const {connection} = await events.waitFor('connection-opened', (event) => event.origin === 'dialed');
		core.send(connection, Buffer.from('hi\u0000\u001B'), {ref: 's1'});
		await events.waitFor('data-sent');
		core.udpBind('127.0.0.1', 0, {isEcho: true, ref: 'u1'});
		await events.waitFor('udp-bound');
		await core.closeAll(100);
		await log.close();
		const {records} = readLog(file);
		expect(records[0]).toMatchObject({type: 'session-started', version: '9.9.9', arguments: ['--log', file], host: os.hostname()});
		expect(new Date(records[0]!['startedAt'] as string).getTime()).toBe(records[0]!['at']);
		const commands = records.filter((entry) => entry['type'] === 'command');
		expect(commands).toEqual([
			expect.objectContaining({cmd: 'listen', host: '127.0.0.1', port: 0, ref: 'l1'}),
			expect.objectContaining({cmd: 'connect', host: '127.0.0.1', port, ref: 'c1'}),
			expect.objectContaining({cmd: 'send', connection, ref: 's1', base64: Buffer.from('hi\u0000\u001B').toString('base64')}),
			// In the JSON command's own field names (`echo`, not isEcho).
			{type: 'command', at: expect.any(Number), cmd: 'udp', host: '127.0.0.1', port: 0, echo: true, ref: 'u1'},
		]);
		const indexOf = (match: (entry: Record<string, any>) => boolean) => records.findIndex(match);
		expect(indexOf((entry) => entry['cmd'] === 'listen')).toBeLessThan(indexOf((entry) => entry['type'] === 'listener-opened'));
		expect(indexOf((entry) => entry['cmd'] === 'send')).toBeLessThan(indexOf((entry) => entry['type'] === 'data-sent'));
	});

	it('a file holding two runs splits at session-started into two readable sessions', async () => {
		const directory = scratch();
		const file = path.join(directory, 'two-runs.jsonl');
		const first = ['--json', '--log', file, '--listen', '0'];
		const run1 = spawn(process.execPath, [cliPath, ...first], {stdio: 'pipe'});
		cleanups.push(() => run1.kill('SIGKILL'));
		let output = '';
		run1.stdout.on('data', (chunk: Buffer) => {
			output += chunk.toString();
		});
		await until(() => output.includes('"listener-opened"'), () => output);
		const port = Number(/"port":(\d+)/.exec(output)![1]);
		const peer = client(port);
		peer.write('hello from run 1');
		await until(() => output.includes('"data-received"'), () => output);
		run1.stdin.end('{"cmd":"udp","port":0,"ref":"u"}\n{"cmd":"quit","ref":"bye"}\n');
		expect(await new Promise((resolve) => run1.on('exit', resolve))).toBe(0);
		const second = ['--json', '--log', file];
		expect((await runCli(second, '{"cmd":"listen","port":0,"ref":"second"}\n{"cmd":"quit"}\n')).code).toBe(0);

		// Split at each session-started record.
		const sessions: Array<Array<Record<string, any>>> = [];
		for (const entry of readLog(file).records) {
			if (entry['type'] === 'session-started') {
				sessions.push([]);
			}

			sessions.at(-1)!.push(entry);
		}

		expect(sessions).toHaveLength(2);
		const [one, two] = sessions as [Array<Record<string, any>>, Array<Record<string, any>>];
		expect(one[0]).toMatchObject({arguments: first, version: expect.stringMatching(/^\d+\.\d+\.\d+/)});
		expect(two[0]).toMatchObject({arguments: second});
		// Events number from 1 in each run; commands are recorded beside them.
		expect(one.find((entry) => entry['seq'] !== undefined)!['seq']).toBe(1);
		expect(two.find((entry) => entry['seq'] !== undefined)!['seq']).toBe(1);
		expect(one.filter((entry) => entry['type'] === 'command').map((entry) => entry['cmd'])).toEqual(['listen', 'udp']);
		expect(two.filter((entry) => entry['type'] === 'command')).toEqual([expect.objectContaining({cmd: 'listen', ref: 'second'})]);
		const data = one.find((entry) => entry['type'] === 'data-received')!;
		expect(Buffer.from(data['base64'] as string, 'base64').toString()).toBe('hello from run 1');
	});
});
