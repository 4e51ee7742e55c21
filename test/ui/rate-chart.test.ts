import net from 'node:net';
import stringWidth from 'string-width';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore} from '../../source/core/index.js';
import {brailleBars} from '../../source/ui/components/rate-chart.js';
import {RateSampler} from '../../source/ui/rate-history.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

function resize(dashboard: Dashboard, columns: number, rows: number): void {
	Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => columns});
	Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => rows});
	dashboard.stdout.emit('resize');
}

/** A loopback TCP server that sends 4 KiB every 20 ms to whoever connects. */
async function chattyServer(): Promise<number> {
	const timers: NodeJS.Timeout[] = [];
	const sockets: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.resume();
		sockets.push(socket);
		timers.push(setInterval(() => socket.write(Buffer.alloc(4096, 0x61)), 20));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const timer of timers) {
			clearInterval(timer);
		}

		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	return (server.address() as net.AddressInfo).port;
}

const braille = /[\u2801-\u28FF]/;

/** The chart rows of a panel: the lines after its title line that carry an axis arrow. */
function panelRows(frame: string, title: RegExp): string[] {
	const lines = frame.split('\n');
	const start = lines.findIndex((line) => title.test(line));
	const rows: string[] = [];
	for (const line of lines.slice(start + 1)) {
		if (!/[▲▼]/.test(line)) {
			break;
		}

		rows.push(line);
	}

	return rows;
}

describe('the rate chart', () => {
	it('braille bars grow from the baseline: up for in, down for out, two samples per cell, scaled to the peak', () => {
		// One cell, one row: the left column empty, the right one full (4 of 4 dots)
		expect(brailleBars([0, 4], 4, 1, 1, 'up')).toEqual(['⢸']);
		// Half the peak fills the bottom two dots going up, the top two going down
		expect(brailleBars([2, 2], 4, 1, 1, 'up')).toEqual(['⣤']);
		expect(brailleBars([2, 2], 4, 1, 1, 'down')).toEqual(['⠛']);
		// Two rows: the peak fills both; anything above zero shows at least one dot; newest on the right
		expect(brailleBars([8, 0.1], 8, 1, 2, 'up')).toEqual(['⡇', '⣇']);
		expect(brailleBars([5], 5, 3, 1, 'up')).toEqual(['  ⢸']);
	});

	it('r shows in and out bytes/s of the selected connection and of all netdash in braille, with the axis in human units, in place of the Log; r again brings the Log back', async () => {
		const dashboard = await renderDashboard({store: {sampleIntervalMs: 50}});
		dashboards.push(dashboard);
		const port = await chattyServer();
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type('2', '┏━ 2 Connections');
		await dashboard.type(keys.enter, '3 Log C1');
		let frame = await dashboard.type('r', '3 Rates');
		expect(frame).not.toContain('3 Log');

		// What arrives shows above the axis, for C1 and for all, scaled in KiB/s
		frame = await dashboard.see((current) => {
			const [inRow] = panelRows(current, /│ C1 127\.0\.0\.1/);
			const [allIn] = panelRows(current, /│ all netdash/);
			return braille.test(inRow ?? '') && braille.test(allIn ?? '');
		}, 15_000);
		expect(frame).toMatch(/│ C1 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ open\s+← in [\d.]+ KiB\/s\s+→ out 0 B\/s/);
		expect(panelRows(frame, /│ C1 /)[0]).toMatch(/^│\s+[\d.]+ KiB\/s ▲ [\s\u2800-\u28FF]*[\u2801-\u28FF]/);

		// What C1 sends shows below it
		const timer = setInterval(() => dashboard.core.send('C1', Buffer.alloc(2048, 0x62)), 20);
		cleanups.push(() => {
			clearInterval(timer);
		});
		frame = await dashboard.see((current) => panelRows(current, /│ C1 /).some((line) => /▼ .*[\u2801-\u28FF]/.test(line)), 15_000);
		expect(frame).toMatch(/→ out [\d.]+ KiB\/s/);
		clearInterval(timer);

		frame = await dashboard.type('r', '3 Log C1');
		expect(frame).not.toContain('3 Rates');
	});

	it('fits 80×24: both panels with their axes, no line wider or taller than the terminal', async () => {
		const dashboard = await renderDashboard({store: {sampleIntervalMs: 50}});
		dashboards.push(dashboard);
		resize(dashboard, 80, 24);
		const port = await chattyServer();
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.type('r', '3 Rates');
		const frame = await dashboard.see((current) => braille.test(panelRows(current, /│ all netdash/).join('')), 15_000);
		const lines = frame.split('\n');
		expect(lines).toHaveLength(24);
		expect(lines.every((line) => stringWidth(line) <= 80)).toBe(true);
		expect(panelRows(frame, /│ all netdash/).map((line) => /[▲▼]/.exec(line)?.[0])).toEqual(['▲', '▲', '▼']);
		expect(frame).toMatch(/3 Rates \(last \d+ s · r: back to the log\)/);
	});

	it('the chart is fed by sampling the store, not by events: 10,000 events between samples add no sample', () => {
		const core = createCore();
		const store = createStore(core.bus, {sampleIntervalMs: 60_000});
		const sampler = new RateSampler(store);
		cleanups.push(() => {
			sampler.stop();
			store.dispose();
			core.dispose();
		});
		sampler.start();
		for (let index = 0; index < 10_000; index++) {
			core.bus.emit({type: 'data-received', connection: 'C1', bytes: 1, data: Buffer.of(0x61)});
		}

		store.flush();
		expect(sampler.getHistory().all).toEqual({in: [], out: []});
		// Two minutes of samples are kept, whatever the interval
		expect(sampler.getHistory().capacity * sampler.getHistory().stepMs).toBe(120_000);
	});
});
