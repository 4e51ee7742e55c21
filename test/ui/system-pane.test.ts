import {spawn} from 'node:child_process';
import stringWidth from 'string-width';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';
import {closedTcpPort} from '../helpers/ports.js';
import {record} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {peersForEachTest, pythonName, whyNoPython} from '../helpers/sock-peer.js';

/*
 * The System pane (5) through the real app, over a real core, with
 * programs the test starts: a python listener and its client, socat, a UDP
 * socket.
 */

const {open} = dashboardsForEachTest();
const {startPeer, children} = peersForEachTest();

function resize(dashboard: Dashboard, columns: number, rows: number): void {
	Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => columns});
	Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => rows});
	dashboard.stdout.emit('resize');
}

/** Generous: the machine these tests share may be loaded, and a refresh reads every socket on it. */
const patienceMs = 20_000;

/** Type `text` and wait (patiently) for a frame showing `expected`. */
async function typeAndSee(dashboard: Dashboard, text: string, expected: string | RegExp | ((frame: string) => boolean)): Promise<string> {
	dashboard.stdin.write(text);
	return dashboard.see(expected, patienceMs);
}

/** Filter the System pane as a person does: `/`, the words, enter. */
async function filter(dashboard: Dashboard, words: string): Promise<void> {
	await typeAndSee(dashboard, '/', '/system filter');
	// Clear what a previous filter left in the line.
	await typeAndSee(dashboard, '\u0015', '/system filter: █');
	await typeAndSee(dashboard, words, `/system filter: ${words}`);
	await typeAndSee(dashboard, keys.enter, `/${words} `);
}

/** The frame's line that matches `pattern` (the test fails with the frame when none does). */
async function lineOf(dashboard: Dashboard, pattern: RegExp): Promise<string> {
	const frame = await dashboard.see(pattern, patienceMs);
	return frame.split('\n').find((line) => pattern.test(line))!;
}

/** A python listener, a client that sent `bytes`, and their ports. */
async function pythonPair(bytes: number) {
	const server = startPeer(['serve', '127.0.0.1']);
	const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
	const client = startPeer(['dial', '127.0.0.1', String(port), String(bytes)]);
	const clientPort = Number((await client.waitLine(/^connected (\d+)/, 'connected'))[1]);
	await client.waitLine(/^sent/, 'sent');
	return {server, client, port, clientPort};
}

