import dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import {afterEach, describe, expect, it} from 'vitest';
import {runCli, spawnJson, type JsonChild} from '../helpers/cli.js';
import {freeUdpPort as freePort} from '../helpers/ports.js';

const children: JsonChild[] = [];

afterEach(() => {
	for (const child of children.splice(0)) {
		child.child.kill('SIGKILL');
	}
});

function start(args: string[]): JsonChild {
	const child = spawnJson(['--json', ...args]);
	children.push(child);
	return child;
}


describe('UDP and discovery through --json', () => {
	it('a script binds an echo socket, sends a request and a datagram, and reads the results as JSON', async () => {
		const netdash = start([]);
		netdash.send({cmd: 'udp', port: 0, echo: true, ref: 'echo'});
		netdash.send({cmd: 'udp', port: 0, ref: 'client'});
		const echo = await netdash.waitFor((event) => event.type === 'udp-bound' && event.ref === 'echo', 'the echo socket bound');
		const client = await netdash.waitFor((event) => event.type === 'udp-bound' && event.ref === 'client', 'the client socket bound');
		expect(echo).toMatchObject({socket: 'U1', address: '127.0.0.1', isEcho: true, isBroadcast: false});

		netdash.send({cmd: 'request', socket: client.socket, host: '127.0.0.1', port: echo.port, text: 'ping', timeout: 0.2, retries: 2, ref: 'r'});
		const completed = await netdash.waitFor((event) => event.type === 'request-completed', 'the request answered');
		expect(completed).toMatchObject({socket: 'U2', attempts: 1, ref: 'r', from: {address: '127.0.0.1', port: echo.port}});

		netdash.send({cmd: 'sendto', socket: client.socket, host: '127.0.0.1', port: echo.port, hex: '00 ff 1b'});
		const received = await netdash.waitFor((event) => event.type === 'datagram-received' && event.socket === 'U1' && event.bytes === 3, 'the datagram received');
		expect(received).toMatchObject({base64: 'AP8b', from: {address: '127.0.0.1', port: client.port}});
		expect(received['data']).toBeUndefined();

		netdash.send({cmd: 'sendto', socket: 'U9', host: '127.0.0.1', port: 9, text: 'x', ref: 'bad'});
		const failed = await netdash.waitFor((event) => event.type === 'command-failed' && event.ref === 'bad', 'the bad sendto refused');
		expect(failed.message).toBe('no open UDP socket "U9" (open: U1, U2)');

		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		expect(netdash.events.filter((event) => event.type === 'udp-closed').map((event) => event.socket)).toEqual(['U1', 'U2']);
		expect(netdash.badLines).toEqual([]);
	});

	it('two instances started with --discover find each other, and quit says bye', async () => {
		const [portA, portB] = [await freePort(), await freePort()];
		const flags = ['--discover-interval', '0.2'];
		const a = start(['--discover', String(portA), '--broadcast-address', `127.0.0.1:${portB}`, '--name', 'alpha', ...flags]);
		const b = start(['--discover', String(portB), '--broadcast-address', `127.0.0.1:${portA}`, '--name', 'bravo', ...flags]);
		const startedA = await a.waitFor((event) => event.type === 'discovery-started', 'discovery started on a');
		expect(startedA).toMatchObject({port: portA, name: 'alpha', intervalMs: 200, targets: [{address: '127.0.0.1', port: portB}]});

		const seen = await b.waitFor((event) => event.type === 'peer-discovered' && event.name === 'alpha', 'b discovering a');
		await a.waitFor((event) => event.type === 'peer-discovered' && event.name === 'bravo', 'a discovering b');
		expect(seen).toMatchObject({instanceId: startedA.instanceId, address: '127.0.0.1', port: portA});

		a.send({cmd: 'quit'});
		const left = await b.waitFor((event) => event.type === 'peer-left', 'b told a left');
		expect(left).toMatchObject({instanceId: startedA.instanceId, reason: 'bye'});
		expect(await a.exited).toBe(0);
		expect(a.events.at(-1)).toMatchObject({type: 'discovery-stopped', reason: 'stopped'});
	});

	it('the discovery corpus sent into a running CLI: it stays up and counts every datagram', async () => {
		type CorpusCase = {expect: string; hex: string};
		const corpus = JSON.parse(readFileSync(new URL('../fixtures/discovery-corpus.json', import.meta.url), 'utf8')) as CorpusCase[];
		const port = await freePort();
		const netdash = start(['--discover', String(port), '--broadcast-address', '127.0.0.1:9', '--discover-interval', '0.2']);
		await netdash.waitFor((event) => event.type === 'discovery-started', 'discovery started');
		const sender = dgram.createSocket('udp4');
		sender.on('error', () => {});
		for (const entry of corpus) {
			await new Promise((resolve) => {
				sender.send(Buffer.from(entry.hex, 'hex'), port, '127.0.0.1', resolve);
			});
		}

		sender.close();
		// The counters come once per interval: every datagram is accounted for, and they add up.
		const stats = await netdash.waitFor((event) => event.type === 'discovery-stats' && event.received === corpus.length, 'all datagrams counted');
		console.log(`corpus into the CLI: ${JSON.stringify(stats)}`);
		expect(stats.accepted + stats.own + stats.foreign + stats.dropped).toBe(corpus.length);
		// Still alive and answering.
		netdash.send({cmd: 'probe', ref: 'p'});
		const firstAttempts = () => netdash.events.filter((event) => event.type === 'probe-sent' && event.attempt === 1);
		await netdash.waitFor(() => firstAttempts().length === 2, 'the probe asked for');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		const stopped = netdash.events.find((event) => event.type === 'discovery-stopped')!;
		expect(stopped).toMatchObject({reason: 'stopped', received: corpus.length, dropped: stats.dropped});
		const dropped = netdash.events.filter((event) => event.type === 'packet-dropped').reduce((sum, event) => sum + (event.count as number), 0);
		expect(dropped).toBe(stopped.dropped);
		expect(netdash.badLines).toEqual([]);
	});

	it('discovery flags are checked before anything starts', async () => {
		expect(await runCli(['--name', 'x'])).toMatchObject({code: 2, stderr: 'netdash: --name only applies to discovery: add --discover\n'});
		expect(await runCli(['--discover', '0'])).toMatchObject({code: 2, stderr: 'netdash: --discover needs a port from 1 to 65535, not \'0\'\n'});
		expect(await runCli(['--discover', '--discover-interval', '0.01'])).toMatchObject({code: 2, stderr: 'netdash: --discover-interval must be at least 0.1 seconds, not \'0.01\'\n'});
		expect(await runCli(['--discover', '--broadcast-address', 'everyone'])).toMatchObject({code: 2, stderr: 'netdash: --broadcast-address: a broadcast address is an IPv4 address, optionally with :port, not "everyone"\n'});
	});
});
