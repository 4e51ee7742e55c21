import net from 'node:net';
import {describe, expect, test} from 'vitest';
import {createSystemSocketReader} from '../../source/core/system/read.js';
import {SockDiagReader} from '../../source/core/system/sock-diag.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {peersForEachTest, whyNoPython} from '../helpers/sock-peer.js';

/*
 * The sock_diag reading (one binary netlink dump through a python3 helper)
 * against the /proc/net + ss reading, on sockets of programs the test starts.
 */

const {startPeer} = peersForEachTest();

describe('the machine\'s sockets from sock_diag', () => {
	skipEachIf(whyNoPython ?? missingTool('ss', 'iproute2') ?? (process.platform === 'linux' ? undefined : 'Linux only'));

	test('a python listener, its client and a UDP socket read the same from sock_diag as from /proc/net and ss, counters included', async () => {
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		const client = startPeer(['dial', '127.0.0.1', String(port), '70000']);
		const clientPort = Number((await client.waitLine(/^connected (\d+)/, 'connected'))[1]);
		await client.waitLine(/^sent/, 'sent');
		const udp = startPeer(['udp', '::1']);
		const udpPort = Number((await udp.waitLine(/^port (\d+)/, 'port'))[1]);

		// (other tests on the machine may hold the same port numbers over the other protocol, or in TIME-WAIT)
		// (a local port may also be another connection's, to another destination)
		const ours = (socket: {protocol: string; inode: number; local: {address: string; port: number}; remote: {port: number}}) =>
			socket.inode !== 0
			&& (socket.protocol === 'tcp'
				? socket.local.address === '127.0.0.1' && ((socket.local.port === port && [0, clientPort].includes(socket.remote.port)) || (socket.local.port === clientPort && socket.remote.port === port))
				: socket.local.address === '::1' && socket.local.port === udpPort);
		const fields = ({protocol, family, local, remote, state, recvQueue, sendQueue, uid, inode, pid, process, bytesIn, bytesOut}: Record<string, any>) => ({protocol, family, local, remote, state, recvQueue, sendQueue, uid, inode, pid, process, bytesIn, bytesOut});
		const byInode = (a: {inode: number}, b: {inode: number}) => a.inode - b.inode;
		const diag = (await createSystemSocketReader()()).sockets.filter(ours).sort(byInode);
		const text = (await createSystemSocketReader({python: null})()).sockets.filter(ours).sort(byInode);
		expect(diag.length).toBe(4);
		expect(diag.map(fields)).toEqual(text.map(fields));
		const accepted = diag.find((socket) => socket.local.port === port && socket.remote.port === clientPort)!;
		expect(accepted).toMatchObject({state: 'ESTAB', pid: server.child.pid, bytesIn: 70_000});
		expect(accepted.rttMs).toBeGreaterThan(0);
		expect(diag.find((socket) => socket.local.port === udpPort)).toMatchObject({protocol: 'udp', family: 6, local: {address: '::1'}, state: 'UNCONN', bytesIn: null});
	});

	test('a TIME-WAIT socket (no inode) keeps its row between readings, by its socket cookie, and each one is its own', async () => {
		// The client closes first, so its side of each connection lingers in TIME-WAIT with inode 0.
		const server = net.createServer((socket) => {
			socket.on('end', () => socket.end());
			socket.on('error', () => {});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const {port} = server.address() as net.AddressInfo;
		const read = createSystemSocketReader();
		try {
			// Our clients' ports: another test's connections to an earlier listener on the same port number may
			// still be in TIME-WAIT (60 s), and they are not ours.
			const clientPorts: number[] = [];
			for (let index = 0; index < 2; index++) {
				// eslint-disable-next-line no-await-in-loop
				await new Promise<void>((resolve, reject) => {
					const client = net.connect(port, '127.0.0.1', () => {
						clientPorts.push(client.localPort!);
						client.end();
					});
					client.resume();
					client.on('error', reject);
					client.on('close', () => resolve());
				});
			}

			const waiting = (reading: {sockets: Array<{state: string; inode: number; local: {address: string; port: number}; remote: {port: number}}>}) =>
				reading.sockets.filter((socket) => socket.state === 'TIME-WAIT' && socket.remote.port === port && socket.local.address === '127.0.0.1' && clientPorts.includes(socket.local.port));
			const first = waiting(await read());
			const second = waiting(await read());
			expect(first).toHaveLength(2);
			expect(first.every((socket) => socket.inode === 0)).toBe(true);
			expect(first[0]).not.toBe(first[1]);
			// The very row objects of the first reading: nothing is built again for a socket that did not change.
			expect(second).toHaveLength(2);
			for (const row of second) {
				expect(first).toContain(row);
			}
		} finally {
			read.close();
			server.close();
		}
	});

	test('a reader that keeps last dump\'s objects reads exactly what a fresh one does after sockets open and close between its readings', async () => {
		const held: net.Socket[] = [];
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			held.push(socket);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		const {port} = server.address() as net.AddressInfo;
		const open = async (count: number) => Promise.all(Array.from({length: count}, async () => new Promise<net.Socket>((resolve, reject) => {
			const client = net.connect(port, '127.0.0.1', () => resolve(client));
			client.on('error', reject);
			held.push(client);
		})));
		const ours = (socket: {protocol: string; local: {port: number}; remote: {port: number}; state: string}) =>
			socket.protocol === 'tcp' && socket.state !== 'TIME-WAIT' && (socket.local.port === port || socket.remote.port === port);
		const fields = ({local, remote, state, inode, bytesIn, bytesOut}: Record<string, any>) => ({local, remote, state, inode, bytesIn, bytesOut});
		const byTuple = (a: Record<string, any>, b: Record<string, any>) => (a.local.port - b.local.port) || (a.remote.port - b.remote.port);
		const read = createSystemSocketReader();
		try {
			const clients = await open(40);
			await read();
			// Close every third, send on some, open more: the kernel's order shifts under the kept objects.
			for (const [index, client] of clients.entries()) {
				if (index % 3 === 0) {
					client.resetAndDestroy();
				} else if (index % 3 === 1) {
					client.write('x'.repeat(index));
				}
			}

			await open(25);
			await new Promise((resolve) => setTimeout(resolve, 200));
			const kept = (await read()).sockets.filter(ours).sort(byTuple).map(fields);
			const fresh = (await createSystemSocketReader()()).sockets.filter(ours).sort(byTuple).map(fields);
			expect(kept.length).toBe(1 + (40 - 14 + 25) * 2);
			expect(kept).toEqual(fresh);
		} finally {
			read.close();
			for (const socket of held) {
				socket.destroy();
			}

			server.close();
		}
	});

	test('without python3 the reader says so, and the reading falls back to /proc/net and ss', async () => {
		const reader = new SockDiagReader('/nonexistent/python3');
		await expect(reader.dump()).rejects.toThrow(/ENOENT/);
		const reading = await createSystemSocketReader({python: '/nonexistent/python3'})();
		expect(reading.sockets.length).toBeGreaterThan(0);
		expect(reading.missing).toEqual([]);
	});
});
