import {EventEmitter} from 'node:events';
import {setTimeout as sleep} from 'node:timers/promises';
import {render, type Instance} from 'ink';
import type {ReactElement} from 'react';
import {Screen} from '../bench/lib/virtual-terminal.js';
import {dashboardRenderOptions} from '../../source/ui/render-options.js';

/**
 * A fake terminal for Ink's real interactive path (the one run.tsx uses:
 * `interactive`, `incrementalRendering`, log-update's cursor moves), unlike
 * ink-testing-library's `debug` mode, which writes whole frames and no
 * control sequence at all.
 *
 * Every write is kept, replayed on the bench's screen model (cursor moves
 * and erases, as a terminal does) so a test can wait for what a person
 * would see, and scanned for anything Ink itself never writes: Ink's own
 * vocabulary (FORCE_COLOR=0, no alternate screen) is cursor movement, erase,
 * cursor show/hide and synchronized-output brackets. Every other escape
 * sequence, every C1 control, bidi or zero-width control and every C0
 * control but LF is counted as a leak.
 */

/** One thing written to the terminal that Ink would not have written. */
export type Leak = {
	/** `sgr`, `osc`, `dcs`, `csi`, `esc`, `c0`, `c1` or `bidi`. */
	kind: string;
	/** The characters, as JSON, for the failure message. */
	text: string;
	/** Code points of the leak that are ESC, C0, C1 or bidi controls. */
	controls: number;
};

/** CSI sequences Ink 8 writes itself (ansi-escapes' cursor and erase forms, DECTCEM, synchronized output, bracketed paste mode for usePaste). */
const inkCsi = /^\u001B\[(?:\d*[ABCDEFG]|\d+;\d+H|0?J|[012]?K|\?25[hl]|\?2026[hl]|\?2004[hl])$/;
const bidiOrInvisible = /[\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/u;

function isControl(char: string): boolean {
	const code = char.codePointAt(0)!;
	return code < 0x20 || code === 0x7F || (code >= 0x80 && code <= 0x9F) || bidiOrInvisible.test(char);
}

function countControls(text: string): number {
	return [...text].filter((char) => isControl(char)).length;
}

/** The end of the escape sequence starting at `start` (an ESC), exclusive; the string's end when it is cut. */
function sequenceEnd(text: string, start: number): {end: number; kind: string} {
	const next = text[start + 1];
	if (next === '[') {
		let index = start + 2;
		while (index < text.length && /[0-?]/.test(text[index]!)) {
			index++;
		}

		while (index < text.length && /[ -/]/.test(text[index]!)) {
			index++;
		}

		return {end: Math.min(text.length, index + 1), kind: text[index] === 'm' ? 'sgr' : 'csi'};
	}

	if (next === ']' || next === 'P' || next === '_' || next === '^' || next === 'X') {
		// A string sequence: up to BEL or ST (ESC \).
		for (let index = start + 2; index < text.length; index++) {
			if (text[index] === '\u0007') {
				return {end: index + 1, kind: next === ']' ? 'osc' : 'dcs'};
			}

			if (text[index] === '\u001B' && text[index + 1] === '\\') {
				return {end: index + 2, kind: next === ']' ? 'osc' : 'dcs'};
			}
		}

		return {end: text.length, kind: next === ']' ? 'osc' : 'dcs'};
	}

	return {end: Math.min(text.length, start + 2), kind: 'esc'};
}

/** A terminal of `columns` × `rows` fed with what Ink writes: every chunk kept, scanned for leaks and drawn. */
export class FakeTerminal extends EventEmitter {
	readonly isTTY = true;
	readonly columns: number;
	readonly rows: number;
	/** Every chunk written, in order. */
	readonly writes: string[] = [];
	readonly leaks: Leak[] = [];
	/** Titles set with OSC 0 or OSC 2 (there must be none). */
	readonly titles: string[] = [];
	readonly #screen: Screen;

	constructor(columns: number, rows: number) {
		super();
		this.columns = columns;
		this.rows = rows;
		this.#screen = new Screen(columns, rows);
	}

	/** Characters written so far. */
	get writtenChars(): number {
		return this.writes.reduce((sum, chunk) => sum + chunk.length, 0);
	}

	/** Control code points among the leaks. */
	get leakedControls(): number {
		return this.leaks.reduce((sum, leak) => sum + leak.controls, 0);
	}

	/** The screen as text, one line per row. */
	screen(): string {
		return this.#screen.text();
	}

	/** Stream-compatible write: the chunk is kept, scanned and drawn. */
	write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((error?: Error | null) => void), callback?: (error?: Error | null) => void): boolean {
		const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
		this.writes.push(text);
		this.#scan(text);
		this.#screen.write(text);
		const done = typeof encoding === 'function' ? encoding : callback;
		done?.();
		return true;
	}

	#scan(text: string): void {
		let index = 0;
		while (index < text.length) {
			const char = text[index]!;
			if (char === '\u001B') {
				const {end, kind} = sequenceEnd(text, index);
				const sequence = text.slice(index, end);
				if (kind !== 'csi' || !inkCsi.test(sequence)) {
					this.leaks.push({kind, text: JSON.stringify(sequence), controls: countControls(sequence)});
					const title = /^\u001B\][02];([^\u0007\u001B]*)/.exec(sequence);
					if (title) {
						this.titles.push(title[1]!);
					}
				}

				index = end;
				continue;
			}

			const glyph = String.fromCodePoint(text.codePointAt(index)!);
			index += glyph.length;
			if (glyph !== '\n' && isControl(glyph)) {
				const code = glyph.codePointAt(0)!;
				this.leaks.push({kind: code < 0x20 || code === 0x7F ? 'c0' : code <= 0x9F ? 'c1' : 'bidi', text: JSON.stringify(glyph), controls: 1});
			}
		}
	}
}

