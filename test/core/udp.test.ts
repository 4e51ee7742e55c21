import dgram from 'node:dgram';
import {describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {decodeHeader, encodeReply} from '../../source/core/udp/request.js';
import {until, type Recorder} from '../helpers/recorder.js';
import {coresForEachTest} from '../helpers/cores.js';

const {makeCore, cleanups} = coresForEachTest();

/** Bind a UDP socket on loopback and wait until it is bound; returns its id and port. */
async function bound(core: Core, events: Recorder, options: Parameters<Core['udpBind']>[2] = {}): Promise<{id: string; port: number}> {
	const id = core.udpBind('127.0.0.1', 0, options);
	expect(id).toBeDefined();
	const event = await events.waitFor('udp-bound', (bound) => bound.socket === id);
	return {id: id!, port: event.port};
}

/** A plain dgram socket on loopback, closed after the test. */
async function rawSocket(): Promise<dgram.Socket> {
	const socket = dgram.createSocket('udp4');
	socket.on('error', () => {});
	await new Promise<void>((resolve) => {
		socket.bind(0, '127.0.0.1', resolve);
	});
	cleanups.push(() => {
		socket.close();
	});
	return socket;
}

describe('UDP sockets on loopback', () => {
	it('a datagram arrives with exactly the bytes sent and the sender address', async () => {
		const {core, events} = makeCore();
		const receiver = await bound(core, events);
		const sender = await bound(core, events);
		const bytes = Buffer.from(Array.from({length: 256}, (_, index) => index));

		expect(core.udpSend(sender.id, '127.0.0.1', receiver.port, bytes)).toBe(true);

		const received = await events.waitFor('datagram-received', (event) => event.socket === receiver.id);
		expect(received.data.equals(bytes)).toBe(true);
		expect(received.bytes).toBe(256);
		expect(received.from).toEqual({address: '127.0.0.1', port: sender.port});
		const sent = await events.waitFor('datagram-sent', (event) => event.socket === sender.id);
		expect(sent.to).toEqual({address: '127.0.0.1', port: receiver.port});
		expect(sent.warning).toBeUndefined();
	});

	it('a connected socket no longer sees datagrams from any other sender', async () => {
		const {core, events} = makeCore();
		const socket = await bound(core, events);
		const peer = await bound(core, events);
		const stranger = await bound(core, events);

		core.udpConnect(socket.id, '127.0.0.1', peer.port);
		await events.waitFor('udp-connected', (event) => event.socket === socket.id);
		// The stranger's datagram goes first: were it accepted, it would be queued ahead of the peer's.
		core.udpSend(stranger.id, '127.0.0.1', socket.port, Buffer.from('from the stranger'));
		await events.waitFor('datagram-sent', (event) => event.socket === stranger.id);
		core.udpSend(peer.id, '127.0.0.1', socket.port, Buffer.from('from the peer'));

		const received = await events.waitFor('datagram-received', (event) => event.socket === socket.id);
		expect(received.data.toString()).toBe('from the peer');
		expect(events.of('datagram-received').filter((event) => event.socket === socket.id)).toHaveLength(1);

		// And it sends to its peer without being told where.
		expect(core.udpSend(socket.id, undefined, undefined, Buffer.from('back'))).toBe(true);
		const back = await events.waitFor('datagram-received', (event) => event.socket === peer.id);
		expect(back.from.port).toBe(socket.port);
	});

	it('a request to a peer that drops the first two is answered on the third attempt, after growing waits, with its round trip', async () => {
		const {core, events} = makeCore();
		const client = await bound(core, events);
		// A real peer that ignores the first two requests it gets and answers the third.
		const peer = await rawSocket();
		const arrivals: Array<{at: number; attempt: number; requestId: number}> = [];
		peer.on('message', (message, from) => {
			const header = decodeHeader(message);
			if (header?.type !== 'request') {
				return;
			}

			arrivals.push({at: performance.now(), attempt: header.attempt, requestId: header.requestId});
			if (arrivals.length === 3) {
				peer.send(encodeReply(header.requestId, header.attempt, header.payload), from.port, from.address);
			}
		});

		const requestId = core.udpRequest(client.id, '127.0.0.1', peer.address().port, Buffer.from('ping'), {timeoutMs: 100, retries: 4});

		const completed = await events.waitFor('request-completed', (event) => event.requestId === requestId);
		const completedAt = performance.now();
		expect(completed.attempts).toBe(3);
		expect(completed.from.port).toBe(peer.address().port);
		expect(arrivals.map((arrival) => arrival.attempt)).toEqual([1, 2, 3]);
		expect(new Set(arrivals.map((arrival) => arrival.requestId))).toEqual(new Set([requestId]));
		const firstWait = arrivals[1]!.at - arrivals[0]!.at;
		const secondWait = arrivals[2]!.at - arrivals[1]!.at;
		console.log(`request answered on attempt 3: waits ${firstWait.toFixed(0)} ms then ${secondWait.toFixed(0)} ms, round trip of the answered attempt ${completed.rttMs} ms`);
		// Each wait is its backoff, and the second is twice the first. Arrivals are timed where the peer
		// reads them, so a late first arrival (event-loop lag on a busy machine) shortens the gap after it:
		// allow that jitter, but the growth must show.
		expect(firstWait).toBeGreaterThanOrEqual(100 - 25);
		expect(secondWait).toBeGreaterThanOrEqual(200 - 25);
		expect(secondWait).toBeGreaterThan(firstWait * 1.5);
		// The round trip is the third attempt's: that attempt left after the second arrived, the first long before.
		expect(completed.rttMs).toBeLessThan(completedAt - arrivals[1]!.at);
		expect(events.of('datagram-sent').filter((event) => event.requestId === requestId).map((event) => event.attempt)).toEqual([1, 2, 3]);
	});

	it('two netdash sockets talk: an echo socket answers requests with the same id and payload', async () => {
		const {core, events} = makeCore();
		const echo = await bound(core, events, {isEcho: true});
		const client = await bound(core, events);

		const requestId = core.udpRequest(client.id, '127.0.0.1', echo.port, Buffer.from('hello'));

		const completed = await events.waitFor('request-completed', (event) => event.requestId === requestId);
		expect(completed.attempts).toBe(1);
		const reply = events.of('datagram-received').find((event) => event.socket === client.id)!;
		expect(decodeHeader(reply.data)).toMatchObject({type: 'reply', requestId, attempt: 1});
		expect(decodeHeader(reply.data)!.payload.toString()).toBe('hello');
		console.log(`echo round trip on loopback: ${completed.rttMs} ms`);
	});

	it('request ids are random, not sequential', async () => {
		const {core, events} = makeCore();
		const echo = await bound(core, events, {isEcho: true});
		const client = await bound(core, events);
		const ids = Array.from({length: 20}, () => core.udpRequest(client.id, '127.0.0.1', echo.port, Buffer.alloc(0))!);
		await until(() => events.of('request-completed').length === 20, () => `${events.of('request-completed').length} of 20 completed`);
		const steps = ids.slice(1).map((id, index) => id - ids[index]!);
		expect(new Set(ids).size).toBe(20);
		expect(steps.filter((step) => step === 1)).toHaveLength(0);
	});

	it('a reply nobody asked for is ignored and reported; a second reply to an answered request is a duplicate', async () => {
		const {core, events} = makeCore();
		const client = await bound(core, events);
		const peer = await rawSocket();
		let lastRequest: Buffer | undefined;
		peer.on('message', (message, from) => {
			const header = decodeHeader(message)!;
			lastRequest = message;
			const reply = encodeReply(header.requestId, header.attempt, header.payload);
			// Answer twice: the second copy is a duplicate.
			peer.send(reply, from.port, from.address);
			peer.send(reply, from.port, from.address);
		});

		const requestId = core.udpRequest(client.id, '127.0.0.1', peer.address().port, Buffer.from('x'))!;
		await events.waitFor('request-completed');
		const duplicate = await events.waitFor('reply-ignored');
		expect(duplicate).toMatchObject({requestId, reason: 'duplicate'});
		expect(lastRequest).toBeDefined();

		peer.send(encodeReply(0x1234_5678, 1, Buffer.alloc(0)), client.port, '127.0.0.1');
		const unknown = await events.waitFor('reply-ignored', (event) => event.requestId === 0x1234_5678);
		expect(unknown.reason).toBe('unknown');
		expect(events.of('request-completed')).toHaveLength(1);
	});

	it('a request nobody answers fails after its retries, with the number of attempts', async () => {
		const {core, events} = makeCore();
		const client = await bound(core, events);
		const silent = await rawSocket();
		const requestId = core.udpRequest(client.id, '127.0.0.1', silent.address().port, Buffer.from('anyone?'), {timeoutMs: 50, retries: 2});

		const failed = await events.waitFor('request-failed', (event) => event.requestId === requestId);
		expect(failed.attempts).toBe(3);
		expect(failed.message).toMatch(/^no reply from 127\.0\.0\.1:\d+ after 3 attempts/);
		console.log(`gave up: ${failed.message}`);
	});

	it('on loopback (MTU 65,536) a 1473-byte datagram is sent without a fragmentation warning', async () => {
		const {core, events} = makeCore();
		const receiver = await bound(core, events);
		const sender = await bound(core, events);

		core.udpSend(sender.id, '127.0.0.1', receiver.port, Buffer.alloc(1473));

		const received = await events.waitFor('datagram-received', (event) => event.socket === receiver.id);
		expect(received.bytes).toBe(1473);
		expect(events.of('datagram-sent')[0]!.warning).toBeUndefined();
	});

	it('a datagram over 65,507 bytes is refused with its size and the limit, and the socket goes on working', async () => {
		const {core, events} = makeCore();
		const receiver = await bound(core, events);
		const sender = await bound(core, events);

		expect(core.udpSend(sender.id, '127.0.0.1', receiver.port, Buffer.alloc(65_508))).toBe(false);

		const failed = await events.waitFor('socket-failed', (event) => event.target === sender.id);
		expect(failed.code).toBe('EMSGSIZE');
		expect(failed.message).toBe(`datagram of 65508 bytes to 127.0.0.1:${receiver.port} is too large — UDP carries at most 65507 bytes`);
		expect(events.of('datagram-sent')).toHaveLength(0);
		// The largest datagram still goes, whole.
		core.udpSend(sender.id, '127.0.0.1', receiver.port, Buffer.alloc(65_507, 7));
		const received = await events.waitFor('datagram-received', (event) => event.socket === receiver.id);
		expect(received.bytes).toBe(65_507);
	});

	it('sending to a broadcast address needs broadcast turned on: EACCES without it, delivered with it', async () => {
		const {core, events} = makeCore();
		// Only a socket bound to the wildcard address receives broadcasts (FACTS.md).
		const receiver = core.udpBind('0.0.0.0', 0, {reuseAddr: true})!;
		const {port} = await events.waitFor('udp-bound', (event) => event.socket === receiver);
		const sender = await bound(core, events);

		core.udpSend(sender.id, '127.255.255.255', port, Buffer.from('hello, everyone'));
		const refused = await events.waitFor('socket-failed', (event) => event.target === sender.id);
		expect(refused.code).toBe('EACCES');
		expect(refused.message).toBe(`permission denied sending to 127.255.255.255:${port} — broadcast needs broadcast enabled on the socket`);

		core.setBroadcast(sender.id, true);
		await events.waitFor('udp-broadcast-changed', (event) => event.socket === sender.id && event.isBroadcast);
		core.udpSend(sender.id, '127.255.255.255', port, Buffer.from('hello, everyone'));
		const received = await events.waitFor('datagram-received', (event) => event.socket === receiver);
		expect(received.data.toString()).toBe('hello, everyone');
	});

	it('binding a port already in use fails with EADDRINUSE and a plain message', async () => {
		const {core, events} = makeCore();
		const first = await bound(core, events);
		const second = core.udpBind('127.0.0.1', first.port)!;

		const failed = await events.waitFor('socket-failed', (event) => event.target === second);
		expect(failed.code).toBe('EADDRINUSE');
		expect(failed.message).toBe(`127.0.0.1:${first.port} is already in use — another socket is bound to that port`);
		await until(() => !core.udpSocketIds().includes(second), () => `${second} still listed`);
		expect(events.of('udp-bound').map((event) => event.socket)).toEqual([first.id]);
	});

	it('a connected socket told "port unreachable" by ICMP reports ECONNREFUSED and stays usable', async () => {
		const {core, events} = makeCore();
		const socket = await bound(core, events);
		const gone = await rawSocket();
		const port = gone.address().port;
		gone.close();
		cleanups.pop();

		core.udpConnect(socket.id, '127.0.0.1', port);
		await events.waitFor('udp-connected');
		core.udpSend(socket.id, undefined, undefined, Buffer.from('anyone?'));

		const refused = await events.waitFor('socket-failed', (event) => event.target === socket.id);
		expect(refused.code).toBe('ECONNREFUSED');
		expect(refused.message).toBe(`connection refused by 127.0.0.1:${port} — nothing is listening there`);
		expect(core.udpSocketIds()).toContain(socket.id);
		expect(core.udpSend(socket.id, undefined, undefined, Buffer.from('still here'))).toBe(true);
		await events.waitFor('datagram-sent', (event) => event.data.toString() === 'still here');
	});

	it('close ends a UDP socket with exact counters; later commands on it fail with a message', async () => {
		const {core, events} = makeCore();
		const receiver = await bound(core, events);
		const sender = await bound(core, events);
		core.udpSend(sender.id, '127.0.0.1', receiver.port, Buffer.from('abc'));
		await events.waitFor('datagram-received');

		expect(core.close(sender.id)).toBe(true);

		const closed = await events.waitFor('udp-closed', (event) => event.socket === sender.id);
		expect(closed).toMatchObject({datagramsOut: 1, bytesOut: 3, datagramsIn: 0, bytesIn: 0});
		expect(core.udpSend(sender.id, '127.0.0.1', receiver.port, Buffer.from('x'))).toBe(false);
		const failed = await events.waitFor('command-failed');
		expect(failed.code).toBe('UNKNOWN_ID');
		expect(failed.message).toBe(`no open UDP socket "${sender.id}" (open: ${receiver.id})`);
	});

	it('closeAll closes UDP sockets too, and a request in flight fails rather than hangs', async () => {
		const {core, events} = makeCore();
		const client = await bound(core, events);
		const silent = await rawSocket();
		const requestId = core.udpRequest(client.id, '127.0.0.1', silent.address().port, Buffer.from('?'), {timeoutMs: 10_000});

		await core.closeAll(100);

		expect(core.openSockets).toBe(0);
		expect(events.of('request-failed')).toMatchObject([{requestId, attempts: 1, message: `${client.id} was closed`}]);
		expect(events.of('udp-closed').map((event) => event.socket)).toEqual([client.id]);
	});
});
