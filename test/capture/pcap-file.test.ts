import {randomBytes} from 'node:crypto';
import dgram from 'node:dgram';
import {mkdtempSync, rmSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {openPcapFile} from '../../source/core/capture/pcap-file.js';
import {createCore, type Core} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {expertInfo, followTcp, sendUntilReceived, tshark, wireProblems} from '../helpers/tshark.js';

skipEachIf(missingTool('tshark'));

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

/** Collect what a plain Node socket receives until the peer's FIN. */
function collect(socket: net.Socket): Promise<Buffer> {
	const chunks: Buffer[] = [];
	socket.on('data', (chunk: Buffer) => chunks.push(chunk));
	return new Promise((resolve) => {
		socket.on('end', () => {
			resolve(Buffer.concat(chunks));
		});
	});
}

describe('--pcap writes what netdash carried as a capture tshark reads as if from the wire', () => {
	it('follow tcp stream gives back exactly the 300 KB sent each way, on an accepted IPv4 and a dialed IPv6 connection', async () => {
		const file = path.join(scratch(), 'session.pcapng');
		const {core, events} = setup();
		const pcap = openPcapFile(core, file);

		// Accepted on 127.0.0.1: each side sends 300 KB; netdash shuts down after its bytes, the client FINs back.
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		const toNetdash = randomBytes(300 * 1024);
		const fromNetdash = randomBytes(300 * 1024);
		const client = net.connect({host: '127.0.0.1', port});
		client.on('error', () => {});
		cleanups.push(() => client.destroy());
		const clientGot = collect(client);
		const opened = await events.waitFor('connection-opened');
		client.write(toNetdash);
		core.send(opened.connection, fromNetdash);
		core.shutdown(opened.connection);
		expect((await clientGot).equals(fromNetdash)).toBe(true);
		await events.waitFor('connection-closed', (event) => event.connection === opened.connection);
		expect(events.of('connection-closed').find((event) => event.connection === opened.connection)?.bytesIn).toBe(toNetdash.length);

		// Dialed to [::1]: netdash sends 300 KB, the server answers 300 KB, then netdash resets.
		const server = net.createServer();
		const serverGot: Array<Promise<Buffer>> = [];
		const fromServer = randomBytes(300 * 1024);
		const toServer = randomBytes(300 * 1024);
		server.on('connection', (socket) => {
			socket.on('error', () => {});
			serverGot.push(
				new Promise((resolve) => {
					const chunks: Buffer[] = [];
					socket.on('data', (chunk: Buffer) => {
						chunks.push(chunk);
						if (Buffer.concat(chunks).length === toServer.length) {
							socket.write(fromServer);
							resolve(Buffer.concat(chunks));
						}
					});
				}),
			);
		});
		await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
		cleanups.push(() => server.close());
		core.connect('::1', (server.address() as net.AddressInfo).port);
		const dialed = await events.waitFor('connection-opened', (event) => event.origin === 'dialed');
		core.send(dialed.connection, toServer);
		await until(() => serverGot.length === 1, () => 'the server got no connection');
		expect((await serverGot[0]!).equals(toServer)).toBe(true);
		await until(() => events.of('data-received').filter((event) => event.connection === dialed.connection).reduce((sum, event) => sum + event.bytes, 0) === fromServer.length, () => 'netdash did not receive the whole answer');
		core.reset(dialed.connection);
		await events.waitFor('connection-closed', (event) => event.connection === dialed.connection);
		await pcap.close();

		const accepted = followTcp(file, 0);
		expect(accepted.nodes).toEqual([`127.0.0.1:${opened.remote.port}`, `127.0.0.1:${port}`]);
		expect(accepted.client.equals(toNetdash)).toBe(true);
		expect(accepted.server.equals(fromNetdash)).toBe(true);
		const outgoing = followTcp(file, 1);
		expect(outgoing.client.equals(toServer)).toBe(true);
		expect(outgoing.server.equals(fromServer)).toBe(true);
		expect(outgoing.nodes[1]).toBe(`[::1]:${(server.address() as net.AddressInfo).port}`);

		// The handshake, both FINs and the reset are there, each packet named after its connection.
		const rows = tshark(file, ['-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.flags.syn', '-e', 'tcp.flags.fin', '-e', 'tcp.flags.reset', '-e', 'frame.comment'])
			.trim()
			.split('\n')
			.map((line) => line.split('\t'));
		const count = (stream: string, column: number) => rows.filter((row) => row[0] === stream && row[column] === '1').length;
		expect([count('0', 1), count('0', 2), count('0', 3)]).toEqual([2, 2, 0]);
		expect([count('1', 1), count('1', 2), count('1', 3)]).toEqual([2, 0, 1]);
		expect(rows.filter((row) => !row[4]!.startsWith(`${row[0] === '0' ? opened.connection : dialed.connection} `))).toEqual([]);

		const expert = expertInfo(file);
		expect(expert).not.toMatch(wireProblems);
	});

	it('UDP datagrams appear with their addresses, ports and payloads, checksums correct', async () => {
		const file = path.join(scratch(), 'udp.pcapng');
		const {core, events} = setup();
		const pcap = openPcapFile(core, file);
		core.udpBind('127.0.0.1', 0);
		const bound = await events.waitFor('udp-bound');
		const peer = dgram.createSocket('udp4');
		cleanups.push(() => peer.close());
		const peerGot: Buffer[] = [];
		peer.on('message', (message) => peerGot.push(message));
		await new Promise<void>((resolve) => peer.bind(0, '127.0.0.1', resolve));
		const peerPort = peer.address().port;
		const inbound = [randomBytes(1), randomBytes(1201), randomBytes(60_000)];
		const outbound = [randomBytes(7), randomBytes(9001)];
		for (const datagram of inbound) {
			await sendUntilReceived(() => peer.send(datagram, bound.port, '127.0.0.1'), () => events.of('datagram-received').length);
		}

		for (const datagram of outbound) {
			core.udpSend(bound.socket, '127.0.0.1', peerPort, datagram);
		}

		await until(() => peerGot.length === outbound.length, () => 'the peer did not receive every datagram');
		await pcap.close();

		const rows = tshark(file, ['-T', 'fields', '-e', 'ip.src', '-e', 'udp.srcport', '-e', 'ip.dst', '-e', 'udp.dstport', '-e', 'udp.payload', '-e', 'frame.comment', '-Y', 'udp'])
			.trim()
			.split('\n')
			.map((line) => line.split('\t'));
		const received = events.of('datagram-received').map((event) => event.data.toString('hex'));
		expect(received).toEqual(inbound.map((datagram) => datagram.toString('hex')));
		expect(rows).toEqual([
			...inbound.map((datagram) => ['127.0.0.1', String(peerPort), '127.0.0.1', String(bound.port), datagram.toString('hex'), `${bound.socket} datagram-received`]),
			...outbound.map((datagram) => ['127.0.0.1', String(bound.port), '127.0.0.1', String(peerPort), datagram.toString('hex'), `${bound.socket} datagram-sent`]),
		]);
		expect(expertInfo(file)).not.toMatch(wireProblems);
	});
});
