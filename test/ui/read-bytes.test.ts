import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {hexDump} from '../../source/core/format/index.js';
import {dashboardsForEachTest, keys, type Dashboard} from '../helpers/ink.js';

const {open, cleanups} = dashboardsForEachTest();

/**
 * A loopback server that writes `bytes` to the first client (and ends, when
 * asked), and the dashboard dialled to it with `framing`: C1 in the Log.
 */
async function receive(dashboard: Dashboard, bytes: Buffer, {framing = '', isEnded = false} = {}): Promise<void> {
	const accepted: net.Socket[] = [];
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		accepted.push(socket);
		if (isEnded) {
			socket.end(bytes);
		} else {
			socket.write(bytes);
		}
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of accepted) {
			socket.destroy();
		}

		await new Promise((resolve) => server.close(resolve));
	});
	await dashboard.type(':', 'tab completes');
	const line = `connect 127.0.0.1:${(server.address() as net.AddressInfo).port}${framing ? ` ${framing}` : ''}`;
	await dashboard.type(line, `:${line}`);
	await dashboard.type(keys.enter, (frame) => /3 Log C1/.test(frame));
}

const bottom = (frame: string) => frame.split('\n').at(-1) ?? '';

describe('read every byte', () => {
	it('enter on a log entry opens it in full: time, direction, size, the text wrapped with offsets and the hex dump, scrolled with j and G, typed one at a time or at once; esc closes', async () => {
		const dashboard = await open();
		// 40 lines of 24 bytes: 960 bytes in one chunk, far more than a log line shows.
		const text = Array.from({length: 40}, (_, index) => `line ${String(index + 1).padStart(2, '0')} of the response\n`).join('');
		await receive(dashboard, Buffer.from(text));
		await dashboard.see('960 B');

		await dashboard.type('3', '┏━ 3 Log');
		let frame = await dashboard.type(keys.enter, '3 Entry');
		expect(frame).toMatch(/← in\s+\d\d:\d\d:\d\d\.\d{3}\s+960 B chunk/);
		expect(frame).toContain('00000000  line 01 of the response\\n');
		expect(frame).toContain('00000018  line 02 of the response\\n');
		expect(frame).toMatch(/lines 1–\d+ of \d+/);

		frame = await dashboard.type('j', /lines 2–/);
		expect(frame).not.toContain('text (offset');
		frame = await dashboard.type('j', /lines 3–/);
		expect(frame).not.toContain('00000000  line 01');
		expect(frame).toContain('00000018  line 02');

		// G: the end of the hex dump, its last line at offset 0x3b0 (944).
		frame = await dashboard.type('G', hexDump(Buffer.from(text)).at(-1)!);
		expect(frame).toContain('000003b0  ');
		expect(frame).toContain('e response.|');

		frame = await dashboard.type(keys.escape, (current) => !current.includes('3 Entry'));
		expect(frame).toContain('┏━ 3 Log C1');

		// Keys of one burst scroll it as typed one at a time: enter opens, jjjk goes to line 3.
		frame = await dashboard.type(`${keys.enter}jjjk`, /3 Entry.*lines 3–/);
		expect(frame).toContain('00000018  line 02');
	});

	it('the text view shows a backslash as \\\\, so the bytes \\t and a TAB read apart', async () => {
		const dashboard = await open();
		await receive(dashboard, Buffer.from('a\\tb\tc'));
		const frame = await dashboard.see('6 B');
		expect(frame).toContain(String.raw`a\\tb\tc`);
	});

	it('u16 framing shows each message with its length prefix, and a message left unfinished at FIN as partial, N bytes', async () => {
		const dashboard = await open();
		// `hello`, then a frame that says 9 bytes but brings 3 before the peer's FIN.
		await receive(dashboard, Buffer.from([0, 5, ...Buffer.from('hello'), 0, 9, ...Buffer.from('abc')]), {framing: 'u16', isEnded: true});
		const frame = await dashboard.see('partial, 5 bytes');
		expect(frame).toContain('⟨00 05⟩ hello');
		expect(frame).not.toContain('abc');
	});

	it('line framing marks each line\'s end, ⏎ for LF and ␍⏎ for CRLF, and a last line without one is partial', async () => {
		const dashboard = await open();
		await receive(dashboard, Buffer.from('one\r\ntwo\nthr'), {framing: 'line', isEnded: true});
		const frame = await dashboard.see('partial, 3 bytes');
		// The CRLF of `one` and the LF of `two` read apart.
		expect(frame).toContain('one␍⏎');
		expect(frame).toMatch(/two⏎/);
		expect(frame).not.toContain('two␍⏎');

		// In full, the entry says what the ⏎ stands for.
		await dashboard.type('3', '┏━ 3 Log');
		await dashboard.type('g', /› .*connecting to/);
		await dashboard.type('j', /› .*connected:/);
		await dashboard.type('j', /› .*one␍⏎/);
		await dashboard.type('j', /› .*two⏎/);
		const full = await dashboard.type('v', '3 Entry');
		expect(full).toContain('⏎ ended by LF (0a, not in the bytes)');
	});

	it('y copies the entry under the cursor with OSC 52, as text or, in the hex view, as its hex dump, and says so', async () => {
		const dashboard = await open();
		await receive(dashboard, Buffer.from('copy me\x00'));
		await dashboard.see('8 B');
		await dashboard.type('3', '┏━ 3 Log');

		let frame = await dashboard.type('y', 'copied 8 B to the clipboard (OSC 52)');
		expect(dashboard.stdout.frames).toContain(`\u001B]52;c;${Buffer.from('copy me\x00').toString('base64')}\u0007`);
		expect(bottom(frame)).toContain('copied 8 B');

		await dashboard.type('x', '· hex ·');
		frame = await dashboard.type('y', 'copied 8 B as hex');
		const dump = `${hexDump(Buffer.from('copy me\x00')).join('\n')}\n`;
		expect(dashboard.stdout.frames).toContain(`\u001B]52;c;${Buffer.from(dump).toString('base64')}\u0007`);
	});
});
