import {afterEach, describe, expect, it} from 'vitest';
import {keyBindings, keyLabel} from '../../source/ui/keys.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

async function open(): Promise<Dashboard> {
	const dashboard = await renderDashboard();
	dashboards.push(dashboard);
	return dashboard;
}

/** The line of the Connections pane that shows connection `id`. */
function rowOf(frame: string, id: string): string {
	return frame.split('\n').find((line) => new RegExp(`^┃.. ${id} `).test(line)) ?? '';
}

/** Run a `:` command line as a person types it. */
async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/**
 * Given a dashboard, a listener from `:listen 0` and a connection to it
 * from `:connect`: the port as the Listeners pane shows it.
 */
async function listenAndConnect(dashboard: Dashboard): Promise<number> {
	await command(dashboard, 'listen 0');
	const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
	const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1]);
	await command(dashboard, `connect 127.0.0.1:${port}`);
	await dashboard.see((frame) => rowOf(frame, 'C1').includes('● open') && rowOf(frame, 'C2').includes('● open'));
	return port;
}

describe('dashboard driven from the keyboard', () => {
	it('a listener started with :listen 0 shows its port, and :connect to it shows both ends of the connection', async () => {
		const dashboard = await open();
		// Both ends fit from 140 columns; below that the rates come first and the row shows the remote end
		Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => 140});
		dashboard.stdout.emit('resize');
		const port = await listenAndConnect(dashboard);

		const frame = dashboard.lastFrame()!;
		expect(port).toBeGreaterThan(0);
		expect(frame).toMatch(new RegExp(`L1\\s+127\\.0\\.0\\.1:${port}\\s+1 acc 1 open`));
		expect(rowOf(frame, 'C1')).toContain(`→ 127.0.0.1:${port}`);
		expect(rowOf(frame, 'C2')).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:\\d+`));
	});

	it('text sent with s arrives in the other side\'s log, escapes and all', async () => {
		const dashboard = await open();
		await listenAndConnect(dashboard);

		// When the person sends from C1 (the cursor's row) with s, with no line ending after the escapes
		await dashboard.type('s', 'send to C1 +LF ›');
		await dashboard.type('\u0014', 'send to C1 +CRLF ›');
		await dashboard.type('\u0014', 'send to C1 no ending ›');
		await dashboard.type(String.raw`hello from keys\r\n`, String.raw`send to C1 no ending › hello from keys\r\n`);
		await dashboard.type(keys.enter);
		await dashboard.see((frame) => rowOf(frame, 'C1').includes('17 B'));

		// Then C2, selected with j and enter, shows it in the Log pane
		await dashboard.type('j');
		const frame = await dashboard.type(keys.enter, String.raw`← in        17 B  hello from keys\r\n`);
		expect(frame).toMatch(/3 Log C2 · following · text · 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ open/);
		expect(rowOf(frame, 'C2')).toMatch(/17 B\s+0 B/);
	});

	it('after :connect the cursor is on the new connection, so s sends there', async () => {
		const dashboard = await open();
		await listenAndConnect(dashboard);
		// A second dial: C3, below C1 and C2
		const port = /L1\s+127\.0\.0\.1:(\d+)/.exec(dashboard.lastFrame()!)![1];
		await command(dashboard, `connect 127.0.0.1:${port}`);
		const frame = await dashboard.see((current) => rowOf(current, 'C3').startsWith('┃›•'));
		expect(rowOf(frame, 'C1').startsWith('┃  ')).toBe(true);
		await dashboard.type('s', 'send to C3 +LF ›');
	});

	it('x shows the log as a hex dump and back as text', async () => {
		const dashboard = await open();
		await listenAndConnect(dashboard);
		await dashboard.type('s', 'send to C1');
		await dashboard.type('Hi!\\x00', 'Hi!\\x00');
		await dashboard.type(keys.enter);
		await dashboard.type('j');
		await dashboard.type(keys.enter, 'Hi!^@\\n');

		// The text and the LF that enter added.
		const hex = await dashboard.type('x', '00000000  48 69 21 00 0a');
		expect(hex).toContain('|Hi!..|');
		expect(hex).toContain('· hex ·');

		const text = await dashboard.type('x', '· text ·');
		expect(text).toContain('Hi!^@');
		expect(text).not.toContain('48 69 21 00');
	});

	it('/ filters the focused pane: connections by text, the log by direction', async () => {
		const dashboard = await open();
		await listenAndConnect(dashboard);

		// Connections: only the accepted one matches "accepted"
		await dashboard.type('/', 'connections filter:');
		await dashboard.type('accepted', '/connections filter: accepted');
		let frame = await dashboard.type(keys.enter, '/accepted 1 match');
		expect(rowOf(frame, 'C2')).toContain('● open');
		expect(rowOf(frame, 'C1')).toBe('');

		// Clearing the filter brings C1 back
		await dashboard.type('/', '/connections filter: accepted');
		await dashboard.type('\u0015', (current) => current.includes('/connections filter: ') && !current.includes('filter: accepted'));
		frame = await dashboard.type(keys.enter, (current) => rowOf(current, 'C1') !== '');
		expect(frame).toContain('(2 open · 2 total)');

		// C1's log has a note (connected) and an outgoing chunk; /out keeps only the chunk
		await dashboard.type('s', 'send to C1');
		await dashboard.type('ping', 'ping');
		await dashboard.type(keys.enter, '→ out');
		await dashboard.type('3', '┏━ 3 Log');
		await dashboard.type('/', 'log filter:');
		await dashboard.type('out', 'log filter: out');
		frame = await dashboard.type(keys.enter, '· /out');
		expect(frame).toMatch(/→ out\s+5 B  ping\\n/);
		expect(frame).not.toContain('· note');

		await dashboard.type('/', 'log filter: out');
		await dashboard.type('\u0015');
		await dashboard.type('note', 'log filter: note');
		frame = await dashboard.type(keys.enter, '· /note');
		expect(frame).toContain('· note');
		expect(frame).not.toContain('→ out');
	});

	it('e half-closes the connection: by default the other end closes after the FIN, and both rows show closed', async () => {
		const dashboard = await open();
		await listenAndConnect(dashboard);

		// e on C1: we send FIN; C2 gets it, sends its (empty) queue and closes; C1 then closes too
		const isClosed = (row: string) => row.includes('closed') && !row.includes('half');
		const frame = await dashboard.type('e', (current) => isClosed(rowOf(current, 'C1')) && isClosed(rowOf(current, 'C2')));
		expect(rowOf(frame, 'C1')).toMatch(/ closed /);
		expect(rowOf(frame, 'C2')).toMatch(/ closed /);
	});

	it('with :halfopen on, e half-closes the connection, the other end waits (its row counts the seconds), and R (confirmed) resets it', async () => {
		const dashboard = await open();
		await command(dashboard, 'halfopen on');
		await listenAndConnect(dashboard);
		expect(rowOf(await dashboard.see((current) => rowOf(current, 'C2') !== ''), 'C2')).toContain('open · half-open');

		// e on C1: we send FIN; C2 sees the peer's FIN and stays open, saying how long it has waited
		let frame = await dashboard.type('e', (current) => rowOf(current, 'C1').includes('half-closed-local'));
		frame = await dashboard.see((current) => /half-open [1-9]\d*s/.test(rowOf(current, 'C2')));
		expect(rowOf(frame, 'C1')).toContain('◐ half-closed-local');

		// R on C2 asks first; n keeps it
		await dashboard.type('j');
		await dashboard.type('R', 'reset C2 with a RST?');
		frame = await dashboard.type('n', (current) => !current.includes('reset C2 with a RST?'));
		expect(rowOf(frame, 'C2')).toContain('half-open');

		// R then y resets it
		await dashboard.type('R', 'reset C2 with a RST?');
		frame = await dashboard.type('y', (current) => rowOf(current, 'C2').includes('✗ reset'));
		expect(frame).not.toContain('reset C2 with a RST?');
	});

	it('d closes the listener under the cursor after a confirm, and C clears the closed rows', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		await dashboard.type('1', '┏━ 1 Listeners');
		await dashboard.type('d', 'stop listener L1?');
		let frame = await dashboard.type('y', /○ L1\s+127\.0\.0\.1:\d+\s+0 acc 0 open\s+.*closed/);
		expect(frame).toContain('(0 open)');
		frame = await dashboard.type('C', 'no listeners — :listen 8080');
		expect(frame).not.toMatch(/L1\s+127\.0\.0\.1/);
		expect(frame).toContain('select a connection or listener with enter');
	});

	it('? opens a help overlay that lists every binding of keys.ts', async () => {
		const dashboard = await open();
		let frame = await dashboard.type('?', 'Keys — esc or ? closes');
		// Page down (ctrl-d) while the help says there is more: every page's lines count.
		let pages = frame;
		for (let page = 0; page < 10; page++) {
			const where = /lines \d+–(\d+) of (\d+)/.exec(frame);
			if (!where || where[1] === where[2]) {
				break;
			}

			const shown = frame;
			// eslint-disable-next-line no-await-in-loop
			frame = await dashboard.type('\u0004', (current) => current !== shown);
			pages += `\n${frame}`;
		}

		// The replay's keys are listed only in netdash replay (test/capture/replay.test.ts).
		for (const binding of keyBindings.filter((each) => each.scope !== 'replay')) {
			const line = pages.split('\n').find((candidate) => candidate.includes(`${keyLabel(binding).padEnd(11)} ${binding.description}`));
			expect(line, `help shows ${keyLabel(binding)} ${binding.description}`).toBeDefined();
		}

		const closed = await dashboard.type('?', '1 Listeners');
		expect(closed).not.toContain('Keys — esc or ? closes');
	});

	it('the command line completes names with tab and recalls earlier lines with up', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		await dashboard.type(':', 'tab completes');
		await dashboard.type('lis', ':lis');
		await dashboard.type(keys.tab, ':listen █');
		await dashboard.type('0 l', ':listen 0 l');
		await dashboard.type(keys.tab, ':listen 0 line █');
		await dashboard.type(keys.escape, (frame) => !frame.includes(':listen'));

		await dashboard.type(':', 'tab completes');
		const frame = await dashboard.type(keys.up, ':listen 0');
		expect(frame).toContain(':listen 0');
		await dashboard.type(keys.enter, /L2\s+127\.0\.0\.1/);
	});

	it('q with sockets open asks first; y quits', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		await dashboard.type('q', '1 socket is open: close it and quit?');
		expect(dashboard.quits()).toBe(0);
		await dashboard.type('y');
		await dashboard.see(() => dashboard.quits() === 1);
	});

	it('ctrl-c quits at once, even from a prompt', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		await dashboard.type(':', 'tab completes');
		await dashboard.type('\u0003');
		await dashboard.see(() => dashboard.quits() === 1);
	});
});
