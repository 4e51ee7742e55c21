import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';
import {until} from '../helpers/recorder.js';

const {open, cleanups} = dashboardsForEachTest();

async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/** A line listener on the dashboard's core and a client of it; `received` is what the client got. */
async function lineClient(dashboard: Dashboard): Promise<{client: net.Socket; received: () => string}> {
	let port = 0;
	const unsubscribe = dashboard.core.bus.subscribe((event) => {
		if (event.type === 'listener-opened') {
			port = event.port;
		}
	});
	cleanups.push(unsubscribe);
	dashboard.core.listen('127.0.0.1', 0, {framing: {kind: 'line'}});
	await until(() => port !== 0, () => 'listener-opened');
	const client = net.connect(port, '127.0.0.1');
	client.on('error', () => {});
	let received = '';
	client.on('data', (chunk: Buffer) => {
		received += chunk.toString('latin1');
	});
	cleanups.push(() => {
		client.destroy();
	});
	await new Promise<void>((resolve) => client.once('connect', resolve));
	await dashboard.see(/C1\s/);
	return {client, received: () => received};
}

describe('the workbench on the dashboard', () => {
	it('the Listeners pane lists each auto-reply rule with its hit count, counting as it answers; a paused rule says so and a removed one leaves', async () => {
		// Given a line listener with two rules
		const dashboard = await open();
		await command(dashboard, String.raw`respond ^PING (\d+) => PONG $1`);
		await command(dashboard, 'respond ^never => x');
		const {client, received} = await lineClient(dashboard);
		await dashboard.see(/1 Listeners \(1 open · 2 rules 0 hits\)/);

		// When a client asks three times
		client.write('PING 1\nPING 2\nPING 3\n');
		await until(() => received() === 'PONG 1\nPONG 2\nPONG 3\n', () => `received ${JSON.stringify(received())}`);

		// Then the pane shows A1's three hits and replies, and A2's none
		let frame = await dashboard.see(/A1 active \^PING.* 3 hits · 3 replies/);
		expect(frame).toMatch(/1 Listeners \(1 open · 2 rules 3 hits\)/);
		expect(frame).toMatch(/A2 active \^never => x\s+0 hits · 0 replies/);

		// A paused rule says so, with its counts; a removed one leaves the pane
		await command(dashboard, 'rule A1 pause');
		frame = await dashboard.see(/A1 paused .* 3 hits · 3 replies/);
		await command(dashboard, 'rule A2 remove');
		frame = await dashboard.see(/1 Listeners \(1 open · 1 rule 3 hits\)/);
		expect(frame).not.toMatch(/A2 active/);
	});

	it(':send --every starts a schedule that :schedules lists with its count and :cancel stops; no send comes after', async () => {
		// Given a connection
		const dashboard = await open();
		const {received} = await lineClient(dashboard);

		// When a timed send starts and has beaten three times
		await command(dashboard, 'send --every 20ms C1 beat');
		await until(() => received().split('beat\n').length > 3, () => `received ${JSON.stringify(received())}`);

		// Then :schedules lists it, and :cancel stops it with its count
		await command(dashboard, 'schedules');
		await dashboard.see(/S1 on C1 every 0\.02s: \d+ sent/);
		await command(dashboard, 'cancel S1');
		const frame = await dashboard.see(/schedule S1 on C1 every 0\.02s: \d+ sent — cancelled/);
		const sent = Number(/S1 on C1 every 0\.02s: (\d+) sent — cancelled/.exec(frame)![1]);
		expect(sent).toBeGreaterThanOrEqual(3);
		await until(() => received().split('beat\n').length - 1 === sent, () => `received ${JSON.stringify(received())}`);

		// Nothing more is sent: a second schedule's three beats are the clock
		dashboard.core.send('C1', Buffer.from('Z'), {everyMs: 20, count: 3});
		await until(() => received().split('Z').length === 4, () => `received ${JSON.stringify(received())}`);
		expect(received().split('beat\n').length - 1).toBe(sent);
	});
});
