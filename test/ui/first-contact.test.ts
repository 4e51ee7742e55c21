import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';
import {peersForEachTest, whyNoPython} from '../helpers/sock-peer.js';

const {open, cleanups} = dashboardsForEachTest();
const {startPeer} = peersForEachTest();

/** A client from outside netdash, as `nc` would be; its local port is what the listener's log should name. */
async function dial(port: number): Promise<net.Socket> {
	const socket = net.connect(port, '127.0.0.1');
	socket.on('error', () => {});
	cleanups.push(() => {
		socket.destroy();
	});
	await new Promise<void>((resolve) => socket.once('connect', resolve));
	return socket;
}

async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

const bottom = (frame: string) => frame.split('\n').at(-1) ?? '';
const logOf = (frame: string) => /3 Log (\w+)/.exec(frame)?.[1] ?? '';

describe('first contact', () => {
	it('the empty Connections pane says how to connect; the first client accepted is shown in the Log; the listener\'s log notes each accept', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		const frame = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(frame)![1]);
		await dashboard.see(`from another terminal: nc 127.0.0.1 ${port}`);
		expect(logOf(frame)).toBe('L1');

		// A client connects: its connection takes the Log from the listener, and the cursor.
		const first = await dial(port);
		let shown = await dashboard.see((current) => logOf(current) === 'C1');
		expect(shown).toMatch(/┃›. C1 /);

		// Enter on the listener shows its log: one line per accept, with the client's address.
		await dashboard.type('1', '┏━ 1 Listeners');
		shown = await dashboard.type(keys.enter, (current) => logOf(current) === 'L1');
		expect(shown).toContain(`accepted C1 from 127.0.0.1:${first.localPort}`);

		// The person chose the listener: a second client is noted but does not take the Log.
		const second = await dial(port);
		shown = await dashboard.see(`accepted C2 from 127.0.0.1:${second.localPort}`);
		expect(logOf(shown)).toBe('L1');
	});

	it('a dial is shown in the Log as soon as it starts when nothing else is', async () => {
		const dashboard = await open();
		const accepted: net.Socket[] = [];
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			accepted.push(socket);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		cleanups.push(async () => {
			for (const socket of accepted) {
				socket.destroy();
			}

			await new Promise((resolve) => server.close(resolve));
		});
		// As --connect does it: the core dials, not the command line (which selects what it opened itself).
		dashboard.core.connect('127.0.0.1', (server.address() as net.AddressInfo).port);
		await dashboard.see((frame) => logOf(frame) === 'C1' && frame.includes('connected: 127.0.0.1:'));
	});

	it('a UDP dial (-u HOST PORT) is shown in the Log when nothing else is, so s sends to its peer; a UDP socket bound at start is shown once it hears a datagram', async ({skip}) => {
		if (whyNoPython) {
			skip(whyNoPython);
		}
		// Given a python UDP peer that prints each datagram it gets and answers it
		const peer = startPeer(['udp-echo', '127.0.0.1']);
		const peerPort = Number((await peer.waitLine(/^port (\d+)$/, 'its port'))[1]);

		// When netdash dials it as `-u 127.0.0.1 PORT` does (a socket connected to the peer, made by the core)
		const dashboard = await open();
		dashboard.core.udpBind('0.0.0.0', 0, {connectTo: {host: '127.0.0.1', port: peerPort}});
		// Then that socket has the Log, and s sends a line to the peer
		await dashboard.see((frame) => logOf(frame) === 'U1' && frame.includes(`connected to 127.0.0.1:${peerPort}`));
		await dashboard.type('s', 'sendto from U1 +LF ›');
		await dashboard.type('hi', '3 B');
		await dashboard.type(keys.enter, (frame) => !frame.includes('sendto from U1'));
		await peer.waitLine(/^got b'hi\\n'$/, 'the line');
		await dashboard.see(/← in +3 B +from 127\.0\.0\.1:\d+ +ack/);

		// And in a dashboard with a UDP socket bound at start (-u -l PORT), nothing is shown until a datagram comes
		const listening = await open();
		listening.core.udpBind('127.0.0.1', 0);
		const bound = await listening.see(/U1\s+127\.0\.0\.1:\d+\/udp/);
		expect(logOf(bound)).toBe('');
		const port = Number(/U1\s+127\.0\.0\.1:(\d+)\/udp/.exec(bound)![1]);
		startPeer(['udp-send', '127.0.0.1', String(port), 'hello']);
		await listening.see((frame) => logOf(frame) === 'U1' && /← in +5 B +from 127\.0\.0\.1:\d+ +hello/.test(frame));
	});

	it('a command that worked says so on the bottom line, and a notice leaves it after 5 s with no key pressed', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		const frame = await dashboard.see((current) => bottom(current).includes('✓ :listen 0 → L1'));
		expect(bottom(frame)).not.toContain('? help');

		const shownAt = Date.now();
		await dashboard.see((current) => bottom(current).includes('? help'), 9000);
		const shownFor = Date.now() - shownAt;
		expect(shownFor).toBeGreaterThan(4000);

		// A failure too: on the bottom line, then (after 5 s) only in the status bar.
		await command(dashboard, 'close C9');
		await dashboard.see((current) => bottom(current).startsWith('✗'));
		const failedAt = Date.now();
		const faded = await dashboard.see((current) => bottom(current).includes('? help'), 9000);
		expect(Date.now() - failedAt).toBeGreaterThan(4000);
		expect(faded.split('\n').at(-2)).toContain('✗');
	}, 30_000);

	it('a key typed as soon as the first connections are drawn is not undone by the cursor\'s move to the first of them', async () => {
		const dashboard = await open();
		for (let index = 1; index <= 3; index++) {
			dashboard.core.bus.emit({type: 'connection-opened', connection: `C${index}`, listener: null, origin: 'dialed', local: {address: '127.0.0.1', port: 20_000 + index}, remote: {address: '127.0.0.1', port: 80}, framing: 'raw', isHalfOpen: false});
		}

		await dashboard.see('(3 open · 3 total');
		// In the same turn as the frame: the first-contact move (a passive effect before) came after j and undid it.
		dashboard.stdin.write('j');
		const frame = await dashboard.see(/┃›  C2 /);
		expect(frame).toMatch(/┃ • C1 /);
	});
});
