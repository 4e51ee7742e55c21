import dgram from 'node:dgram';
import net from 'node:net';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {runCli, spawnJson, type JsonChild} from '../helpers/cli.js';
import {freeUdpPort} from '../helpers/ports.js';

const {version} = JSON.parse(readFileSync(path.join(import.meta.dirname, '../../package.json'), 'utf8')) as {version: string};
const children: JsonChild[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	for (const {child} of children.splice(0)) {
		child.kill('SIGKILL');
	}
});

function start(args: string[]): JsonChild {
	const netdash = spawnJson(args);
	children.push(netdash);
	return netdash;
}

/** A loopback TCP server that accepts and says nothing. */
async function server(): Promise<number> {
	const sockets: net.Socket[] = [];
	const listening = net.createServer((socket) => {
		socket.on('error', () => {});
		sockets.push(socket);
	});
	await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => listening.close(resolve));
	});
	return (listening.address() as net.AddressInfo).port;
}

describe('the command line of a netcat user', () => {
	it('-h prints the help with the flags grouped, the exit codes, and that piped stdin is JSON commands; -V prints the version', async () => {
		for (const flag of ['-h', '--help']) {
			const {code, stdout} = await runCli([flag]);
			expect(code).toBe(0);
			const headings = stdout.split('\n').filter((line) => /^\s{2}\S/.test(line)).map((line) => line.trim());
			expect(headings).toEqual(expect.arrayContaining(['Usage', 'TCP', 'UDP', 'Discovery', 'Admission', 'Output', 'Exit codes', 'Examples']));
			expect(stdout).toMatch(/netdash HOST PORT\s+dial HOST:PORT/);
			expect(stdout).toMatch(/netdash -l PORT\s+listen on 127\.0\.0\.1:PORT/);
			expect(stdout).toMatch(/piped stdin is read as JSON commands/);
			expect(stdout).toMatch(/^\s+0\s+quit.*stdin ended with nothing left open$/m);
			expect(stdout).toMatch(/^\s+1\s+stdin ended and the socket that ended last failed/m);
			expect(stdout).toMatch(/^\s+2\s+bad usage/m);
			// Every flag the UDP group names is a flag netdash takes
			expect(stdout).toMatch(/^\s+-u\s+Make -l and HOST PORT/m);
			expect(stdout).toMatch(/^\s+--udp \[host:\]port\s+Bind a UDP socket at start \(repeatable/m);
		}

		for (const flag of ['-V', '--version']) {
			const {code, stdout} = await runCli([flag]);
			expect(code).toBe(0);
			expect(stdout.trim()).toBe(version);
		}
	});

	it('netdash HOST PORT dials it, and netdash -l PORT listens on it', async () => {
		const port = await server();
		const dialer = start(['--json', '127.0.0.1', String(port)]);
		const dialed = await dialer.waitFor((event) => event.type === 'connection-opened', 'the dial');
		expect(dialed).toMatchObject({origin: 'dialed', remote: {address: '127.0.0.1', port}});

		const listener = start(['--json', '-l', '0']);
		const opened = await listener.waitFor((event) => event.type === 'listener-opened', 'the listener');
		expect(opened).toMatchObject({address: '127.0.0.1'});
	});

	it('-u makes -l PORT a UDP socket and HOST PORT a connected UDP socket; --udp binds one at start, as often as given', async () => {
		const [first, second] = [await freeUdpPort(), await freeUdpPort()];
		const listener = start(['--json', '-u', '-l', String(first), '--udp', `127.0.0.1:${second}`, '--udp', '0']);
		await listener.waitFor((event) => event.type === 'udp-bound' && event.port === first, `UDP bound on ${first}`);
		await listener.waitFor((event) => event.type === 'udp-bound' && event.port === second, `UDP bound on ${second}`);
		await listener.waitFor((event) => listener.events.filter((candidate) => candidate.type === 'udp-bound').length === 3, 'three UDP sockets');
		expect(listener.events.some((event) => event.type === 'listener-opened')).toBe(false);

		// Given a plain UDP socket, netdash -u HOST PORT connects to it, and what it sends arrives there
		const peer = dgram.createSocket('udp4');
		cleanups.push(() => {
			peer.close();
		});
		await new Promise<void>((resolve) => {
			peer.bind(0, '127.0.0.1', resolve);
		});
		const dialer = start(['--json', '-u', '127.0.0.1', String(peer.address().port)]);
		const connected = await dialer.waitFor((event) => event.type === 'udp-connected', 'udp-connected');
		expect(connected.remote).toEqual({address: '127.0.0.1', port: peer.address().port});
		const arrived = new Promise<string>((resolve) => {
			peer.once('message', (message) => {
				resolve(message.toString());
			});
		});
		dialer.send({cmd: 'sendto', socket: connected.socket, text: 'over udp'});
		expect(await arrived).toBe('over udp');
	});

	it('a misspelled flag gets "did you mean", and -l without a port is an error: one line, exit code 2', async () => {
		for (const [args, line] of [
			[['--lisen', '8080'], 'netdash: unknown flag --lisen — did you mean --listen? (see netdash --help)'],
			[['--json', '--framng', 'line'], 'netdash: unknown flag --framng — did you mean --framing? (see netdash --help)'],
			[['--discovr'], 'netdash: unknown flag --discovr — did you mean --discover? (see netdash --help)'],
			[['-l'], 'netdash: -l needs a value: -l 8080 or --listen host:port'],
			[['-l', '--json'], 'netdash: -l needs a value: -l 8080 or --listen host:port'],
			[['--udp'], 'netdash: --udp needs a value: --udp 9000 or --udp host:port'],
			[['-u'], 'netdash: -u makes a dial or a listener UDP: netdash -u HOST PORT, or netdash -u -l PORT'],
			[['example.test'], "netdash: expected HOST PORT, not 'example.test' (netdash HOST PORT dials, netdash -l PORT listens; see netdash --help)"],
		] as const) {
			const {code, stdout, stderr} = await runCli([...args]);
			expect(stderr, args.join(' ')).toBe(`${line}\n`);
			expect(code).toBe(2);
			expect(stdout).toBe('');
		}
	});
});
