import {spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {openPcapFile} from '../../source/core/capture/pcap-file.js';
import {createCore, type Core} from '../../source/core/index.js';
import {cliPath, runCli} from '../helpers/cli.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {expertInfo, followTcp, tsharkRaw, wireProblems} from '../helpers/tshark.js';

skipEachIf(missingTool('tshark') ?? (process.getuid?.() === 0 ? undefined : 'not root: the disk-full test mounts a 5 MB tmpfs (CI runs as root)'));

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
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-pcap-'));
	cleanups.push(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

function mountTmpfs(options: string): string {
	const mountPoint = scratch();
	expect(spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'netdash-test', mountPoint]).status).toBe(0);
	cleanups.push(() => spawnSync('umount', ['-l', mountPoint]));
	return mountPoint;
}

/** Send `data` to port in chunks that are not a multiple of a page (so a full disk cuts a write mid-block). */
function clientSending(port: number, data: Buffer): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1'});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	socket.on('connect', () => {
		for (let offset = 0; offset < data.length; offset += 10_000) {
			socket.write(data.subarray(offset, offset + 10_000));
		}
	});
	return socket;
}

describe('a capture file that cannot be written', () => {
	it('on a full 5 MB disk the failure is reported once, the session carries every byte, and the file stays a valid pcapng', async () => {
		const file = path.join(mountTmpfs('size=5m,mode=700'), 'session.pcapng');
		const {core, events} = setup();
		const pcap = openPcapFile(core, file);
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const data = randomBytes(8 * 1024 * 1024);
		clientSending(port, data);
		const failed = await events.waitFor('pcap-file-failed');
		expect(failed.code).toBe('ENOSPC');
		expect(failed.message).toMatch(/the session goes on without it/);
		await until(() => events.of('data-received').reduce((sum, event) => sum + event.bytes, 0) === data.length, () => 'not every byte arrived after the disk filled');
		await pcap.close();
		expect(events.of('pcap-file-failed')).toHaveLength(1);

		// tshark reads the whole file without complaint: it ends on a whole block, and what it holds is the start of the stream.
		const read = tsharkRaw(file, ['-qz', 'io,stat,0']);
		expect({status: read.status, stderr: read.stderr.replace(/^Running as user.*\n/m, '')}).toEqual({status: 0, stderr: ''});
		const {client} = followTcp(file, 0);
		console.log(`disk full: ${statSync(file).size} bytes kept on a 5 MB tmpfs, ${client.length} bytes of the stream`);
		expect(client.length).toBeGreaterThan(1024 * 1024);
		expect(client.equals(data.subarray(0, client.length))).toBe(true);
		expect(expertInfo(file)).not.toMatch(wireProblems);
	});

	it('a capture file on a read-only file system, or behind a symbolic link, is refused at start with one line', async () => {
		const readOnly = mountTmpfs('size=1m,ro');
		const refused = await runCli(['--json', '--pcap', path.join(readOnly, 'x.pcapng')]);
		expect({code: refused.code, stderr: refused.stderr}).toEqual({code: 2, stderr: `netdash: cannot open the capture file ${path.join(readOnly, 'x.pcapng')}: the file system is read-only (EROFS)\n`});
		const directory = scratch();
		writeFileSync(path.join(directory, 'precious'), 'keep me\n');
		symlinkSync(path.join(directory, 'precious'), path.join(directory, 'link.pcapng'));
		const linked = await runCli(['--json', '--pcap', path.join(directory, 'link.pcapng')]);
		expect(linked.code).toBe(2);
		expect(linked.stderr).toMatch(/symbolic link, and --pcap does not follow one/);
		expect(readFileSync(path.join(directory, 'precious'), 'utf8')).toBe('keep me\n');
	});

	it('after a SIGKILL mid-capture, tshark reads the file up to its last complete block', async () => {
		const file = path.join(scratch(), 'killed.pcapng');
		const child = spawn(process.execPath, [cliPath, '--json', '--listen', '0', '--pcap', file], {stdio: ['pipe', 'pipe', 'pipe']});
		cleanups.push(() => child.kill('SIGKILL'));
		let stdout = '';
		child.stdout.on('data', (chunk: Buffer) => {
			stdout += chunk.toString();
		});
		await until(() => /"listener-opened".*"port":(\d+)/.test(stdout), () => `no listener-opened in: ${stdout}`);
		const port = Number(/"listener-opened".*?"port":(\d+)/.exec(stdout)![1]);
		const data = randomBytes(64 * 1024 * 1024);
		clientSending(port, data);
		await until(() => (statSync(file, {throwIfNoEntry: false})?.size ?? 0) > 8 * 1024 * 1024, () => 'the capture never passed 8 MiB', 30_000);
		child.kill('SIGKILL');
		await new Promise((resolve) => child.once('exit', resolve));

		const read = tsharkRaw(file, ['-T', 'fields', '-e', 'frame.number']);
		const stderr = read.stderr.replace(/^Running as user.*\n/m, '');
		// Cut between two writes: no complaint at all; cut inside one: tshark says so after the last whole packet.
		expect(stderr === '' || /cut short in the middle of a packet/.test(stderr), stderr).toBe(true);
		const packets = read.stdout.trim().split('\n').length;
		expect(packets).toBeGreaterThan(100);
		console.log(`SIGKILL at ${statSync(file).size} bytes: tshark read ${packets} packets${stderr ? ' and reported the cut block' : ''}`);
	});
});
