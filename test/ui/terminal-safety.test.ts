import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
	for (const socket of sockets.splice(0)) {
		socket.destroy();
	}

	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

/** Clear screen, then set the terminal title: what a hostile peer would send. */
const payload = '\u001B[2J\u001B]0;pwned\u0007';

/** Every ESC (0x1B) and C1 CSI (0x9B) Ink wrote, in any frame. FORCE_COLOR=0 in tests, so Ink writes none of its own. */
function escapesIn(dashboard: Dashboard): number {
	return [...dashboard.frames.join('')].filter((char) => char === '\u001B' || char === '\u009B').length;
}

/** A listener on loopback, as the test's raw peer will dial it: its port from the frame. */
async function listenerPort(dashboard: Dashboard): Promise<number> {
	dashboard.core.listen('127.0.0.1', 0);
	const frame = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
	return Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(frame)![1]);
}

async function rawPeer(port: number): Promise<net.Socket> {
	const socket = net.connect(port, '127.0.0.1');
	socket.on('error', () => {});
	sockets.push(socket);
	await new Promise<void>((resolve) => socket.once('connect', resolve));
	return socket;
}

describe('terminal safety: bytes from a peer never reach the terminal as controls', () => {
	it('a peer\'s clear-screen and set-title sequences appear escaped in the log, and no raw ESC is written', async () => {
		// Given a dashboard with a listener and a plain Node client connected to it
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		const peer = await rawPeer(await listenerPort(dashboard));
		await dashboard.see((frame) => /C1 .*● open/.test(frame));

		// When the peer sends the payload and the person selects its connection
		peer.write(payload);
		await dashboard.see(`${Buffer.byteLength(payload)} B`);
		const frame = await dashboard.type(keys.enter, '^[[2J^[]0;pwned^G');

		// Then it reads as caret notation, and no frame ever carried an ESC
		expect(frame).toContain(`← in        ${Buffer.byteLength(payload)} B  ^[[2J^[]0;pwned^G`);
		expect(frame).not.toContain('\u001B');
		expect(frame).not.toContain('\u0007');
		expect(escapesIn(dashboard)).toBe(0);
	});

	it('the hex view of the same bytes shows dots for controls and writes no ESC either', async () => {
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		const peer = await rawPeer(await listenerPort(dashboard));
		await dashboard.see((frame) => /C1 .*● open/.test(frame));
		peer.write(payload);
		await dashboard.type(keys.enter, '^[[2J');

		const frame = await dashboard.type('x', '1b 5b 32 4a 1b 5d 30 3b');
		expect(frame).toContain('|.[2J.]0;pwned.|');
		expect(escapesIn(dashboard)).toBe(0);
	});

	it('a peer\'s bidi override, C1 control and invalid UTF-8 are shown as code points and hex', async () => {
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		const peer = await rawPeer(await listenerPort(dashboard));
		await dashboard.see((frame) => /C1 .*● open/.test(frame));
		peer.write(Buffer.concat([Buffer.from('evil\u202Etxt \u009B31m '), Buffer.from([0xFF, 0x9B])]));

		const frame = await dashboard.type(keys.enter, 'evil<U+202E>txt');
		expect(frame).toContain('evil<U+202E>txt <U+009B>31m \\xFF\\x9B');
		expect(frame).not.toMatch(/[\u202E\u009B]/);
		expect(escapesIn(dashboard)).toBe(0);
	});
});
