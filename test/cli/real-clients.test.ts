import {execFileSync, spawn} from 'node:child_process';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {cliPath, spawnJson, type JsonChild} from '../helpers/cli.js';

/**
 * netdash against real client programs and real scripts: a peer's FIN
 * releases the connection, and every run ends with a documented exit code,
 * the last connection-closed written and no Node warning on stderr.
 */

const children: JsonChild[] = [];
const servers: net.Server[] = [];

afterEach(async () => {
	for (const netdash of children.splice(0)) {
		if (netdash.child.exitCode === null) {
			netdash.child.kill('SIGKILL');
		}
	}

	await Promise.all(servers.splice(0).map(async (server) => new Promise((resolve) => server.close(resolve))));
});

function start(args: string[]): JsonChild {
	const netdash = spawnJson(args);
	children.push(netdash);
	return netdash;
}

function hasTool(name: string): boolean {
	try {
		execFileSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'});
		return true;
	} catch {
		return false;
	}
}

const hasPython = hasTool('python3');
const hasSs = hasTool('ss');
if (!hasPython || !hasSs) {
	console.warn(`skipping the 1,000-clients test: ${hasPython ? '' : 'python3 '}${hasSs ? '' : 'ss (iproute2) '}not installed`);
}

/** A port where nothing listens (bound, then closed). */
async function closedPort(): Promise<number> {
	const probe = net.createServer();
	await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
	const {port} = probe.address() as net.AddressInfo;
	await new Promise((resolve) => probe.close(resolve));
	return port;
}

/** A loopback server the test runs as the other side. */
async function server(onSocket: (socket: net.Socket) => void): Promise<number> {
	const listening = net.createServer({allowHalfOpen: true}, (socket) => {
		socket.on('error', () => {});
		onSocket(socket);
	});
	servers.push(listening);
	await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
	return (listening.address() as net.AddressInfo).port;
}

/** Sockets in CLOSE-WAIT whose local port is `port`, as `ss -tan` lists them. */
function closeWaitOn(port: number): string[] {
	const text = execFileSync('ss', ['-tanH', 'state', 'close-wait', `( sport = :${port} )`], {encoding: 'utf8'});
	return text.split('\n').filter((line) => line.trim() !== '');
}

