import {randomBytes} from 'node:crypto';
import dgram from 'node:dgram';
import {appendFileSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {openLogFile} from '../../source/core/capture/log-file.js';
import {openPcapFile} from '../../source/core/capture/pcap-file.js';
import {createCore} from '../../source/core/index.js';
import {runCli} from '../helpers/cli.js';
import {record, until} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {expertInfo, followTcp, sendUntilReceived, tshark, wireProblems} from '../helpers/tshark.js';

skipEachIf(missingTool('tshark'));

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function scratch(): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-export-'));
	cleanups.push(() => rmSync(directory, {recursive: true, force: true}));
	return directory;
}

/** Every field that makes a packet what it is, one line per packet. */
const packetFields = ['frame.time_epoch', 'ip.src', 'ipv6.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags', 'tcp.payload', 'udp.srcport', 'udp.dstport', 'udp.payload', 'frame.comment'];
function packets(file: string): string[] {
	return tshark(file, ['-T', 'fields', ...packetFields.flatMap((field) => ['-e', field])]).trim().split('\n');
}

/**
 * One run of netdash with both --log and --pcap: a client sends `up` and
 * netdash answers `down` on an accepted connection, then a datagram each way.
 */
async function session(logFile: string, pcapFile: string | undefined, up: Buffer, down: Buffer): Promise<void> {
	const core = createCore();
	const events = record(core.bus);
	const log = openLogFile(core, logFile, {version: 'test', arguments: []});
	const pcap = pcapFile === undefined ? undefined : openPcapFile(core, pcapFile);
	try {
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const client = net.connect({host: '127.0.0.1', port});
		client.on('error', () => {});
		const got: Buffer[] = [];
		client.on('data', (chunk: Buffer) => got.push(chunk));
		const ended = new Promise((resolve) => client.on('end', resolve));
		const opened = await events.waitFor('connection-opened');
		client.write(up);
		core.send(opened.connection, down);
		core.shutdown(opened.connection);
		await ended;
		expect(Buffer.concat(got).equals(down)).toBe(true);
		await events.waitFor('connection-closed');
		core.udpBind('127.0.0.1', 0);
		const bound = await events.waitFor('udp-bound');
		const peer = dgram.createSocket('udp4');
		await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
		await sendUntilReceived(() => peer.send(up.subarray(0, 1000), bound.port, '127.0.0.1'), () => events.of('datagram-received').length);
		core.udpSend(bound.socket, '127.0.0.1', peer.address().port, down.subarray(0, 1000));
		await events.waitFor('datagram-sent');
		peer.close();
		await core.closeAll(100);
	} finally {
		await Promise.all([log.close(), pcap?.close()]);
		core.dispose();
	}
}

describe('netdash export LOG.jsonl -o FILE.pcapng', () => {
	it('turns a --log file into the same capture --pcap wrote live, packet for packet', async () => {
		const directory = scratch();
		const [logFile, live, exported] = ['session.jsonl', 'live.pcapng', 'exported.pcapng'].map((name) => path.join(directory, name)) as [string, string, string];
		const up = randomBytes(300 * 1024);
		const down = randomBytes(300 * 1024);
		await session(logFile, live, up, down);

		const {code, stderr} = await runCli(['export', logFile, '-o', exported]);
		expect(code, stderr).toBe(0);
		expect(stderr).toMatch(/^netdash: wrote \d+ packets from \d+ lines of .*session\.jsonl to .*exported\.pcapng\n$/);
		const stream = followTcp(exported, 0);
		expect(stream.client.equals(up)).toBe(true);
		expect(stream.server.equals(down)).toBe(true);
		expect(packets(exported)).toEqual(packets(live));
		expect(expertInfo(exported)).not.toMatch(wireProblems);
	});

	it('a log of two runs with a corrupt line in between gives both runs, and the bad line is named by its number', async () => {
		const directory = scratch();
		const logFile = path.join(directory, 'two-runs.jsonl');
		const exported = path.join(directory, 'two-runs.pcapng');
		const runs = [0, 1].map(() => ({up: randomBytes(50_000), down: randomBytes(70_000)}));
		await session(logFile, undefined, runs[0]!.up, runs[0]!.down);
		appendFileSync(logFile, '{"type":"data-received","connection":"C1","by\n');
		const badLine = readFileSync(logFile, 'latin1').split('\n').length - 1;
		await session(logFile, undefined, runs[1]!.up, runs[1]!.down);

		const {code, stderr} = await runCli(['export', logFile, '--output', exported]);
		expect(code, stderr).toBe(0);
		expect(stderr).toContain(`1 line(s) are not JSON records and were skipped (line ${badLine})`);
		for (const [index, run] of runs.entries()) {
			const stream = followTcp(exported, index);
			expect(stream.client.equals(run.up)).toBe(true);
			expect(stream.server.equals(run.down)).toBe(true);
		}

		expect(expertInfo(exported)).not.toMatch(wireProblems);
	});

	it('refuses to write over the log itself, and says how it is used', async () => {
		const directory = scratch();
		const logFile = path.join(directory, 'keep.jsonl');
		appendFileSync(logFile, '{"type":"session-started"}\n');
		const same = await runCli(['export', logFile, '-o', logFile]);
		expect({code: same.code, stderr: same.stderr}).toEqual({code: 2, stderr: `netdash: cannot export ${logFile} onto itself: name another file after -o\n`});
		expect(readFileSync(logFile, 'latin1')).toBe('{"type":"session-started"}\n');
		const missing = await runCli(['export', path.join(directory, 'none.jsonl'), '-o', path.join(directory, 'x.pcapng')]);
		expect(missing.code).toBe(2);
		expect(missing.stderr).toMatch(/cannot read the log file .*none\.jsonl: it does not exist/);
		expect((await runCli(['export', '-o', path.join(directory, 'x.pcapng')])).stderr).toBe('netdash: usage: netdash export LOG.jsonl -o FILE.pcapng\n');
	});
});
