import {existsSync, readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {asAtATerminal, hasTmux, startInTmux} from '../helpers/tmux.js';
import {buildIfStale} from '../helpers/build.js';

/**
 * The real built binary in a real pseudo-terminal: tmux runs it, keys go in
 * with send-keys, and the screen comes back with capture-pane.
 */

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/bin/cli.js');

const cleanups: Array<() => void> = [];

afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});


beforeAll(() => {
	// `npm test` builds first; a bare `vitest run` gets a build when dist is older than the source.
	const built = path.join(root, 'dist/ui/app.js');
	if (hasTmux) {
		buildIfStale(built);
	}
}, 120_000);

/** One netdash in its own tmux server; killed after the test whatever happens. */
type Terminal = {
	keys(...keys: string[]): void;
	/** Type text literally (no key names). */
	text(text: string): void;
	screen(): string;
	/** The screen with its colours and attributes as escape sequences. */
	styledScreen(): string;
	/** `#{…}` of the pane, e.g. `alternate_on`. */
	format(name: string): string;
	/** Poll the screen until `predicate` holds; fail with the last screen. */
	waitFor(predicate: (screen: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
	/** Poll for the exit code the shell wrote after netdash ended. */
	exitCode(timeoutMs?: number): Promise<number>;
	/** The process id of netdash itself (the shell's child). */
	pid(): number;
	resize(columns: number, rows: number): void;
};

function start(columns: number, rows: number, environment = '', script = cli): Terminal {
	// The shell stays after netdash exits so the restored screen can be read.
	const session = startInTmux(`${asAtATerminal} ${environment} "${node}" "${script}"`, {columns, rows, name: 'netdash-test'});
	cleanups.push(() => {
		session.close();
	});
	const {tmux, screen, exitFile} = session;
	const waitFor = async (predicate: (text: string) => boolean, what: string, timeoutMs = 10_000) => {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const text = screen();
			if (predicate(text)) {
				return text;
			}

			if (Date.now() > deadline) {
				throw new Error(`timed out waiting for ${what}; the screen:\n${text}`);
			}

			await sleep(25);
		}
	};

	return {
		keys(...keys) {
			tmux('send-keys', ...keys);
		},
		text(text) {
			tmux('send-keys', '-l', text);
		},
		screen,
		styledScreen: () => tmux('capture-pane', '-p', '-e'),
		format: (name) => tmux('display', '-p', `#{${name}}`).trim(),
		waitFor,
		async exitCode(timeoutMs = 10_000) {
			const deadline = Date.now() + timeoutMs;
			while (!existsSync(exitFile) || readFileSync(exitFile, 'utf8').trim() === '') {
				if (Date.now() > deadline) {
					throw new Error(`netdash did not exit within ${timeoutMs} ms; the screen:\n${screen()}`);
				}

				await sleep(25);
			}

			return Number(readFileSync(exitFile, 'utf8').trim());
		},
		pid() {
			const shell = Number(tmux('display', '-p', '#{pane_pid}').trim());
			const child = childOf(shell);
			if (child === undefined) {
				throw new Error(`no process under the pane's shell ${shell}; the screen:\n${screen()}`);
			}

			return child;
		},
		resize(newColumns, newRows) {
			tmux('resize-window', '-x', String(newColumns), '-y', String(newRows));
		},
	};
}

/** The first child of `parent`, from /proc (pgrep is not on every CI image). */
function childOf(parent: number): number | undefined {
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) {
			continue;
		}

		try {
			// pid (comm) state ppid …: comm may hold spaces, so read after its closing parenthesis.
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
			if (ppid === parent) {
				return Number(entry);
			}
		} catch {
			// The process ended while we looked.
		}
	}

	return undefined;
}

const titles = ['1 Listeners', '2 Connections', '3 Log', '4 Discovery'];

async function started(terminal: Terminal): Promise<string> {
	return terminal.waitFor((screen) => titles.every((title) => screen.includes(title)), 'the four pane titles');
}

