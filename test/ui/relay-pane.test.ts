import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';

const {open, cleanups} = dashboardsForEachTest();

const right = '\u001B[C';
const left = '\u001B[D';

/** An upstream that answers each chunk with it in capitals, as a real server the relay dials. */
async function upperServer(): Promise<number> {
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk: Buffer) => {
			socket.write(chunk.toString('latin1').toUpperCase());
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		await new Promise<void>((resolve) => server.close(() => resolve()));
	});
	return (server.address() as net.AddressInfo).port;
}

/** Start a forward to `target` on the dashboard's core; its port, read back from the store. */
async function forward(dashboard: Dashboard, target: number): Promise<number> {
	const id = dashboard.core.forward('127.0.0.1', 0, {host: '127.0.0.1', port: target});
	expect(id).toBeDefined();
	const frame = await dashboard.see(new RegExp(`${id}\\s+127\\.0\\.0\\.1:\\d+`));
	return Number(new RegExp(`${id}\\s+127\\.0\\.0\\.1:(\\d+)`).exec(frame)![1]);
}

/** A client from outside netdash; resolves with it once `answer` came back through the relay. */
async function client(port: number, send: string, answer: string): Promise<net.Socket> {
	const socket = net.connect(port, '127.0.0.1');
	socket.on('error', () => {});
	cleanups.push(() => {
		socket.destroy();
	});
	let received = '';
	await new Promise<void>((resolve) => {
		socket.on('data', (chunk: Buffer) => {
			received += chunk.toString('latin1');
			if (received.includes(answer)) {
				resolve();
			}
		});
		socket.write(send);
	});
	return socket;
}

const connectionsPane = (frame: string) => frame.slice(frame.indexOf('2 Connections'), frame.indexOf('3 Log'));
const logPane = (frame: string) => frame.slice(frame.indexOf('3 Log'));

describe('a relayed pair in the dashboard', () => {
	it('connections pane shows a relayed pair as one row with bytes each way, and → / ← show and hide its two halves', async () => {
		const dashboard = await open();
		const target = await upperServer();
		const port = await forward(dashboard, target);
		const socket = await client(port, 'hello relay', 'HELLO RELAY');

		// One row for the pair: R1 ↔ the upstream, 11 B each way (at 100 columns the client's address is in the Log's title).
		// The first relay also takes the Log (its title names both halves): wait for that frame too.
		const title = new RegExp(`3 Log R1 · .* C1 127\\.0\\.0\\.1:${socket.localPort} ↔ C2 127\\.0\\.0\\.1:${target} open`);
		let frame = await dashboard.see((current) => new RegExp(`▸R1 +↔ 127\\.0\\.0\\.1:${target} .*→11 B +←11 B`).test(current) && title.test(current));
		let pane = connectionsPane(frame);
		expect(pane).not.toMatch(/C1 |C2 /);
		expect(pane).toMatch(/›• ▸R1 /);

		// → on it: the client half and the server half under it, each an ordinary connection row.
		frame = await dashboard.type(right, (current) => /▾R1 /.test(current) && /└C2 /.test(current));
		pane = connectionsPane(frame);
		// The client half's peer is the client; the server half's is the upstream.
		expect(pane).toMatch(new RegExp(`└C1 +→ 127\\.0\\.0\\.1:${socket.localPort} .* 11 B +11 B`));
		expect(pane).toMatch(new RegExp(`└C2 +→ 127\\.0\\.0\\.1:${target} .* 11 B +11 B`));
		expect(pane.indexOf('▾R1')).toBeLessThan(pane.indexOf('└C1'));

		// ← folds it back into one row.
		frame = await dashboard.type(left, (current) => /▸R1 /.test(current) && !/└C1/.test(current));
		expect(connectionsPane(frame)).not.toContain('C2');
	});

	it('the Log of a relay shows both directions interleaved as → to server / ← to client, in text, hex and the full-entry view', async () => {
		const dashboard = await open();
		const port = await forward(dashboard, await upperServer());
		const socket = await client(port, 'ping', 'PING');

		// The first relay takes the Log: what the client sent, then what the server answered.
		let frame = await dashboard.see((current) => /3 Log R1/.test(current) && /← to client\s+4 B\s+PING/.test(current));
		let log = logPane(frame);
		expect(log).toMatch(/\d\d:\d\d:\d\d\.\d{3}\s+→ to server\s+4 B\s+ping/);
		expect(log.indexOf('→ to server')).toBeLessThan(log.indexOf('← to client'));

		// A second exchange lands after the first, in bus order.
		await new Promise<void>((resolve) => {
			socket.once('data', () => {
				resolve();
			});
			socket.write('two');
		});
		frame = await dashboard.see((current) => /← to client\s+3 B\s+TWO/.test(current));
		log = logPane(frame);
		const order = ['ping', 'PING', 'two', 'TWO'].map((text) => log.search(new RegExp(`B\\s+${text}`)));
		expect(order).toEqual([...order].sort((a, b) => a - b));

		// x: the same entries as hex, still saying which way.
		frame = await dashboard.type('x', (current) => /R1 · following · hex/.test(current));
		log = logPane(frame);
		expect(log).toMatch(/→ to server\s+3 B\s+chunk/);
		expect(log).toContain('74 77 6f'); // "two"
		expect(log).toContain('54 57 4f'); // "TWO"
		await dashboard.type('x', (current) => /R1 · following · text/.test(current));

		// The full-entry view of the newest entry: which way, and its bytes.
		await dashboard.type('3', '┏━ 3 Log');
		frame = await dashboard.type('v', (current) => current.includes('3 Entry'));
		expect(frame).toMatch(/← to client\s+\d\d:\d\d:\d\d\.\d{3}\s+3 B chunk/);
		expect(frame).toContain('TWO');
		await dashboard.type(keys.escape, (current) => !current.includes('3 Entry'));
	});
});
