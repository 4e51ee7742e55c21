import dgram from 'node:dgram';
import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, keys, waitForFrame, type Dashboard} from '../helpers/ink.js';

const {open, cleanups} = dashboardsForEachTest();

/** A Node server on loopback that keeps every byte it receives, and can send and close. */
async function peer(): Promise<{port: number; received: () => Buffer; sockets: net.Socket[]}> {
	const chunks: Buffer[] = [];
	const sockets: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk) => chunks.push(chunk));
		sockets.push(socket);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	return {port: (server.address() as net.AddressInfo).port, received: () => Buffer.concat(chunks), sockets};
}

/** Poll until `predicate` holds (for bytes on the far side), with a deadline. */
async function until(predicate: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await new Promise((resolve) => setImmediate(resolve));
	}
}

/** Run a `:` command line as a person types it. */
async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/** The last line: prompt, notice or key hint. */
const bottom = (frame: string) => frame.split('\n').at(-1) ?? '';

const ctrlT = '\u0014';
const paste = (text: string) => `\u001B[200~${text}\u001B[201~`;

describe('send prompt', () => {
	it('enter sends the text and a LF; ctrl-t switches to CRLF and to none, and the prompt shows the ending and the byte count', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);

		await dashboard.type('s', 'send to C1 +LF ›');
		let frame = await dashboard.type('hello', 'hello');
		expect(bottom(frame)).toMatch(/send to C1 \+LF › hello.* 6 B/);
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString() === 'hello\n', 'hello and a LF');

		await dashboard.type('s', 'send to C1 +LF ›');
		await dashboard.type(ctrlT, 'send to C1 +CRLF ›');
		frame = await dashboard.type('hi', '4 B');
		expect(bottom(frame)).toMatch(/send to C1 \+CRLF › hi.* 4 B/);
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString() === 'hello\nhi\r\n', 'hi and a CRLF');

		// The choice stays for the next send; ctrl-t again: no ending.
		await dashboard.type('s', 'send to C1 +CRLF ›');
		await dashboard.type(ctrlT, 'send to C1 no ending ›');
		await dashboard.type('x', '1 B');
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString() === 'hello\nhi\r\nx', 'x alone');
	});

	it('a bracketed paste is kept whole, its line breaks shown as ⏎ and sent as the ending; a TAB in it is a TAB and a backslash a backslash', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);

		// CRLF for HTTP, then the request pasted as a terminal sends it (lines end in CR).
		await dashboard.type('s', 'send to C1 +LF ›');
		await dashboard.type(ctrlT, '+CRLF');
		const frame = await dashboard.type(paste('GET / HTTP/1.1\rHost: x\r\r'), 'GET / HTTP/1.1⏎Host: x⏎⏎');
		// Nothing was sent by the paste's line breaks: 14 + 2 + 7 + 2 + 2 bytes wait for enter.
		expect(bottom(frame)).toContain('27 B');
		expect(server.received().length).toBe(0);
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString() === 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'the whole request, once');

		await dashboard.type('s', 'send to C1');
		await dashboard.type(ctrlT, 'no ending');
		await dashboard.type(ctrlT, '+LF');
		// A pasted backslash is written as the prompt's escape for one (\\\\), so it is sent as it was.
		const pasted = await dashboard.type(paste('a\tb\\n'), 'a⇥b\\\\n');
		expect(bottom(pasted)).toContain('6 B');
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString().endsWith('a\tb\\n\n'), 'a TAB b backslash n LF');
	});

	it('a paste with no prompt open opens the send prompt with it instead of acting on its letters', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);
		// q and R in the paste would quit or reset if read as keys.
		const frame = await dashboard.type(paste('quit\rRESET'), 'send to C1 +LF › quit⏎RESET');
		expect(dashboard.quits()).toBe(0);
		expect(frame).not.toContain('reset C1 with a RST?');
		await dashboard.type(keys.enter, (current) => !current.includes('send to C1'));
		await until(() => server.received().toString() === 'quit\nRESET\n', 'the pasted lines');
	});

	it('a paste never answers a question: a y in it does not confirm a reset', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type('R', 'reset C1 with a RST?');
		dashboard.stdin.write(paste('yes'));
		await until(() => dashboard.store.getSnapshot().notices.at(-1)?.message.includes('paste ignored') ?? false, 'the paste refused');
		expect(dashboard.lastFrame()).toContain('reset C1 with a RST?');
		await dashboard.type(keys.escape, (frame) => !frame.includes('reset C1 with a RST?'));
		expect(dashboard.lastFrame()).toMatch(/C1 .*● open/);
	});

	it('esc cancels the send prompt and nothing is sent', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type('s', 'send to C1');
		await dashboard.type('never', 'never');
		await dashboard.type(keys.escape, (frame) => !frame.includes('send to C1'));
		// A later send arrives alone: the cancelled text never left.
		await dashboard.type('s', 'send to C1');
		await dashboard.type('after', 'after');
		await dashboard.type(keys.enter, (frame) => !frame.includes('send to C1'));
		await until(() => server.received().length >= 6, 'the later send');
		expect(server.received().toString()).toBe('after\n');
	});

	it('on a line-framed connection the framing adds the LF, and the prompt says so', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port} line`);
		await dashboard.see(/C1 .*● open/);
		await dashboard.type('s', 'send to C1 +LF by framing ›');
		await dashboard.type('hi', '3 B');
		await dashboard.type(keys.enter, (frame) => !frame.includes('send to C1'));
		await until(() => server.received().length >= 3, 'the line');
		expect(server.received().toString()).toBe('hi\n');
	});

	it('a TAB typed in a UDP send prompt completes the address of a peer that sent to the socket, and the datagram goes there with its LF', async () => {
		const dashboard = await open();
		await command(dashboard, 'udp 0');
		const port = Number(/127\.0\.0\.1:(\d+)\/udp/.exec(await dashboard.see(/127\.0\.0\.1:\d+\/udp/))![1]);
		const client = dgram.createSocket('udp4');
		cleanups.push(() => {
			client.close();
		});
		const replies: Buffer[] = [];
		client.on('message', (message) => replies.push(message));
		await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
		client.send('hello', port, '127.0.0.1');
		await dashboard.see('hello');

		await dashboard.type('s', 'sendto from U1 +LF ›');
		await dashboard.type('127.0', '127.0');
		await dashboard.type(keys.tab, `sendto from U1 +LF › 127.0.0.1:${client.address().port} `);
		await dashboard.type('pong', 'pong');
		await dashboard.type(keys.enter, (frame) => !frame.includes('sendto from U1'));
		await until(() => replies.length > 0, 'the reply datagram');
		expect(replies[0]!.toString()).toBe('pong\n');
	});

	it('a TAB typed in the command line completes, even inside a burst that ends in enter', async () => {
		const dashboard = await open();
		// One chunk, as tmux or a fast typist sends it: `:lis⇥0⏎`.
		await dashboard.type(':', 'tab completes');
		await dashboard.type('lis\t0\r');
		await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
	});
});

/** The facts a burst of keys changes: focused pane, the Log's socket, help open, the prompt line. */
function facts(frame: string): {focus: string; log: string; isHelp: boolean} {
	return {
		focus: /┏━ (\d \w+)/.exec(frame)?.[1] ?? '',
		log: /3 Log (\w+)/.exec(frame)?.[1] ?? '',
		isHelp: frame.includes('Prompt lines'),
	};
}

describe('keys act in order', () => {
	/** Two listeners and a connection: j in Listeners moves from L1 to L2. */
	async function setUp(): Promise<Dashboard> {
		const dashboard = await open();
		await command(dashboard, 'listen 0');
		await command(dashboard, 'listen 0');
		const port = /L1\s+127\.0\.0\.1:(\d+)/.exec(await dashboard.see(/L2\s+127\.0\.0\.1:\d+/))![1];
		await command(dashboard, `connect 127.0.0.1:${port}`);
		await dashboard.see(/C2 .*● open/);
		await dashboard.see((frame) => facts(frame).log === 'C1');
		// The Listeners cursor on L1 (the last :listen left it on L2), the focus back on Connections.
		await dashboard.type('1', (frame) => facts(frame).focus === '1 Listeners');
		await dashboard.type('g', (frame) => /┃›  ● L1 /.test(frame));
		await dashboard.type('2', (frame) => facts(frame).focus === '2 Connections');
		return dashboard;
	}

	it('`2⏎`, `1j⏎` and `?q` in one chunk do exactly what the same keys do one at a time', async () => {
		const oneByOne = await setUp();
		for (const key of ['2', '\r', '1', 'j', '\r', '?', 'q']) {
			const before = oneByOne.lastFrame();
			oneByOne.stdin.write(key);
			// Each key is seen before the next is typed.
			await waitForFrame(oneByOne.lastFrame, (frame) => frame !== before || key === '2' || key === '\r', `the frame after ${JSON.stringify(key)}`);
		}

		const slow = await oneByOne.see((frame) => facts(frame).log === 'L2' && !facts(frame).isHelp);

		const burst = await setUp();
		burst.stdin.write('2\r1j\r?q');
		const fast = await burst.see((frame) => facts(frame).log === 'L2' && !facts(frame).isHelp);

		expect(facts(fast)).toEqual(facts(slow));
		expect(facts(fast)).toEqual({focus: '1 Listeners', log: 'L2', isHelp: false});
		expect(burst.quits()).toBe(0);
	});

	it('`?jjjk` and `?Gkk` in one chunk scroll the help exactly as the same keys one at a time', async () => {
		/** The help's own line: `Keys — esc or ? closes · j/k scroll: lines 3–21 of 90`. */
		const where = (frame: string) => /j\/k scroll: lines (\d+–\d+ of \d+)/.exec(frame)?.[1];
		for (const keysTyped of ['?jjjk', '?Gkk']) {
			const oneByOne = await open();
			for (const key of keysTyped) {
				const before = where(oneByOne.lastFrame() ?? '');
				// Each key is seen before the next is typed (every one of them moves the help).
				await oneByOne.type(key, (frame) => where(frame) !== undefined && where(frame) !== before);
			}

			const slow = where(oneByOne.lastFrame() ?? '');
			const [, first, last, total] = /^(\d+)–(\d+) of (\d+)$/.exec(slow ?? '')!.map(Number);
			// Three down and one up is line 3; the end and two up ends two lines short of the last.
			expect(keysTyped === '?jjjk' ? first : last).toBe(keysTyped === '?jjjk' ? 3 : total! - 2);

			const burst = await open();
			burst.stdin.write(keysTyped);
			const fast = await burst.see((frame) => where(frame) === slow);
			expect(where(fast)).toBe(slow);
		}
	});

	it('`3r` in one chunk puts the rate chart in place of the Log; there `v` opens no entry, and `vr` brings the Log back', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see((frame) => facts(frame).log === 'C1');
		dashboard.stdin.write('3r');
		let frame = await dashboard.see('3 Rates');
		expect(frame).not.toContain('3 Log');
		expect(facts(frame).focus).toBe('3 Rates');
		// v and r in one chunk: v finds no entry under the chart, r toggles the chart off.
		dashboard.stdin.write('vr');
		frame = await dashboard.see((current) => facts(current).log === 'C1');
		expect(frame).not.toContain('Entry');
		// The Log's own keys are back with it.
		frame = await dashboard.type('v', '3 Entry');
		expect(frame).not.toContain('3 Log');
	});

	it('keys typed after the enter that sends a line act on the dashboard, in order', async () => {
		const dashboard = await open();
		const server = await peer();
		await command(dashboard, `connect 127.0.0.1:${server.port}`);
		await dashboard.see(/C1 .*● open/);
		dashboard.stdin.write('shi\r3');
		await until(() => server.received().toString() === 'hi\n', 'hi and a LF');
		await dashboard.see((frame) => facts(frame).focus === '3 Log');
	});
});
