import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {asAtATerminal, hasTmux, startInTmux} from '../helpers/tmux.js';
import {buildIfStale} from '../helpers/build.js';

/*
 * K in the System pane, on the real binary in a real terminal (tmux), run
 * in a network namespace the test makes, beside a socat connection there:
 * as root the kernel destroys the socket (ss -K), as nobody netdash says
 * why it cannot.
 */

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/bin/cli.js');
const isRoot = process.getuid?.() === 0;

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});

beforeAll(() => {
	if (hasTmux) {
		buildIfStale();
	}
}, 120_000);

let namespaces = 0;

/** A namespace with loopback up, a socat listener on 127.0.0.1:7001 and a socat client connected to it. */
async function socatPairInNamespace(): Promise<{ns: string; client: ChildProcess; clientPort: number}> {
	const ns = `nd-kill-${process.pid}-${++namespaces}`;
	execFileSync('ip', ['netns', 'add', ns]);
	cleanups.push(() => {
		execFileSync('ip', ['netns', 'del', ns]);
	});
	execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
	const inNs = (command: string[]) => {
		// Pipes keep both sockets open: socat ends a direction when its stdin does.
		const child = spawn('ip', ['netns', 'exec', ns, ...command], {stdio: 'pipe'});
		cleanups.push(() => {
			child.kill('SIGKILL');
		});
		return child;
	};

	inNs(['socat', 'TCP-LISTEN:7001,bind=127.0.0.1,reuseaddr', '-']);
	const deadline = Date.now() + 10_000;
	const listening = () => execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tlnH', 'sport', '=', ':7001'], {encoding: 'utf8'}).trim() !== '';
	while (!listening()) {
		if (Date.now() > deadline) {
			throw new Error('socat never listened on 7001');
		}

		await sleep(20);
	}

	const client = inNs(['socat', '-', 'TCP:127.0.0.1:7001']);
	for (;;) {
		const line = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tnH', 'state', 'established', 'dport', '=', ':7001'], {encoding: 'utf8'}).trim();
		const port = /127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:7001/.exec(line)?.[1];
		if (port) {
			return {ns, client, clientPort: Number(port)};
		}

		if (Date.now() > deadline) {
			throw new Error('socat never connected');
		}

		await sleep(20);
	}
}

/** netdash in the namespace, in tmux at 100×30, optionally under a prefix (setpriv). */
function netdashIn(ns: string, prefix = '') {
	const session = startInTmux(`${asAtATerminal} ip netns exec ${ns} ${prefix} "${node}" "${cli}"`, {columns: 100, rows: 30, name: 'netdash-kill'});
	cleanups.push(() => {
		session.close();
	});
	const waitFor = async (predicate: (screen: string) => boolean, what: string) => {
		const deadline = Date.now() + 15_000;
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
	};

	return {
		keys: (...keys: string[]) => session.tmux('send-keys', ...keys),
		text: (text: string) => session.tmux('send-keys', '-l', text),
		waitFor,
	};
}

/** In the System pane, keep only the client's connection to 7001. */
async function showClient(terminal: ReturnType<typeof netdashIn>, clientPort: number) {
	await terminal.waitFor((screen) => screen.includes('1 Listeners'), 'the dashboard');
	terminal.keys('5');
	await terminal.waitFor((screen) => screen.includes('5 System'), 'the System pane');
	terminal.keys('/');
	terminal.text(`:${clientPort} estab`);
	terminal.keys('Enter');
	return terminal.waitFor((screen) => new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:7001\\s+ESTAB.*socat`).test(screen), 'the client\'s connection');
}

describe('K in the System pane', () => {
	skipEachIf(
		(hasTmux ? undefined : 'tmux is not installed (apt-get install tmux)')
		?? missingTool('socat')
		?? missingTool('ss', 'iproute2')
		?? missingTool('setpriv', 'util-linux')
		?? (isRoot ? undefined : 'not root: the test makes a network namespace and runs netdash as root and as nobody (CI runs as root)')
		?? whyNoNetns(),
	);

	it('as root, K then y destroys another program\'s TCP connection: socat sees it aborted and the row goes', async () => {
		const {ns, client, clientPort} = await socatPairInNamespace();
		const exited = new Promise<number | null>((resolve) => client.once('exit', resolve));
		const terminal = netdashIn(ns);
		await showClient(terminal, clientPort);

		terminal.keys('K');
		await terminal.waitFor((screen) => screen.includes(`destroy tcp 127.0.0.1:${clientPort} → 127.0.0.1:7001`), 'the question');
		terminal.keys('y');
		await terminal.waitFor((screen) => screen.includes(`✓ destroyed tcp 127.0.0.1:${clientPort} → 127.0.0.1:7001`), 'the destroy said');
		// socat's connection was aborted under it: it exits.
		expect(await exited).not.toBeNull();
		await terminal.waitFor((screen) => !new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:7001\\s+ESTAB`).test(screen), 'the row gone');
		const left = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tnH', 'state', 'established', 'sport', '=', `:${clientPort}`], {encoding: 'utf8'});
		expect(left.trim()).toBe('');
	});

	it('as nobody, K says it needs root and socat\'s connection stays', async () => {
		const {ns, client, clientPort} = await socatPairInNamespace();
		const terminal = netdashIn(ns, 'setpriv --reuid=nobody --regid=nogroup --clear-groups');
		// As nobody, root's socat shows ? with its uid, and the filter still finds it by port and state.
		await terminal.waitFor((screen) => screen.includes('1 Listeners'), 'the dashboard');
		terminal.keys('5');
		terminal.keys('/');
		terminal.text(`:${clientPort} estab`);
		terminal.keys('Enter');
		await terminal.waitFor((screen) => new RegExp(`127\\.0\\.0\\.1:${clientPort} → 127\\.0\\.0\\.1:7001\\s+ESTAB\\s+0/0\\s+\\? uid 0`).test(screen), 'the client\'s connection, owner unknown');

		terminal.keys('K');
		const screen = await terminal.waitFor((text) => text.includes('K needs root'), 'the refusal');
		expect(screen).not.toContain('destroy tcp');
		expect(client.exitCode).toBeNull();
		const left = execFileSync('ip', ['netns', 'exec', ns, 'ss', '-tnH', 'state', 'established', 'sport', '=', `:${clientPort}`], {encoding: 'utf8'});
		expect(left).toContain('7001');
	});
});