/** Keyboard input for Ink, as ink-testing-library's stdin gives it. */
export class FakeKeyboard extends EventEmitter {
	readonly isTTY = true;
	#data: string | null = null;

	/** Type text (or a key sequence). */
	write(data: string): void {
		this.#data = data;
		this.emit('readable');
		this.emit('data', data);
	}

	read(): string | null {
		const data = this.#data;
		this.#data = null;
		return data;
	}

	setEncoding(): void {}
	setRawMode(): void {}
	resume(): void {}
	pause(): void {}
	ref(): void {}
	unref(): void {}
}

/** An element rendered by Ink's interactive path into a {@link FakeTerminal}. */
export type TerminalRender = {
	readonly terminal: FakeTerminal;
	readonly keyboard: FakeKeyboard;
	readonly instance: Instance;
	/** Wait until the screen shows `expected` (described as `what` on failure); fails with the last screen. */
	see(expected: string | RegExp | ((screen: string) => boolean), timeoutMs?: number, what?: string): Promise<string>;
	/** Type, then wait for `expected` when given. */
	type(text: string, expected?: string | RegExp | ((screen: string) => boolean)): Promise<string>;
	unmount(): void;
};

/** Render with the options run.tsx uses (minus the alternate screen) into a fake terminal. */
export function renderInTerminal(element: ReactElement, size: {columns: number; rows: number}): TerminalRender {
	const terminal = new FakeTerminal(size.columns, size.rows);
	const keyboard = new FakeKeyboard();
	const errors = new FakeTerminal(size.columns, size.rows);
	const instance = render(element, {
		stdout: terminal as unknown as NodeJS.WriteStream,
		stderr: errors as unknown as NodeJS.WriteStream,
		stdin: keyboard as unknown as NodeJS.ReadStream,
		debug: false,
		exitOnCtrlC: false,
		patchConsole: false,
		interactive: true,
		incrementalRendering: true,
		maxFps: dashboardRenderOptions.maxFps,
	});
	const see = async (expected: string | RegExp | ((screen: string) => boolean), timeoutMs = 8000, what = String(expected)): Promise<string> => {
		const matches = typeof expected === 'string' ? (screen: string) => screen.includes(expected) : expected instanceof RegExp ? (screen: string) => expected.test(screen) : expected;
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const screen = terminal.screen();
			if (matches(screen)) {
				return screen;
			}

			if (Date.now() > deadline) {
				throw new Error(`timed out after ${timeoutMs} ms waiting for the screen to show ${what}; last screen:\n${screen}`);
			}

			await sleep(10);
		}
	};

	return {
		terminal,
		keyboard,
		instance,
		see,
		async type(text, expected) {
			keyboard.write(text);
			return expected === undefined ? terminal.screen() : see(expected);
		},
		unmount() {
			instance.unmount();
		},
	};
}