async function until(condition: () => boolean, describe: () => string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!condition()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out: ${describe()}`);
		}

		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

describe('real clients', () => {
	/** A Python client that connects 1,000 times in a row, sends a line and closes; `lines` end each connection after the send. */
	const clients = {
		// As `echo line | ncat host port` does: send, shut down its side, read until the server closes (5 s at most),
		// close. Before the fix the server never closed: the first client waited in vain.
		'as ncat does (send, FIN, read until netdash closes)': ['    s.shutdown(socket.SHUT_WR)', '    while s.recv(4096):', '        pass', '    s.close()'],
		// Fire and forget: close at once. The next client connects before netdash has even read the FIN, so
		// a burst of them is over the limit for a moment (they wait for a slot, see LIMIT_WAIT_MS).
		'fire and forget (send, close at once)': ['    s.close()'],
	};

	for (const [style, lines] of Object.entries(clients)) {
		it.skipIf(!hasPython || !hasSs)(
			`1,000 clients in a row, ${style}, are all accepted under the default --max-conns, and no CLOSE-WAIT socket is left`,
			async () => {
				// Given netdash listening with the default limit of 100 connections
				const netdash = start(['--json', '--listen', '127.0.0.1:0']);
				const {port} = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');

				// When a client connects, sends a line and closes, 1,000 times in a row
				const script = [
					'import socket, sys',
					'port = int(sys.argv[1])',
					'for i in range(1000):',
					"    s = socket.create_connection(('127.0.0.1', port), timeout=5)",
					"    s.sendall(b'hello %d\\n' % i)",
					...lines,
				].join('\n');
				const client = spawn('python3', ['-c', script, String(port)], {stdio: ['ignore', 'ignore', 'pipe']});
				let clientErrors = '';
				client.stderr.on('data', (chunk: Buffer) => {
					clientErrors += chunk.toString();
				});
				const clientCode = await new Promise<number | null>((resolve) => client.on('exit', resolve));
				expect(clientErrors).toBe('');
				expect(clientCode).toBe(0);

				// Then all 1,000 were accepted and closed, none refused, every line received
				const count = (type: string) => netdash.events.filter((event) => event.type === type).length;
				await until(() => count('connection-closed') + count('connection-refused') === 1000, () => `${count('connection-opened')} opened, ${count('connection-closed')} closed, ${count('connection-refused')} refused`, 30_000);
				expect(count('connection-refused')).toBe(0);
				expect(count('connection-opened')).toBe(1000);
				expect(netdash.events.filter((event) => event.type === 'connection-closed' && event.reason !== 'closed')).toEqual([]);
				const received = netdash.events.filter((event) => event.type === 'data-received').reduce((sum, event) => sum + (event['bytes'] as number), 0);
				expect(received).toBe(Array.from({length: 1000}, (_, index) => `hello ${index}\n`.length).reduce((sum, length) => sum + length, 0));

				// And within 3 s no socket of netdash's port is left in CLOSE-WAIT
				await until(() => closeWaitOn(port).length === 0, () => `CLOSE-WAIT on :${port}:\n${closeWaitOn(port).slice(0, 5).join('\n')}`, 3000);
				netdash.send({cmd: 'quit'});
				expect(await netdash.exited).toBe(0);
				expect(netdash.stderr()).toBe('');
			},
			90_000,
		);
	}

	it('with --half-open a peer\'s FIN leaves the connection open and netdash can still answer; it counts toward --max-conns until closed', async () => {
		// Given netdash listening with --half-open and a limit of one connection
		const netdash = start(['--json', '--half-open', '--max-conns', '1', '--listen', '127.0.0.1:0']);
		const {port} = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');

		// When a client sends a question and half-closes
		const client = net.connect(port, '127.0.0.1');
		client.on('error', () => {});
		let answer = '';
		client.on('data', (chunk: Buffer) => {
			answer += chunk.toString();
		});
		const clientClosed = new Promise((resolve) => client.on('close', resolve));
		client.end('question\n');
		const opened = await netdash.waitFor((event) => event.type === 'connection-opened', 'connection-opened');
		expect(opened['isHalfOpen']).toBe(true);
		await netdash.waitFor((event) => event.type === 'connection-half-closed' && event['by'] === 'remote', 'the peer FIN');

		// Then a second client is refused: the half-closed one still counts
		const second = net.connect(port, '127.0.0.1');
		second.on('error', () => {});
		const refused = await netdash.waitFor((event) => event.type === 'connection-refused', 'connection-refused');
		expect(refused['reason']).toBe('limit');
		second.destroy();

		// And netdash can still answer, then close; the client reads the answer
		netdash.send({cmd: 'send', connection: opened['connection'], text: 'answer\n'});
		netdash.send({cmd: 'close', id: opened['connection'], ref: 'done'});
		await clientClosed;
		expect(answer).toBe('answer\n');
		const closed = await netdash.waitFor((event) => event.type === 'connection-closed', 'connection-closed');
		expect(closed).toMatchObject({reason: 'closed', bytesOut: 7, ref: 'done'});
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
	});
});

describe('exit codes', () => {
	it('a refused --connect with stdin at EOF writes connection-closed, exits 1 and Node prints nothing', async () => {
		const port = await closedPort();
		const netdash = start(['--json', '--connect', `127.0.0.1:${port}`]);
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(1);
		expect(netdash.events.at(-1)).toMatchObject({type: 'connection-closed', reason: 'failed', code: 'ECONNREFUSED'});
		expect(netdash.stderr()).toBe('');
	});

	it('a --connect reset by the peer with stdin at EOF exits 1 after connection-closed', async () => {
		const port = await server((socket) => {
			socket.resetAndDestroy();
		});
		const netdash = start(['--json', '--connect', `127.0.0.1:${port}`]);
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(1);
		expect(netdash.events.at(-1)).toMatchObject({type: 'connection-closed', reason: 'reset'});
		expect(netdash.stderr()).toBe('');
	});

	it('a peer that sends and half-closes while stdin is at EOF: netdash closes too, writes connection-closed and exits 0', async () => {
		const port = await server((socket) => {
			socket.resume();
			socket.end('bye\n');
		});
		const netdash = start(['--json', '--connect', `127.0.0.1:${port}`]);
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(0);
		const types = netdash.events.map((event) => event.type);
		expect(types).toContain('data-received');
		expect(netdash.events.at(-1)).toMatchObject({type: 'connection-closed', reason: 'closed', bytesIn: 4});
		expect(netdash.stderr()).toBe('');
	});

	it('quit exits 0 even after a failed socket', async () => {
		const port = await closedPort();
		const netdash = start(['--json', '--connect', `127.0.0.1:${port}`]);
		await netdash.waitFor((event) => event.type === 'connection-closed', 'connection-closed');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		expect(netdash.stderr()).toBe('');
	});

	it('a --log file that cannot be opened is an error at start: one line, exit 2, no events', async () => {
		const netdash = start(['--json', '--log', '/nonexistent-netdash-folder/session.log', '--listen', '127.0.0.1:0']);
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(2);
		expect(netdash.events).toEqual([]);
		expect(netdash.stderr().trim()).toBe('netdash: cannot open the log file /nonexistent-netdash-folder/session.log: its folder does not exist (ENOENT)');
	});

	it('--help documents the exit codes', async () => {
		const help = execFileSync(process.execPath, [cliPath, '--help'], {encoding: 'utf8'});
		expect(help).toMatch(/Exit codes/);
		expect(help).toMatch(/0 {2}quit/);
		expect(help).toMatch(/1 {2}stdin ended and the socket that ended last failed/);
		expect(help).toMatch(/2 {2}bad usage/);
		expect(help).toMatch(/--half-open/);
	});
});
