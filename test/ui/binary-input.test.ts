import {existsSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {asAtATerminal, hasTmux, startInTmux, type TmuxSession} from '../helpers/tmux.js';
import {buildIfStale} from '../helpers/build.js';

/**
 * The built binary in tmux, for what only a real terminal does: a
 * bracketed paste (`paste-buffer -p`), keys arriving in one burst
 * (`send-keys -l`), and OSC 52 reaching the terminal's clipboard.
 */

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/bin/cli.js');

if (!hasTmux) {
	console.warn('tmux is not installed: tests of paste and key bursts in a pseudo-terminal are skipped (.ci/run installs it: apt-get install -y tmux)');
}

const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});


beforeAll(() => {
	const built = path.join(root, 'dist/ui/app.js');
	if (hasTmux) {
		buildIfStale(built);
	}
}, 120_000);

/** netdash with `args` in its own tmux server. */
function start(args: string): TmuxSession & {waitFor: (predicate: (screen: string) => boolean, what: string) => Promise<string>} {
	const session = startInTmux(`${asAtATerminal} "${node}" "${cli}" ${args}`, {columns: 100, rows: 30, name: 'netdash-input'});
	cleanups.push(() => {
		session.close();
	});
	return {
		...session,
		async waitFor(predicate, what) {
			const deadline = Date.now() + 10_000;
			for (;;) {
				const screen = session.screen();
				if (predicate(screen)) {
					return screen;
				}

				if (Date.now() > deadline) {
					throw new Error(`timed out waiting for ${what}; the screen:\n${screen}`);
				}

				await sleep(25);
			}
		},
	};
}

/** A loopback server that keeps what it receives and greets each client with `greeting`. */
async function server(greeting: string): Promise<{port: number; received: () => string}> {
	let received = '';
	const sockets: net.Socket[] = [];
	const listener = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk) => {
			received += chunk.toString('latin1');
		});
		socket.write(greeting);
		sockets.push(socket);
	});
	await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
	cleanups.push(async () => {
		for (const socket of sockets) {
			socket.destroy();
		}

		await new Promise((resolve) => listener.close(resolve));
	});
	return {port: (listener.address() as net.AddressInfo).port, received: () => received};
}

async function until(predicate: () => boolean, what: string): Promise<void> {
	const deadline = Date.now() + 10_000;
	while (!predicate()) {
		if (Date.now() > deadline) {
			throw new Error(`timed out waiting for ${what}`);
		}

		await sleep(25);
	}
}

describe.skipIf(!hasTmux)('the built binary: paste, bursts and the clipboard in a real terminal', () => {
	it('--connect shows its dial in the Log; a bracketed paste from tmux arrives whole and is sent once on enter; y puts the entry in tmux\'s clipboard', async () => {
		const peer = await server('hello from the server');
		const terminal = start(`--connect 127.0.0.1:${peer.port}`);
		await terminal.waitFor((screen) => /3 Log C1 /.test(screen) && screen.includes('hello from the server'), 'the dial in the Log, greeting and all');

		// tmux turns the buffer's LFs into CRs and, with -p, brackets the paste as a terminal does.
		terminal.tmux('set-buffer', '-b', 'request', 'GET / HTTP/1.1\nHost: x\n\n');
		terminal.tmux('send-keys', 's');
		await terminal.waitFor((screen) => screen.includes('send to C1 +LF ›'), 'the send prompt');
		terminal.tmux('paste-buffer', '-p', '-b', 'request');
		await terminal.waitFor((screen) => screen.includes('GET / HTTP/1.1⏎Host: x⏎⏎') && screen.includes('24 B'), 'the whole paste in the prompt');
		expect(peer.received()).toBe('');
		terminal.tmux('send-keys', 'Enter');
		await until(() => peer.received() === 'GET / HTTP/1.1\nHost: x\n\n', 'the request, whole and once');

		// OSC 52 from y lands in tmux's clipboard (its buffer) when tmux accepts it.
		terminal.tmux('set-option', '-s', 'set-clipboard', 'on');
		terminal.tmux('send-keys', '3');
		await terminal.waitFor((screen) => screen.includes('┏━ 3 Log'), 'the Log focused');
		terminal.tmux('send-keys', 'k', 'y');
		await terminal.waitFor((screen) => screen.includes('copied 21 B to the clipboard'), 'the copy said');
		await until(() => {
			try {
				return terminal.tmux('show-buffer') === 'hello from the server';
			} catch {
				return false;
			}
		}, 'the greeting in tmux\'s buffer');
	});

	it('keys sent in one burst (send-keys -l `2⏎1j⏎?q`) act in order, as typed one by one', async () => {
		const peer = await server('');
		const terminal = start(`--listen 0 --listen 0 --connect 127.0.0.1:${peer.port}`);
		await terminal.waitFor((screen) => /3 Log C1 /.test(screen) && /L2\s+127\.0\.0\.1:\d+/.test(screen), 'two listeners and the dial in the Log');
		terminal.tmux('send-keys', '-l', '2\r1j\r?q');
		const screen = await terminal.waitFor((text) => /3 Log L2 /.test(text) && !text.includes('Prompt lines'), 'L2 in the Log, help closed');
		expect(screen).toContain('┏━ 1 Listeners');
		// q closed the help: it did not quit.
		expect(existsSync(terminal.exitFile)).toBe(false);
	});
});
