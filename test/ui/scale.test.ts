import {afterEach, describe, expect, it} from 'vitest';
import {renderDashboard, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

/** Rows of the Connections pane as drawn (lines between its borders that hold a connection). */
function connectionLines(frame: string): string[] {
	return frame.split('\n').filter((line) => /^┃.. C\d+ /.test(line));
}

describe('speed: big tables stay responsive', () => {
	it('10,000 connections: only the rows that fit are drawn, and j, G and g each answer in well under a frame budget', async () => {
		// Given 10,000 connections in the store. 20,000 real loopback sockets
		// would exceed the usual descriptor limit of a test runner, so the
		// store is fed the events the core would emit for them.
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		for (let index = 1; index <= 10_000; index++) {
			dashboard.core.bus.emit({
				type: 'connection-opened',
				connection: `C${index}`,
				listener: null,
				origin: 'dialed',
				local: {address: '127.0.0.1', port: 20_000 + (index % 40_000)},
				remote: {address: '127.0.0.1', port: 80},
				framing: 'raw',
			});
		}

		// At 100×30 the Connections pane has room for 6 rows
		let frame = await dashboard.see('(10000 open · 10000 total · 1–6 of 10000)');
		expect(connectionLines(frame)).toHaveLength(6);

		// When the person walks down with j twenty times
		const started = performance.now();
		for (let step = 1; step <= 20; step++) {
			frame = await dashboard.type('j', (current) => connectionLines(current).some((line) => line.startsWith(`┃›  C${step + 1} `)));
		}

		const perKey = (performance.now() - started) / 20;
		console.log(`10,000 connections: ${perKey.toFixed(1)} ms per j, key to frame`);
		expect(connectionLines(frame)).toHaveLength(6);
		// Ink lays out every rendered row on every update (≈ 6 ms per 200 rows,
		// FACTS.md): drawing all 10,000 would cost hundreds of ms per key.
		expect(perKey).toBeLessThan(100);

		frame = await dashboard.type('G', '9995–10000 of 10000');
		expect(connectionLines(frame).at(-1)).toMatch(/^┃›  C10000 /);
		frame = await dashboard.type('g', '1–6 of 10000');
		expect(connectionLines(frame)[0]).toMatch(/^┃›  C1 /);
	});
});
