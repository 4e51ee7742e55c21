import net from 'node:net';
import {describe, expect, it} from 'vitest';
import type {BusEvent} from '../../source/core/index.js';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';

const {open, cleanups} = dashboardsForEachTest();

const right = '\u001B[C';
const ctrlU = '\u0015';

/** A real upstream that answers each chunk in capitals, and remembers everything it received. */
async function upperServer(): Promise<{port: number; received: () => string}> {
	let received = '';
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk: Buffer) => {
			received += chunk.toString('latin1');
			socket.write(chunk.toString('latin1').toUpperCase());
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return {port: (server.address() as net.AddressInfo).port, received: () => received};
}

/** Poll until `predicate` holds (no fixed sleeps), failing with what was awaited. */
async function until(predicate: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await new Promise((resolve) => setImmediate(resolve));
	}
}

/** A forward on the dashboard's core to a capitalising upstream, and a client through it that has had one answer. */
async function relayed(dashboard: Dashboard): Promise<{client: net.Socket; upstream: Awaited<ReturnType<typeof upperServer>>; heard: () => string; events: BusEvent[]}> {
	const upstream = await upperServer();
	const events: BusEvent[] = [];
	cleanups.push(dashboard.core.bus.subscribe((event) => events.push(event)));
	const id = dashboard.core.forward('127.0.0.1', 0, {host: '127.0.0.1', port: upstream.port});
	const frame = await dashboard.see(new RegExp(`${id}\\s+127\\.0\\.0\\.1:\\d+`));
	const port = Number(new RegExp(`${id}\\s+127\\.0\\.0\\.1:(\\d+)`).exec(frame)![1]);
	const client = net.connect(port, '127.0.0.1');
	client.on('error', () => {});
	cleanups.push(() => {
		client.destroy();
	});
	let heard = '';
	client.on('data', (chunk: Buffer) => {
		heard += chunk.toString('latin1');
	});
	client.write('one');
	await until(() => heard === 'ONE', 'the first answer through the relay');
	// The relay takes the Log and the cursor.
	await dashboard.see((current) => /›• ▸R1 /.test(current) && /3 Log R1/.test(current));
	return {client, upstream, heard: () => heard, events};
}

