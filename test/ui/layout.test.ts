import {afterEach, describe, expect, it} from 'vitest';
import {commandLineUsages} from '../../source/core/command-line.js';
import {fitColumns} from '../../source/ui/columns.js';
import {chromeRows, layoutFor} from '../../source/ui/layout.js';
import {keys, renderDashboard, resize, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

function fits(frame: string, columns: number, rows: number): boolean {
	const lines = frame.split('\n');
	return lines.length <= rows && lines.every((line) => [...line].length <= columns);
}

describe('layout', () => {
	it('the panes, status bar and hint line fill the terminal exactly, never more, at every size from 60×16 up', () => {
		for (const [columns, rows] of [[60, 16], [80, 24], [100, 30], [120, 40], [200, 60], [300, 90]] as const) {
			const folded = layoutFor(columns, rows, {isDiscoveryFolded: true});
			expect(folded.listeners.height + folded.discovery.height + folded.connections.height + folded.log.height + chromeRows).toBe(rows);
			expect([folded.listeners.width, folded.discovery.width, folded.discovery.height]).toEqual([columns, columns, 1]);
			for (const pane of [folded.listeners, folded.connections, folded.log]) {
				expect(pane.height - 2).toBeGreaterThanOrEqual(1);
			}

			const layout = layoutFor(columns, rows);
			expect(layout.isTooSmall).toBe(false);
			expect(layout.listeners.height + layout.connections.height + layout.log.height + chromeRows).toBe(rows);
			expect(layout.listeners.width + layout.discovery.width).toBe(columns);
			// Every pane keeps at least one row inside its borders
			for (const pane of [layout.listeners, layout.discovery, layout.connections, layout.log]) {
				expect(pane.height - 2).toBeGreaterThanOrEqual(1);
			}
		}

		expect(layoutFor(59, 30).isTooSmall).toBe(true);
		expect(layoutFor(100, 15).isTooSmall).toBe(true);
	});

	it('table columns never add up to more than the pane is wide, and the flexible one takes what is left', () => {
		const columns = [
			{key: 'a', width: 5, priority: 0},
			{key: 'b', width: 10, priority: 0, isFlexible: true, grow: {width: 10, priority: 2}},
			{key: 'c', width: 8, priority: 1},
			{key: 'd', width: 8, priority: 3},
		] as const;
		expect([...fitColumns(23, columns)]).toEqual([['a', 5], ['b', 10], ['c', 8]]);
		expect([...fitColumns(40, columns)]).toEqual([['a', 5], ['b', 27], ['c', 8]]);
		expect([...fitColumns(60, columns)]).toEqual([['a', 5], ['b', 39], ['c', 8], ['d', 8]]);
	});

	it('the dashboard re-lays out on resize: fits 80×24, uses the room at 200×60, and no frame is taller or wider than the terminal', async () => {
		// Given a dashboard with a listener and a connection to it
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		const port = await new Promise<number>((resolve) => {
			const stop = dashboard.core.bus.subscribe((event) => {
				if (event.type === 'listener-opened') {
					stop();
					resolve(event.port);
				}
			});
			dashboard.core.listen('127.0.0.1', 0);
		});
		dashboard.core.connect('127.0.0.1', port);
		await dashboard.see(/C2 .*● open/);

		// When the terminal shrinks to 80×24
		let from = dashboard.frames.length;
		resize(dashboard, 80, 24);
		let frame = await dashboard.see((current) => current.split('\n').length === 24);
		expect(fits(frame, 80, 24)).toBe(true);
		for (const title of ['1 Listeners', '2 Connections', '3 Log', '4 Discovery']) {
			expect(frame).toContain(title);
		}

		expect(frame).toMatch(/C1\s+→ 127\.0\.0\.1:\d+\s+● open/);
		expect(frame.split('\n').at(-1)).toContain('? help');
		expect(dashboard.frames.slice(from).every((written) => fits(written, 80, 24))).toBe(true);

		// And grows to 200×60: more columns appear (origin, rates with sparklines, framing, service)
		from = dashboard.frames.length;
		resize(dashboard, 200, 60);
		frame = await dashboard.see((current) => current.split('\n').length === 60);
		expect(fits(frame, 200, 60)).toBe(true);
		expect(frame).toMatch(/origin\s+state/);
		expect(frame).toContain('rate in');
		expect(frame).toMatch(/C2\s+127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+\s+accepted\s+● open/);
		expect(frame).toContain('service');
		expect(dashboard.frames.slice(from).every((written) => fits(written, 200, 60))).toBe(true);

		// A wide help shows the command line's vocabulary beside the keys, each description on its
		// usage's line (the top of the help, then its end: G, when it is taller than the terminal)
		frame = await dashboard.type('?', 'Keys — esc or ? closes');
		expect(fits(frame, 200, 60)).toBe(true);
		const end = await dashboard.type('G', 'Keys — esc or ? closes');
		const lines = `${frame}\n${end}`.split('\n');
		for (const usage of commandLineUsages) {
			// Beside its usage, or on the line under it when the column is too narrow for it.
			// (beside it first, at the start of a column: a key's description may end in the same word, as `?`'s does in "help")
			const padded = `${usage.usage.padEnd(Math.max(28, usage.usage.length))} `;
			const beside = lines.findIndex((line) => line.includes(`║ ${padded}`) || line.includes(`  ${padded}`));
			const at = beside >= 0 ? beside : lines.findIndex((line) => line.trimEnd().endsWith(usage.usage));
			expect(at, usage.usage).toBeGreaterThanOrEqual(0);
			expect(`${lines[at]}\n${lines[at + 1]}`).toContain(usage.description);
		}

		await dashboard.type(keys.escape, '1 Listeners');

		// The help overlay fits the small terminal too
		resize(dashboard, 80, 24);
		await dashboard.see((current) => current.split('\n').length === 24);
		frame = await dashboard.type('?', 'Keys — esc or ? closes');
		expect(fits(frame, 80, 24)).toBe(true);
		await dashboard.type(keys.escape, '1 Listeners');
	});

	it('a terminal below 60×16 gets one line saying so instead of a broken layout, and q still quits', async () => {
		const dashboard = await renderDashboard();
		dashboards.push(dashboard);
		resize(dashboard, 50, 12);
		const frame = await dashboard.see('netdash needs at least 60×16 (this is 50×12)');
		expect(fits(frame, 50, 12)).toBe(true);
		// Keys still work there: the hint line says how to leave
		expect(frame.split('\n').at(-1)).toContain('q quit');
		await dashboard.type('q');
		await dashboard.see(() => dashboard.quits() === 1);
	});
});
