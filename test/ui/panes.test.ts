import net from 'node:net';
import {render} from 'ink-testing-library';
import {createElement} from 'react';
import {Text} from 'ink';
import {afterEach, describe, expect, it} from 'vitest';
import {ErrorBoundary} from '../../source/ui/components/error-boundary.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

async function open(options?: Parameters<typeof renderDashboard>[0]): Promise<Dashboard> {
	const dashboard = await renderDashboard(options);
	dashboards.push(dashboard);
	return dashboard;
}

/** The pane whose top border is heavy: the focused one. */
function focusedPane(frame: string): string {
	return /┏━ (\d \w+)/.exec(frame)?.[1] ?? '';
}

/** A Node server that accepts and never reads, so what we send piles up. */
async function silentServer(): Promise<number> {
	const sockets: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.pause();
		sockets.push(socket);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	return (server.address() as net.AddressInfo).port;
}

describe('panes', () => {
	it('tab and shift-tab move the focus around the four panes, and 1–4 jump to one', async () => {
		const dashboard = await open();
		expect(focusedPane(dashboard.lastFrame()!)).toBe('2 Connections');
		await dashboard.type(keys.tab, (frame) => focusedPane(frame) === '3 Log');
		await dashboard.type(keys.tab, (frame) => focusedPane(frame) === '4 Discovery');
		await dashboard.type(keys.tab, (frame) => focusedPane(frame) === '1 Listeners');
		await dashboard.type(keys.shiftTab, (frame) => focusedPane(frame) === '4 Discovery');
		await dashboard.type('2', (frame) => focusedPane(frame) === '2 Connections');
	});

	it('space pauses the log where it is while entries keep coming, and space again follows the newest', async () => {
		const dashboard = await open();
		const port = await silentServer();
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type(keys.enter, '3 Log C1 · following');
		for (let index = 1; index <= 20; index++) {
			dashboard.core.send('C1', Buffer.from(`line ${index}`));
		}

		await dashboard.see('line 20');
		const paused = await dashboard.type(' ', '· paused');
		expect(paused).toMatch(/paused \d+\/\d+/);

		// While paused, new entries do not move the view
		dashboard.core.send('C1', Buffer.from('line 21'));
		// (line 1 … line 20 are 131 bytes; line 21 makes 138)
		await dashboard.see(/C1 .* 138 B/);
		expect(dashboard.lastFrame()).not.toContain('line 21');

		const following = await dashboard.type(' ', 'line 21');
		expect(following).toContain('· following');
	});

	it('a connection whose queue keeps growing (the peer is not reading) is marked ⚠ in Connections', async () => {
		// Rate samples every 50 ms instead of every second, so "keeps growing" takes a moment
		const dashboard = await open({store: {sampleIntervalMs: 50}});
		const port = await silentServer();
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.see(/C1 .*● open/);
		const timer = setInterval(() => {
			dashboard.core.send('C1', Buffer.alloc(256 * 1024, 0x61));
		}, 20);
		cleanups.push(() => {
			clearInterval(timer);
		});
		const frame = await dashboard.see(/C1 .*⚠ \d/, 15_000);
		clearInterval(timer);
		expect(frame).toMatch(/C1 .*● open .*⚠ [\d.]+ [KM]iB/);
	});

	it('a connection whose queue stops draining is marked ⚠ stalled with the bytes it holds beside it, and its log says R resets it', async () => {
		const dashboard = await open({core: {stallTimeoutMs: 300, watchIntervalMs: 50}});
		const port = await silentServer();
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.see(/C1 .*● open/);
		// Fill the kernel's buffers (loopback takes megabytes), then queue more: it stays put
		dashboard.core.send('C1', Buffer.alloc(3 * 1024 * 1024, 0x61));
		await dashboard.see(/C1 .* 3 MiB /);
		dashboard.core.send('C1', Buffer.alloc(3 * 1024 * 1024, 0x62));
		const frame = await dashboard.see(/C1 .*⚠ stalled/, 15_000);
		expect(frame).toMatch(/C1 .*⚠ stalled\s+[\d.]+ MiB\s/);
		expect(frame.split('\n').at(-1)).toMatch(/^✗ \d\d:\d\d:\d\d C1 stalled: \d+ B queued have not drained/);
		// The log says it whole, with the way out
		const log = await dashboard.type(keys.enter, /✗ error\s+stalled: [^\n]*\n[^\n]*reset with R\)/);
		expect(log).toContain('3 Log C1');
	});

	it('the Discovery pane lists peers with their names escaped, and says how to start discovery when there are none', async () => {
		const dashboard = await open();
		// Folded to one line while discovery is off
		expect(dashboard.lastFrame()).toMatch(/╶─ 4 Discovery off · :discover or --discover finds netdash peers ─+\n/);
		Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => 160});
		dashboard.stdout.emit('resize');
		// The store is told what the discovery core says when a peer announces itself
		const now = Date.now();
		dashboard.core.bus.emit({
			type: 'peer-discovered',
			via: 'announce',
			instanceId: '0123456789abcdef',
			name: 'evil\u001B]0;pwned\u0007',
			address: '10.9.0.2',
			port: 47_474,
			ports: [8080],
			state: 'fresh',
			rttMs: 1.25,
			firstSeen: now,
			lastSeen: now,
		});
		let frame = await dashboard.see('(1 peer)');
		expect(frame).toMatch(/● evil\^\[\]0;pwned\^G\s+10\.9\.0\.2 8080\s+1\.3ms\s+\d+s\s+fresh/);
		expect(dashboard.frames.join('')).not.toContain('\u001B');

		// / filters peers too
		await dashboard.type('4', '┏━ 4 Discovery');
		await dashboard.type('/', 'discovery filter:');
		frame = await dashboard.type('10.9.9', '/10.9.9 0 match');
		expect(frame).toContain('no peer matches the filter');
		await dashboard.type('\u0015');
		frame = await dashboard.type('pwned', '/pwned 1 match');
		expect(frame).toMatch(/10\.9\.0\.2 8080 /);
	});

	it('a listener on a well-known port shows its port class and its /etc/services name when the pane is wide', async () => {
		const dashboard = await open();
		Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => 200});
		Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => 40});
		dashboard.stdout.emit('resize');
		// The store is told what the core would say about a listener on :22 (binding it needs root and a free port)
		dashboard.core.bus.emit({type: 'listener-opened', listener: 'L1', address: '127.0.0.1', port: 22, framing: 'line'});
		const frame = await dashboard.see(/L1\s+127\.0\.0\.1:22\s/);
		expect(frame).toMatch(/● L1\s+127\.0\.0\.1:22\s+0 acc 0 open\s+well-known\s+ssh\s+listening\s+line/);
	});

	it('a rendering bug shows one line instead of a stack trace, and the owner is told', () => {
		const errors: unknown[] = [];
		function Broken(): never {
			throw new Error('boom\n    at Broken (app.tsx:1:1)');
		}

		const {lastFrame, unmount} = render(
			createElement(ErrorBoundary, {
				onError(error: unknown) {
					errors.push(error);
				},
			}, createElement(Broken), createElement(Text, null, 'never shown')),
		);
		expect(lastFrame()).toBe('netdash: the display failed: boom');
		expect(errors).toHaveLength(1);
		unmount();
	});
});
