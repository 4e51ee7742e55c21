import {spawn} from 'node:child_process';
import dgram from 'node:dgram';
import {accessSync, constants} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {until} from '../helpers/recorder.js';
import {coresForEachTest} from '../helpers/cores.js';

/*
 * Plain UDP requests against a server netdash did not write (python3): it
 * drops every other request and answers the others with its own text, and a
 * stranger sends a forged answer just before each real one.
 */

const serverPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'lossy-udp-server.py');
const hasPython = (process.env['PATH'] ?? '').split(path.delimiter).some((directory) => {
	try {
		accessSync(path.join(directory, 'python3'), constants.X_OK);
		return true;
	} catch {
		return false;
	}
});
if (!hasPython) {
	console.warn('plain UDP requests: python3 is not installed, so the server these tests talk to cannot run (.ci/run installs it: apt-get install -y python3)');
}

const {makeCore, cleanups} = coresForEachTest();

/** Start the server; resolves with its port and the stranger's. */
async function lossyServer(): Promise<{port: number; strangerPort: number}> {
	const child = spawn('python3', [serverPath], {stdio: ['pipe', 'pipe', 'inherit']});
	cleanups.push(() => {
		child.stdin.end();
		child.kill();
	});
	return new Promise((resolve, reject) => {
		child.on('error', reject);
		child.stdout.once('data', (chunk: Buffer) => {
			const [port, strangerPort] = chunk.toString().trim().split('\n')[0]!.split(' ').map(Number);
			resolve({port: port!, strangerPort: strangerPort!});
		});
	});
}

describe.skipIf(!hasPython)('plain UDP requests', () => {
	it('5 of 5 plain requests to a server that drops half of them complete, with its own text and never a stranger\'s', async () => {
		const {core, events} = makeCore();
		const server = await lossyServer();

		for (let index = 1; index <= 5; index++) {
			const requestId = core.udpRequest(undefined, '127.0.0.1', server.port, Buffer.from('ping'), {isPlain: true, timeoutMs: 100, retries: 4, ref: `q${index}`});
			expect(requestId).toBeDefined();
			const completed = await events.waitFor('request-completed', (event) => event.requestId === requestId);
			// The first attempt was dropped, the resend answered.
			expect(completed).toMatchObject({attempts: 2, from: {address: '127.0.0.1', port: server.port}, ref: `q${index}`});
			const answer = events.of('datagram-received').find((event) => event.socket === completed.socket);
			// "to 4 bytes": the server got the payload alone, with no NDRQ header in front.
			expect(answer?.data.toString()).toBe(`answer ${index} to 4 bytes`);
			expect(events.of('datagram-sent').filter((event) => event.socket === completed.socket).map((event) => [event.data.toString(), event.attempt])).toEqual([
				['ping', 1],
				['ping', 2],
			]);
		}

		// Each request had a socket of its own, closed once answered; the stranger's datagrams never got in.
		await until(() => events.of('udp-closed').length === 5, () => `udp-closed: ${events.of('udp-closed').length}`);
		expect(core.openSockets).toBe(0);
		expect(events.of('datagram-received').filter((event) => event.from.port === server.strangerPort)).toEqual([]);
		expect(events.of('request-failed')).toEqual([]);
		expect(events.of('command-failed')).toEqual([]);
	});

	it('a plain request nobody answers is resent with doubling waits, then fails', async () => {
		const {core, events} = makeCore();
		// A silent peer: a socket that reads and never answers.
		const silent = dgram.createSocket('udp4');
		const arrivals: number[] = [];
		silent.on('message', () => arrivals.push(performance.now()));
		await new Promise<void>((resolve) => {
			silent.bind(0, '127.0.0.1', resolve);
		});
		cleanups.push(() => {
			silent.close();
		});

		const startedAt = performance.now();
		const requestId = core.udpRequest(undefined, '127.0.0.1', silent.address().port, Buffer.from('anyone?'), {isPlain: true, timeoutMs: 100, retries: 2});
		const failed = await events.waitFor('request-failed', (event) => event.requestId === requestId);
		const elapsed = performance.now() - startedAt;
		expect(failed.attempts).toBe(3);
		await until(() => arrivals.length === 3, () => `${arrivals.length} attempts arrived`);
		console.log(`plain request: attempts arrived after ${arrivals.map((at) => (at - startedAt).toFixed(0)).join(', ')} ms; failed after ${elapsed.toFixed(0)} ms`);
		// Waits of 100, 200 and 400 ms: 700 ms in all. Waits that did not double (100 each) would fail after 300 ms.
		// Timers only fire late on a busy machine, never early, so this lower bound holds under load.
		expect(elapsed).toBeGreaterThanOrEqual(700 - 5);
		await until(() => core.openSockets === 0, () => 'its socket closed');
	});

	it('closing everything during a plain request is prompt: the request fails and its socket closes', async () => {
		const {core, events} = makeCore();
		const silent = dgram.createSocket('udp4');
		await new Promise<void>((resolve) => {
			silent.bind(0, '127.0.0.1', resolve);
		});
		cleanups.push(() => {
			silent.close();
		});
		const requestId = core.udpRequest(undefined, '127.0.0.1', silent.address().port, Buffer.from('?'), {isPlain: true, timeoutMs: 5000});
		await events.waitFor('datagram-sent', (event) => event.requestId === requestId);

		const startedAt = performance.now();
		await core.closeAll(200);
		const elapsed = performance.now() - startedAt;

		expect(elapsed).toBeLessThan(2000);
		expect(events.of('request-failed')).toMatchObject([{requestId, attempts: 1}]);
		expect(events.of('udp-closed')).toHaveLength(1);
		expect(core.openSockets).toBe(0);
	});

	it('a plain request on a named socket needs it connected, and then completes on it', async () => {
		const {core, events} = makeCore();
		const server = await lossyServer();
		const socket = core.udpBind('127.0.0.1', 0)!;

		core.udpRequest(socket, '127.0.0.1', server.port, Buffer.from('hi'), {isPlain: true, ref: 'unconnected'});
		const refused = await events.waitFor('command-failed', (event) => event.ref === 'unconnected');
		expect(refused).toMatchObject({code: 'NOT_CONNECTED', target: socket});

		core.udpConnect(socket, '127.0.0.1', server.port);
		const requestId = core.udpRequest(socket, undefined, undefined, Buffer.from('hi'), {isPlain: true, timeoutMs: 100, retries: 4});
		const completed = await events.waitFor('request-completed', (event) => event.requestId === requestId);
		expect(completed).toMatchObject({socket, attempts: 2});
		expect(core.udpSocketIds()).toEqual([socket]);
	});
});