describe('the built binary in a pseudo-terminal', () => {
	skipEachIf(missingTool('tmux'));
	it('starts on the alternate screen at 80×24, takes :listen 0, re-lays out at 200×60, and q + y leaves with exit code 0 and the screen restored', async () => {
		// CI=true as on a CI runner, where Ink would otherwise turn itself non-interactive
		const terminal = start(80, 24, 'CI=true');
		let screen = await started(terminal);
		expect(terminal.format('alternate_on')).toBe('1');
		expect(screen.trimEnd().split('\n').length).toBeLessThanOrEqual(24);

		// Keys: the command line opens a listener
		terminal.keys(':');
		await terminal.waitFor((text) => text.includes('tab completes'), 'the command line');
		terminal.text('listen 0');
		await terminal.waitFor((text) => text.includes(':listen 0'), 'the typed command');
		terminal.keys('Enter');
		screen = await terminal.waitFor((text) => /L1\s+127\.0\.0\.1:\d+/.test(text), 'the new listener');
		expect(screen).toMatch(/Listeners \(1 open\)/);

		// A bigger window gets more columns
		terminal.resize(200, 60);
		screen = await terminal.waitFor((text) => text.includes('rate in'), 'the wide layout');
		expect(screen.split('\n').some((line) => line.length > 150)).toBe(true);

		// q asks because a socket is open; y quits
		terminal.keys('q');
		await terminal.waitFor((text) => text.includes('1 socket is open: close it and quit?'), 'the quit question');
		terminal.keys('y');
		expect(await terminal.exitCode()).toBe(0);
		expect(terminal.format('alternate_on')).toBe('0');
		expect(terminal.screen()).not.toContain('Listeners');
	});

	it('colours carry meaning, and with NO_COLOR there are none while states still read as glyphs and words', async () => {
		const coloured = start(100, 30);
		await started(coloured);
		expect(coloured.styledScreen()).toMatch(/\u001B\[\d+m/);

		const plain = start(100, 30, 'NO_COLOR=1');
		await started(plain);
		plain.keys(':');
		await plain.waitFor((text) => text.includes('tab completes'), 'the command line');
		plain.text('listen 0');
		await plain.waitFor((text) => text.includes(':listen 0'), 'the typed command');
		plain.keys('Enter');
		const screen = await plain.waitFor((text) => /● L1\s+127\.0\.0\.1:\d+.*listening/.test(text), 'the listener with its glyph and state word');
		expect(screen).toContain('┏━ 2 Connections');
		expect(plain.styledScreen()).not.toContain('\u001B[');
	});

	it('ctrl-c quits at once with exit code 0 and restores the screen', async () => {
		const terminal = start(100, 30);
		await started(terminal);
		terminal.keys(':');
		await terminal.waitFor((text) => text.includes('tab completes'), 'the command line');
		terminal.keys('C-c');
		expect(await terminal.exitCode()).toBe(0);
		expect(terminal.format('alternate_on')).toBe('0');
	});

	it('an uncaught exception restores the screen first, then prints one line (no stack trace) and exits 1', async () => {
		const terminal = start(100, 30, '', path.join(root, 'test/ui/fixtures/crash-dashboard.mjs'));
		await started(terminal);
		expect(terminal.format('alternate_on')).toBe('1');
		process.kill(terminal.pid(), 'SIGUSR2');
		expect(await terminal.exitCode()).toBe(1);
		expect(terminal.format('alternate_on')).toBe('0');
		const screen = terminal.screen();
		expect(screen).toContain('netdash: crashed: boom from a timer');
		expect(screen).not.toContain('at somewhere');
		expect(screen).not.toContain('Listeners');
	});

	it('SIGINT and SIGTERM close it cleanly: exit code 0 and the screen restored', async () => {
		for (const signal of ['SIGINT', 'SIGTERM'] as const) {
			const terminal = start(100, 30);
			await started(terminal);
			process.kill(terminal.pid(), signal);
			expect(await terminal.exitCode(), signal).toBe(0);
			expect(terminal.format('alternate_on'), signal).toBe('0');
		}
	});
});
