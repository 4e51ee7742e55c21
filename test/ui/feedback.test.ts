import {afterEach, describe, expect, it} from 'vitest';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';
import {closedTcpPort as closedPort} from '../helpers/ports.js';

const dashboards: Dashboard[] = [];

afterEach(async () => {
	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

async function open(options?: Parameters<typeof renderDashboard>[0]): Promise<Dashboard> {
	const dashboard = await renderDashboard(options);
	dashboards.push(dashboard);
	return dashboard;
}

async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/** The status bar: the line above the bottom line. */
function statusLine(frame: string): string {
	return frame.split('\n').at(-2) ?? '';
}

/** The bottom line: a prompt, a fresh notice, or the key hint. */
function bottomLine(frame: string): string {
	return frame.split('\n').at(-1) ?? '';
}


describe('feedback: failures are one line in the status bar and in the socket\'s log', () => {
	it('a refused connection shows in the status bar and, marked as an error, in its log — with no stack trace', async () => {
		const dashboard = await open();
		const port = await closedPort();
		await command(dashboard, `connect 127.0.0.1:${port}`);

		const frame = await dashboard.see((current) => bottomLine(current).includes('connection refused'));
		expect(bottomLine(frame)).toMatch(new RegExp(`^✗ \\d\\d:\\d\\d:\\d\\d C1: connection refused by 127\\.0\\.0\\.1:${port} — nothing is listening there$`));
		// The Log follows the connection :connect opened
		expect(frame).toMatch(/✗ error\s+connection refused by 127\.0\.0\.1:\d+/);
		expect(frame).toMatch(/C1 .*✗ failed/);
		expect(frame).not.toMatch(/\n\s+at /);
	});

	it('a command on a connection that has closed fails in the status bar and in that connection\'s log', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = /L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1];
		await command(dashboard, `connect 127.0.0.1:${port}`);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type('R', 'reset C1 with a RST?');
		await dashboard.type('y', /C1 .*✗ reset/);

		// The Log shows C1 (:connect selected it); a send to it now fails
		await command(dashboard, 'send C1 too late');
		const frame = await dashboard.see((current) => bottomLine(current).includes('no open connection'));
		expect(bottomLine(frame)).toMatch(/^✗ \d\d:\d\d:\d\d C1: no open connection "C1"/);
		expect(frame).toMatch(/3 Log C1 .*\n(?:.*\n)*.*✗ error\s+no open connection "C1".*UNKNOWN_ID/);
	});

	it('a mistyped command line is one line in the status bar', async () => {
		const dashboard = await open();
		await command(dashboard, 'lsten 80');
		const frame = await dashboard.see((current) => bottomLine(current).includes('unknown command'));
		expect(bottomLine(frame)).toContain("unknown command 'lsten': use one of listen, connect");
	});

	it('sending with nothing selected says how to pick a connection', async () => {
		const dashboard = await open();
		await command(dashboard, 'send hello');
		const frame = await dashboard.see((current) => bottomLine(current).includes('send needs a connection'));
		expect(bottomLine(frame)).toContain('send needs a connection: select one with enter, or name it (send [C1] text)');
	});

	it('s with no connection under the cursor complains instead of opening a prompt', async () => {
		const dashboard = await open();
		const frame = await dashboard.type('s', (current) => bottomLine(current).includes('send: no connection here'));
		expect(frame).not.toContain('send to');
	});

	it('a fresh notice takes the bottom line until the next key, then stays in the status bar', async () => {
		const dashboard = await open();
		await command(dashboard, 'lsten 80');
		await dashboard.see((current) => bottomLine(current).includes('unknown command'));
		const frame = await dashboard.type('j', (current) => bottomLine(current).includes('? help'));
		expect(statusLine(frame)).toContain("✗ ");
		expect(statusLine(frame)).toContain("unknown command 'lsten'");
	});

	it('the status bar counts open sockets and bytes each way', async () => {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = /L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1];
		await command(dashboard, `connect 127.0.0.1:${port}`);
		await command(dashboard, 'send C1 twelve bytes');
		const frame = await dashboard.see((current) => statusLine(current).startsWith('1 listening · 2 open  ← 12 B'));
		expect(statusLine(frame)).toMatch(/→ 12 B/);
	});

	it('when the bounded log drops old entries, the Log pane says how many', async () => {
		// A tiny log budget so eviction happens after a few sends
		const dashboard = await open({store: {logBytes: 4096, logEntryBytes: 64}});
		await command(dashboard, 'listen 0');
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = /L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1];
		await command(dashboard, `connect 127.0.0.1:${port}`);
		await dashboard.see(/C1 .*● open/);
		for (let index = 0; index < 100; index++) {
			dashboard.core.send('C1', Buffer.from(`message ${index}`.padEnd(100, '.')));
		}

		const frame = await dashboard.see(/⋯ \d+ older entries evicted/);
		const evicted = Number(/⋯ (\d+) older entries evicted/.exec(frame)![1]);
		expect(evicted).toBeGreaterThan(0);
		expect(frame).toContain('message 99');
		expect(statusLine(frame)).toMatch(/evicted [1-9]\d*/);
	});
});
