import {execFileSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import stringWidth from 'string-width';
import {afterEach, beforeAll, describe, expect, it} from 'vitest';
import {commandLineUsages} from '../../source/core/command-line.js';
import {asAtATerminal, hasTmux, startInTmux, type TmuxSession} from '../helpers/tmux.js';
import {buildIfStale} from '../helpers/build.js';

/**
 * The built binary in tmux under different TERMs and sizes: what a person
 * at a VT100, the Linux console, a dumb terminal or an xterm sees, with the
 * raw bytes netdash wrote recorded by tmux's pipe-pane.
 */

const root = path.resolve(import.meta.dirname, '../..');
const node = path.join(root, 'node_modules/.bin/node');
const cli = path.join(root, 'dist/bin/cli.js');

if (!hasTmux) {
	console.warn('tmux is not installed: the terminal tests of the built binary are skipped (.ci/run installs it: apt-get install -y tmux)');
}

const cleanups: Array<() => void> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});


beforeAll(() => {
	if (hasTmux) {
		buildIfStale(cli);
	}
}, 120_000);

type Terminal = TmuxSession & {
	/** Everything netdash wrote to the terminal so far. */
	raw(): string;
	waitFor(predicate: (screen: string) => boolean, what: string): Promise<string>;
	exitCode(): Promise<number>;
};

/** netdash with `args` in a fresh tmux of `columns`×`rows`, with `environment` (e.g. `TERM=vt100`). */
function start(columns: number, rows: number, environment: string, args = ''): Terminal {
	const directory = mkdtempSync(path.join(tmpdir(), 'netdash-term-'));
	const rawFile = path.join(directory, 'raw');
	// Recording starts before netdash does: the shell waits for the pipe to be in place
	const ready = path.join(directory, 'ready');
	const session = startInTmux(`while [ ! -e "${ready}" ]; do sleep 0.05; done; ${asAtATerminal} ${environment} "${node}" "${cli}" ${args}`, {columns, rows, name: 'netdash-term'});
	session.tmux('pipe-pane', '-o', `cat >> "${rawFile}"`);
	execFileSync('touch', [ready]);
	cleanups.push(() => {
		session.close();
		rmSync(directory, {recursive: true, force: true});
	});
	return {
		...session,
		raw: () => (existsSync(rawFile) ? readFileSync(rawFile, 'latin1') : ''),
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
		async exitCode() {
			const deadline = Date.now() + 10_000;
			while (!existsSync(session.exitFile) || readFileSync(session.exitFile, 'utf8').trim() === '') {
				if (Date.now() > deadline) {
					throw new Error(`netdash did not exit; the screen:\n${session.screen()}`);
				}

				await sleep(25);
			}

			return Number(readFileSync(session.exitFile, 'utf8').trim());
		},
	};
}

const synchronizedOutput = '\u001B[?2026h';
const boxDrawing = /[\u2500-\u257F]/;

/**
 * The cells of a `capture-pane -e` line that carry SGR attribute `code`
 * (7 inverse, 4 underline), as the text they spell.
 */