describe('the System pane', () => {
	skipEachIf(whyNoPython ?? missingTool('socat') ?? missingTool('ss', 'iproute2'));

	it('5 shows the machine\'s sockets with their processes: a python listener and its client, socat, a UDP socket, and netdash\'s own listener marked *', async () => {
		const {server, client, port, clientPort} = await pythonPair(100_000);
		const socatPort = await closedTcpPort();
		const socat = spawn('socat', ['-u', `TCP-LISTEN:${socatPort},bind=127.0.0.1,reuseaddr`, 'STDOUT'], {stdio: 'pipe'});
		children.push(socat);
		const udp = startPeer(['udp', '127.0.0.1']);
		const udpPort = Number((await udp.waitLine(/^port (\d+)/, 'port'))[1]);
		const dashboard = await open();
		const events = record(dashboard.core.bus);
		dashboard.core.listen('127.0.0.1', 0);
		const ownPort = (await events.waitFor('listener-opened')).port;
		// Nothing reads the machine's sockets while the pane is not shown.
		expect(dashboard.core.isWatchingSystemSockets).toBe(false);

		await typeAndSee(dashboard, '5', '5 System');
		expect(dashboard.core.isWatchingSystemSockets).toBe(true);
		await filter(dashboard, String(port));
		const listener = await lineOf(dashboard, new RegExp(`tcp\\s+127\\.0\\.0\\.1:${port} → \\*\\s+LISTEN`));
		expect(listener).toMatch(new RegExp(`LISTEN\\s+0/0\\s+${server.child.pid} ${pythonName}`));
		const accepted = await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${clientPort}`));
		expect(accepted).toMatch(new RegExp(`ESTAB\\s+0/0\\s+${server.child.pid} ${pythonName}`));
		const dialed = await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:${port}`));
		expect(dialed).toContain(`${client.child.pid} ${pythonName}`);

		// Wider, the TCP counters join: 100,000 bytes received (98K) and none sent by the accepted side, and an rtt.
		resize(dashboard, 140, 30);
		const wide = await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${clientPort}.* 98K/0 `));
		expect(wide).toMatch(/98K\/0\s+\d+\.\d+ms/);
		expect(await lineOf(dashboard, /proto\s+local → remote/)).toMatch(/Recv\/Send\s+pid process\s+rate\/s\s+in\/acked\s+rtt/);

		await filter(dashboard, 'socat');
		expect(await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${socatPort} → \\*`))).toMatch(new RegExp(`LISTEN\\s+0/0\\s+${socat.pid} socat`));
		await filter(dashboard, `udp ${udpPort}`);
		expect(await lineOf(dashboard, new RegExp(`udp\\s+127\\.0\\.0\\.1:${udpPort} → \\*`))).toMatch(new RegExp(`UNCONN\\s+0/0\\s+${udp.child.pid} ${pythonName}`));
		await filter(dashboard, `:${ownPort}`);
		expect(await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${ownPort} → \\*`))).toMatch(new RegExp(`^\\W*\\*\\s+tcp .*LISTEN\\s+0/0\\s+${process.pid} `));

		// Leaving the pane stops the reading.
		await dashboard.type('1', '1 Listeners');
		expect(dashboard.core.isWatchingSystemSockets).toBe(false);
	});

	it('a client sending shows a rate and a sparkline, t totals the sockets per process, and o sorts by queue then age', async () => {
		const {server, client, port, clientPort} = await pythonPair(1000);
		const dashboard = await open();
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, String(port));
		const connection = new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${clientPort}`);
		await lineOf(dashboard, connection);

		// While the client sends 100,000 bytes every 100 ms, its rate in is counted in K/s and the sparkline draws bars.
		const busy = (line: string) => /\s\d+(\.\d)?[KM]\/0\s+\S*[▁▂▃▄▅▆▇█]/.test(line);
		const sender = setInterval(() => {
			client.send('send 100000');
		}, 100);
		let line = '';
		try {
			line = await lineOf(dashboard, new RegExp(`${connection.source}.*\\s\\d+(\\.\\d)?[KM]/0\\s+\\S*[▁▂▃▄▅▆▇█]`));
		} finally {
			clearInterval(sender);
		}

		expect(line, 'a rate in K/s and bars in the sparkline').toSatisfy(busy);

		// Per process: the python server's listener and accepted socket as one row.
		await dashboard.type('t', 'per process');
		expect(await lineOf(dashboard, new RegExp(`${server.child.pid} ${pythonName}`))).toMatch(/2 sockets\s+0\/0\s+1 listening/);
		expect(await lineOf(dashboard, new RegExp(`${client.child.pid} ${pythonName}`))).toMatch(/1 socket\s+0\/0\s{3}/);
		await dashboard.type('t', 'per socket');
		await dashboard.type('o', 'by queue');
		await dashboard.type('o', 'by age');
		await dashboard.type('o', 'by rate');
	});

	it('a connection its client closed first shows ? closing for the TIME-WAIT the kernel keeps alone', async () => {
		const {server, client, port, clientPort} = await pythonPair(1000);
		const dashboard = await open();
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, String(clientPort));
		await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:${port}.*ESTAB.*${client.child.pid}`));

		// When the client closes, then the server: the client's side waits in TIME-WAIT, held by no process.
		client.send('close');
		await client.waitLine(/^closed/, 'closed');
		server.send('close');
		await server.waitLine(/^closed/, 'closed');
		expect(await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:${port}.*TIME-WAIT`))).toMatch(/TIME-WAIT\s+0\/0\s+\? closing/);
	});

	it('enter shows a socket in full, and p lists every socket of its process', async () => {
		const {server, client, port, clientPort} = await pythonPair(5000);
		const dashboard = await open();
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, `pid:${client.child.pid}`);
		await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:${port}`));

		// enter: the client's socket in full, its counters included at any width.
		const details = await dashboard.type(keys.enter, 'System · socket');
		expect(details).toContain(`socket   tcp 127.0.0.1:${clientPort} → 127.0.0.1:${port}`);
		expect(details).toContain(`process  pid ${client.child.pid} ${pythonName}`);
		// (the kernel's bytes_acked counts the dialer's SYN as one byte)
		expect(details).toMatch(/bytes {4}received 0 B \(0 B\) · acked 4\.88 KiB \(500[01] B\)/);
		expect(details).toMatch(/rtt {6}\d+\.\d+ms/);
		expect(details).toMatch(/state {4}ESTAB/);
		await dashboard.type(keys.escape, `/pid:${client.child.pid} 1 match`);

		// p on the server's listener: the listener and the connection it accepted, not the client.
		await filter(dashboard, `listen ${port}`);
		await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${port} → \\*`));
		const process = await dashboard.type('p', `/pid:${server.child.pid} 2 match`);
		expect(process).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:${clientPort}`));
		expect(process).not.toMatch(new RegExp(`127\\.0\\.0\\.1:${clientPort} → `));
	});

	it('K on a UDP socket is refused in one line, and nothing is asked', async () => {
		const udp = startPeer(['udp', '127.0.0.1']);
		const udpPort = Number((await udp.waitLine(/^port (\d+)/, 'port'))[1]);
		const dashboard = await open();
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, `udp :${udpPort}`);
		await lineOf(dashboard, new RegExp(`udp\\s+127\\.0\\.0\\.1:${udpPort}`));
		const refused = await dashboard.type('K', 'K destroys TCP sockets only: this is a UDP socket');
		expect(refused).not.toContain('destroy udp');
		expect(udp.child.exitCode).toBeNull();
	});

	it('f on a python listener starts a relay to it on a free port: a client of the relay reaches python; f on a connection is refused', async () => {
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		const dashboard = await open();
		const events = record(dashboard.core.bus);
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, `listen :${port}`);
		await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${port} → \\*\\s+LISTEN.*${server.child.pid} ${pythonName}`));

		// f: a relay listener of netdash's on 127.0.0.1, a free port, towards python's listener; Listeners shows it.
		const shown = await typeAndSee(dashboard, 'f', /✓ relay L\d+ on 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+/);
		const opened = await events.waitFor('listener-opened', (event) => event.target?.port === port);
		expect(opened.target).toEqual({address: '127.0.0.1', port});
		expect(shown).toContain(`✓ relay ${opened.listener} on 127.0.0.1:${opened.port} → 127.0.0.1:${port}`);
		expect(shown).toMatch(/┏━ 1 Listeners/);

		// A client of the relay's port reaches python, bytes and all.
		const client = startPeer(['dial', '127.0.0.1', String(opened.port), '3000']);
		await client.waitLine(/^sent/, 'sent');
		await server.waitLine(/^accepted/, 'python accepting the relayed connection');

		// f on a row that is not a listener (python's side of the relayed connection) says why in one line.
		await typeAndSee(dashboard, '5', '5 System');
		await filter(dashboard, `estab ${server.child.pid}`);
		await lineOf(dashboard, new RegExp(`127\\.0\\.0\\.1:${port} → .*ESTAB`));
		await typeAndSee(dashboard, 'f', 'f relays to a listener: this socket is ESTAB — pick a LISTEN row');

		client.send('close');
		expect((await server.waitLine(/^eof (\d+)/, 'the end of the relayed bytes'))[1]).toBe('3000');
	});

	it('+ and - make the pane refresh less or more often, and its title says how often', async () => {
		const dashboard = await open();
		await typeAndSee(dashboard, '5', '5 System (');
		await dashboard.see('every 1 s', patienceMs);
		await dashboard.see(() => dashboard.core.systemSocketsIntervalMs === 1000, patienceMs);
		await typeAndSee(dashboard, '+', 'every 2 s');
		await dashboard.see(() => dashboard.core.systemSocketsIntervalMs === 2000, patienceMs);
		await typeAndSee(dashboard, '-', 'every 1 s');
		await typeAndSee(dashboard, '-', 'every 0.5 s');
		await typeAndSee(dashboard, '-', 'every 0.5 s');
		await dashboard.see(() => dashboard.core.systemSocketsIntervalMs === 500, patienceMs);
		expect(dashboard.core.isWatchingSystemSockets).toBe(true);
	});

	it('fits 80×24 and the help lists its keys', async () => {
		await pythonPair(1000);
		const dashboard = await open();
		resize(dashboard, 80, 24);
		await typeAndSee(dashboard, '5', '5 System');
		const frame = await dashboard.see(/tcp\s+\S+ → /);
		const lines = frame.split('\n');
		expect(lines.length).toBeLessThanOrEqual(24);
		for (const line of lines) {
			expect(stringWidth(line), line).toBeLessThanOrEqual(80);
		}

		expect(frame).toMatch(/Recv\/Send\s+pid process\s+rate\/s/);
		await dashboard.type('?', 'Keys — esc or ? closes');
		let help = dashboard.lastFrame() ?? '';
		for (let page = 0; page < 6 && !help.includes('System pane (5)'); page++) {
			// eslint-disable-next-line no-await-in-loop
			help = await dashboard.type('\u0004', (frame) => frame !== help);
		}

		expect(help).toContain('System pane (5)');
		expect(help).toMatch(/t\s+per socket \/ totals per process/);
		expect(help).toMatch(/o\s+sort by rate, queue or age/);
	});
});
