import dgram from 'node:dgram';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core, type CoreOptions} from '../../source/core/index.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options: CoreOptions = {}): {core: Core; events: Recorder} {
	const core = createCore(options);
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/** A UDP socket on 127.0.0.1 port 0 that keeps what it hears. */
async function udpPeer(onMessage?: (socket: dgram.Socket, message: Buffer, from: dgram.RemoteInfo) => void): Promise<{socket: dgram.Socket; port: number; heard: Array<{message: string; port: number}>}> {
	const socket = dgram.createSocket('udp4');
	const heard: Array<{message: string; port: number}> = [];
	socket.on('message', (message, from) => {
		heard.push({message: message.toString(), port: from.port});
		onMessage?.(socket, message, from);
	});
	await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
	cleanups.push(() => socket.close());
	return {socket, port: socket.address().port, heard};
}

describe('--forward-udp', () => {
	it('each client address gets its own upstream socket, and the server\'s replies go back to that client', async () => {
		// Given an echo server that answers each datagram with "echo: " and what it got
		const server = await udpPeer((socket, message, from) => {
			socket.send(Buffer.concat([Buffer.from('echo: '), message]), from.port, from.address);
		});
		const {core, events} = setup();
		const id = core.forwardUdp('127.0.0.1', 0, {host: '127.0.0.1', port: server.port})!;
		const port = (await events.waitFor('udp-bound', (event) => event.socket === id)).port;

		// When two clients each send twice through the forward
		const alice = await udpPeer();
		const bob = await udpPeer();
		for (const [client, name] of [[alice, 'alice'], [bob, 'bob']] as const) {
			client.socket.send(`${name} 1`, port, '127.0.0.1');
			client.socket.send(`${name} 2`, port, '127.0.0.1');
		}

		// Then each gets its own answers, from the forward's port
		await until(() => alice.heard.length === 2 && bob.heard.length === 2, () => `alice ${JSON.stringify(alice.heard)} bob ${JSON.stringify(bob.heard)}`);
		expect(alice.heard).toEqual([{message: 'echo: alice 1', port}, {message: 'echo: alice 2', port}]);
		expect(bob.heard.map((entry) => entry.message)).toEqual(['echo: bob 1', 'echo: bob 2']);
		// And the server saw two source ports, one per client
		const sources = new Set(server.heard.map((entry) => entry.port));
		expect(sources.size).toBe(2);
		const opened = events.of('udp-relay-opened');
		expect(opened.map((event) => event.client.port).sort()).toEqual([alice.port, bob.port].sort());
		expect(opened.every((event) => event.socket === id && event.target.port === server.port)).toBe(true);
	});

	it('a session idle for the timeout expires and its upstream socket closes; the next datagram opens a new one', async () => {
		const server = await udpPeer((socket, message, from) => {
			socket.send(message, from.port, from.address);
		});
		const {core, events} = setup();
		const id = core.forwardUdp('127.0.0.1', 0, {host: '127.0.0.1', port: server.port}, {idleMs: 200})!;
		const port = (await events.waitFor('udp-bound', (event) => event.socket === id)).port;
		const client = await udpPeer();
		client.socket.send('one', port, '127.0.0.1');
		await until(() => client.heard.length === 1, () => 'first answer');
		const expired = await events.waitFor('udp-relay-closed');
		expect(expired).toMatchObject({reason: 'expired', datagramsToServer: 1, datagramsToClient: 1, client: {port: client.port}});
		await events.waitFor('udp-closed', (event) => event.socket === expired.upstream);

		client.socket.send('two', port, '127.0.0.1');
		await until(() => client.heard.length === 2, () => 'second answer');
		const sessions = events.of('udp-relay-opened');
		expect(sessions).toHaveLength(2);
		expect(sessions[1]!.upstream).not.toBe(sessions[0]!.upstream);
	});
});