function cellsWith(styledLine: string, code: string): string {
	let isOn = false;
	let text = '';
	for (const part of styledLine.split(/(\u001B\[[\d;]*m)/)) {
		const sgr = /^\u001B\[([\d;]*)m$/.exec(part);
		if (sgr) {
			for (const parameter of sgr[1]!.split(';')) {
				if (parameter === code) {
					isOn = true;
				} else if (parameter === '0' || parameter === '' || parameter === `2${code}`) {
					isOn = false;
				}
			}
		} else if (isOn) {
			text += part;
		}
	}

	return text;
}

describe.skipIf(!hasTmux)('terminals', () => {
	it('TERM=dumb gets one line pointing to --json instead of the dashboard, and exit code 2', async () => {
		const terminal = start(80, 24, 'TERM=dumb', '-l 0');
		expect(await terminal.exitCode()).toBe(2);
		const screen = terminal.screen();
		// One line (wrapped by the 80-column screen), nothing else
		expect(screen.trim().split('\n').join('')).toBe('netdash: this terminal (TERM=dumb) cannot draw the dashboard — use --json for JSON lines (see netdash --help)');
		expect(terminal.raw()).not.toContain('\u001B[?1049h');
	});

	for (const term of ['vt100', 'linux']) {
		it(`TERM=${term} gets ASCII borders and no synchronized output`, async () => {
			const terminal = start(80, 24, `TERM=${term}`, '-l 0');
			let screen = await terminal.waitFor((current) => current.includes('+- 1 Listeners'), 'the Listeners pane');
			// Focus moves: the focused pane is told apart by '='
			terminal.tmux('send-keys', '2');
			screen = await terminal.waitFor((current) => current.includes('+= 2 Connections'), 'Connections focused');
			expect(screen).toMatch(/^\+-+\+$/m);
			expect(screen).toMatch(/^-- 4 Discovery off/m);
			expect(screen).not.toMatch(boxDrawing);
			terminal.tmux('send-keys', '?');
			screen = await terminal.waitFor((current) => current.includes('Keys — esc or ? closes'), 'the help');
			expect(screen).not.toMatch(boxDrawing);
			expect(terminal.raw()).toContain('\u001B[?1049h');
			expect(terminal.raw()).not.toContain(synchronizedOutput);
		});
	}

	it('an xterm-like terminal keeps box drawing and synchronized output', async () => {
		const terminal = start(80, 24, 'TERM=xterm-256color', '-l 0');
		await terminal.waitFor((current) => current.includes('╭─ 1 Listeners'), 'the Listeners pane');
		terminal.tmux('send-keys', '2');
		await terminal.waitFor((current) => current.includes('┏━ 2 Connections'), 'Connections focused');
		expect(terminal.raw()).toContain(synchronizedOutput);
	});

	it('at 80×24 in a real terminal, r draws two minutes of rates in place of the Log, and ? reaches the last : command with G', async () => {
		const terminal = start(80, 24, 'TERM=xterm-256color', '-l 0');
		await terminal.waitFor((current) => current.includes('╭─ 3 Log'), 'the Log');
		terminal.tmux('send-keys', 'r');
		let screen = await terminal.waitFor((current) => current.includes('3 Rates (last 2 min · r: back to the log)'), 'the rate chart');
		expect(screen).toMatch(/│ all netdash\s+← in 0 B\/s\s+→ out 0 B\/s/);
		expect(screen.trimEnd().split('\n')).toHaveLength(24);
		terminal.tmux('send-keys', '?');
		await terminal.waitFor((current) => current.includes('j/k scroll'), 'the help');
		terminal.tmux('send-keys', 'G');
		screen = await terminal.waitFor((current) => /lines \d+–(\d+) of \1/.test(current), 'the end of the help');
		expect(screen).toContain(`║ ${commandLineUsages.at(-1)!.usage}`);
	});

	for (const [columns, rows] of [[80, 24], [120, 40], [200, 60]] as const) {
		it(`at ${columns}×${rows} the row under the cursor is in inverse video across the pane's whole width, and underlined under NO_COLOR`, async () => {
			for (const [environment, code] of [['TERM=xterm-256color', '7'], ['TERM=xterm-256color NO_COLOR=1', '4']] as const) {
				const terminal = start(columns, rows, environment, '-l 0 -l 0');
				await terminal.waitFor((current) => /L2\s+127\.0\.0\.1/.test(current), 'two listeners');
				terminal.tmux('send-keys', '1');
				const screen = await terminal.waitFor((current) => current.includes('┏━ 1 Listeners'), 'Listeners focused');
				const width = stringWidth(screen.split('\n')[0]!.replace(/[┓╮].*$/, '')) - 1;
				const styled = terminal.tmux('capture-pane', '-p', '-e').split('\n');
				const cursorLine = styled.findIndex((line) => line.includes('› '));
				expect(cursorLine, `a cursor row on\n${screen}`).toBeGreaterThan(0);
				const highlighted = cellsWith(styled[cursorLine]!, code);
				// The whole inside of the pane, from the cursor glyph to the right border, and only on that row
				expect(highlighted).toMatch(/^›\s+● L1\s+127\.0\.0\.1:\d+/);
				expect(stringWidth(highlighted), `${environment}: ${JSON.stringify(highlighted)}`).toBe(width);
				expect(styled.filter((line, index) => index !== cursorLine && cellsWith(line, code).trim() !== '')).toEqual([]);
				terminal.close();
			}
		});
	}
});