describe('steering a relay from the keyboard', () => {
	it('i holds chunks going to the server, listed with their bytes; f forwards one, e and x forward it edited as text or hex, d drops one', async () => {
		const dashboard = await open();
		const {client, upstream, heard} = await relayed(dashboard);

		// i, then enter on → to server: intercept is on, and the held list takes the panes.
		await dashboard.type('i', 'intercept on R1: [→ to server (off)]');
		let frame = await dashboard.type(keys.enter, (current) => current.includes('3 Held') && current.includes('intercepting → to server'));
		expect(frame).toContain('0 held');

		// A chunk the client sends is held, listed with its number, way, size and bytes, and does not reach the server.
		client.write('secret\r\n');
		frame = await dashboard.see(/#1 +→ to server .* 8 B {2}secret\\r\\n/);
		expect(upstream.received()).toBe('one');

		// f forwards it as it is.
		await dashboard.type('f', (current) => current.includes('0 held'));
		await until(() => upstream.received() === 'onesecret\r\n' && heard() === 'ONESECRET\r\n', 'the forwarded chunk and its answer');

		// e: edit as text with escapes (the prompt starts with the chunk's bytes), then forward the edited bytes.
		client.write('abc');
		await dashboard.see(/#2 +→ to server .* 3 B {2}abc/);
		await dashboard.type('e', 'chunk 2 of R1 as text › abc');
		await dashboard.type(ctrlU, (current) => !current.includes('as text › abc'));
		await dashboard.type('hi\\x21\\n', 'as text › hi\\x21\\n');
		await dashboard.type(keys.enter, (current) => current.includes('0 held') && !current.includes('as text ›'));
		await until(() => upstream.received().endsWith('hi!\n'), 'the edited chunk at the server');
		expect(upstream.received()).not.toContain('abc');

		// x: edit as hex.
		client.write('zzz');
		await dashboard.see(/#3 +→ to server .* 3 B {2}zzz/);
		await dashboard.type('x', 'chunk 3 of R1 as hex › 7a 7a 7a');
		await dashboard.type(ctrlU, (current) => !current.includes('as hex › 7a'));
		await dashboard.type('41 42', 'as hex › 41 42');
		await dashboard.type(keys.enter, (current) => current.includes('0 held') && !current.includes('as hex ›'));
		await until(() => upstream.received().endsWith('hi!\nAB'), 'the hex-edited chunk at the server');

		// d drops one: its bytes never reach the server.
		client.write('drop me');
		await dashboard.see(/#4 +→ to server .* 7 B {2}drop me/);
		await dashboard.type('d', (current) => current.includes('0 held'));

		// esc: the panes again; the relay's log tells each step.
		frame = await dashboard.type(keys.escape, (current) => current.includes('3 Log R1') && current.includes('dropped chunk 4'));
		expect(frame).toMatch(/released chunk 3 to server, edited to 2 B/);
		expect(upstream.received()).toBe('onesecret\r\nhi!\nAB');

		// i again on the same way turns intercept off: chunks flow.
		await dashboard.type('i', 'intercept on R1: [→ to server (on)]');
		await dashboard.type(keys.enter, 'intercept to server off');
		await dashboard.type(keys.escape, (current) => current.includes('3 Log R1'));
		client.write('free');
		await until(() => upstream.received().endsWith('ABfree'), 'a chunk with intercept off');
	});

	it('s injects bytes towards either side of a relay, and t throttles a direction to N bytes/s', async () => {
		const dashboard = await open();
		const {upstream, heard, events} = await relayed(dashboard);

		// s, → picks "to client", enter: a send prompt whose bytes go to the client only.
		await dashboard.type('s', 'inject into R1: [→ to server]');
		await dashboard.type(right, 'inject into R1:  → to server  [← to client]');
		await dashboard.type(keys.enter, 'inject into R1 ← to client +LF ›');
		await dashboard.type('pushed', '› pushed');
		await dashboard.type(keys.enter, (current) => !current.includes('inject into R1 ←'));
		await until(() => heard() === 'ONEpushed\n', 'the injected bytes at the client');
		expect(upstream.received()).toBe('one');

		// s towards the server: the server receives it (and answers the client through the relay).
		await dashboard.type('s', 'inject into R1: [→ to server]');
		await dashboard.type(keys.enter, 'inject into R1 → to server +LF ›');
		await dashboard.type('ask', '› ask');
		await dashboard.type(keys.enter, (current) => !current.includes('inject into R1 →'));
		await until(() => upstream.received() === 'oneask\n' && heard() === 'ONEpushed\nASK\n', 'the injected bytes at the server and its answer');
		let frame = await dashboard.see(/⇒ to server\s+4 B\s+ask\\n/);
		expect(frame).toMatch(/⇐ to client\s+7 B\s+pushed\\n/);

		// t, enter (to server), 2k: that direction is paced at 2048 B/s.
		await dashboard.type('t', 'throttle R1: [→ to server (no limit)]');
		await dashboard.type(keys.enter, 'throttle R1 → to server to bytes/s ›');
		await dashboard.type('2k', '› 2k');
		frame = await dashboard.type(keys.enter, 'throttle to server: 2 KiB/s');
		expect(events.filter((event) => event.type === 'relay-throttle-changed')).toMatchObject([{relay: 'R1', direction: 'to-server', bytesPerSecond: 2048}]);

		// A bad pace is one line, and changes nothing.
		await dashboard.type('t', 'throttle R1: [→ to server (2048 B/s)]');
		await dashboard.type(keys.enter, 'to bytes/s › 2048');
		await dashboard.type(ctrlU, (current) => !current.includes('› 2048'));
		await dashboard.type('fast', '› fast');
		frame = await dashboard.type(keys.enter, 'a throttle is bytes per sec');
		expect(events.filter((event) => event.type === 'relay-throttle-changed')).toHaveLength(1);
	});

	it('a paste on a relay asks for s to pick a side, and d closes the relay: both halves, after a yes', async () => {
		const dashboard = await open();
		const {client, upstream} = await relayed(dashboard);

		// A paste could go either way: nothing is sent, and the line says how to choose.
		let frame = await dashboard.type('\u001B[200~pasted\u001B[201~', 'press s and pick a side');
		expect(frame).not.toContain('send to R1');
		expect(upstream.received()).toBe('one');

		// d asks first, then closes both halves; the client sees the end of the stream.
		let isEnded = false;
		client.on('end', () => {
			isEnded = true;
		});
		await dashboard.type('d', 'close relay R1, both halves?');
		frame = await dashboard.type('y', (current) => /▸R1 .*○ closed/.test(current));
		await until(() => isEnded, 'the client to see the FIN');
	});

	it('i on a plain connection says there is no relay there', async () => {
		const dashboard = await open();
		await dashboard.type(':', 'tab completes');
		await dashboard.type('listen 0', ':listen 0');
		await dashboard.type(keys.enter, /L1\s+127\.0\.0\.1:\d+/);
		const frame = await dashboard.type('i', 'no relay here');
		expect(frame).not.toContain('intercept on');
	});
});
