import {EventEmitter} from 'node:events';
import {performance} from 'node:perf_hooks';

/** One frame Ink wrote: when, its visible text, and a tag read at write time. */
export type Frame = {
	/** performance.now() of the write. */
	readonly at: number;
	/** The whole screen's text after this write. */
	readonly text: string;
	/** Whatever `tagFrame` returned at write time (the bench uses the last snapshot's event seq). */
	readonly tag: number;
};

// CSI, OSC (ended by BEL or ST) and two-byte escapes: what Ink and chalk write.
// eslint-disable-next-line no-control-regex
const escapes = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)|\u001B[@-Z\\-_]/g;

/** Text without terminal escape sequences. */
export function stripEscapes(text: string): string {
	return text.replaceAll(escapes, '');
}

/**
 * The text of a terminal screen, kept up to date from what is written: the
 * subset of VT100 that Ink and chalk emit (cursor moves, erase in line and
 * display, CR/LF with the tty's ONLCR, deferred wrap, scrolling). Colours
 * and modes are ignored, so the text is what a person would read.
 */
export class Screen {
	readonly columns: number;
	readonly rows: number;
	#cells: string[][];
	#x = 0;
	#y = 0;
	#saved = {x: 0, y: 0};

	constructor(columns: number, rows: number) {
		this.columns = columns;
		this.rows = rows;
		this.#cells = Array.from({length: rows}, () => this.#blankRow());
	}

	/** The screen as lines, trailing spaces and empty bottom lines trimmed. */
	text(): string {
		const lines = this.#cells.map((row) => row.join('').trimEnd());
		while (lines.length > 0 && lines.at(-1) === '') {
			lines.pop();
		}

		return lines.join('\n');
	}

	/** Apply written data. */
	write(data: string): void {
		let index = 0;
		while (index < data.length) {
			const char = data[index]!;
			if (char === '\u001B') {
				index = this.#escape(data, index);
				continue;
			}

			index++;
			if (char === '\r') {
				this.#x = 0;
			} else if (char === '\n') {
				// A tty with ONLCR (the default) turns LF into CR LF.
				this.#x = 0;
				this.#lineFeed();
			} else if (char === '\b') {
				this.#x = Math.max(0, this.#x - 1);
			} else if (char >= ' ') {
				if (this.#x >= this.columns) {
					this.#x = 0;
					this.#lineFeed();
				}

				this.#cells[this.#y]![this.#x++] = char;
			}
		}
	}

	#blankRow(): string[] {
		return Array.from({length: this.columns}, () => ' ');
	}

	#lineFeed(): void {
		if (this.#y === this.rows - 1) {
			this.#cells.shift();
			this.#cells.push(this.#blankRow());
		} else {
			this.#y++;
		}
	}

	/** Handle the escape sequence at `start`; returns the index after it. */
	#escape(data: string, start: number): number {
		const kind = data[start + 1];
		if (kind === '[') {
			const match = /^\u001B\[([0-?]*)([ -/]*)([@-~])/.exec(data.slice(start, start + 64));
			if (!match) {
				return start + 2;
			}

			this.#csi(match[1]!, match[3]!);
			return start + match[0].length;
		}

		if (kind === ']') {
			// OSC: up to BEL or ST; nothing on the screen.
			const bell = data.indexOf('\u0007', start);
			const st = data.indexOf('\u001B\\', start);
			const ends = [bell === -1 ? Number.POSITIVE_INFINITY : bell + 1, st === -1 ? Number.POSITIVE_INFINITY : st + 2];
			const end = Math.min(...ends);
			return Number.isFinite(end) ? end : data.length;
		}

		if (kind === '7') {
			this.#saved = {x: this.#x, y: this.#y};
		} else if (kind === '8') {
			({x: this.#x, y: this.#y} = this.#saved);
		}

		return start + 2;
	}

	#csi(parameters: string, final: string): void {
		if (parameters.startsWith('?')) {
			// Private modes: entering the alternate screen gives a blank one.
			if (final === 'h' && /(^|;)\??(1049|47|1047)(;|$)/.test(parameters)) {
				this.#cells = Array.from({length: this.rows}, () => this.#blankRow());
				this.#x = 0;
				this.#y = 0;
			}

			return;
		}

		const numbers = parameters.split(';').map((text) => (text === '' ? undefined : Number(text)));
		const n = numbers[0] ?? 1;
		const clampY = (y: number) => Math.min(this.rows - 1, Math.max(0, y));
		const clampX = (x: number) => Math.min(this.columns - 1, Math.max(0, x));
		switch (final) {
			case 'A': {
				this.#y = clampY(this.#y - n);
				break;
			}

			case 'B': {
				this.#y = clampY(this.#y + n);
				break;
			}

			case 'C': {
				this.#x = clampX(this.#x + n);
				break;
			}

			case 'D': {
				this.#x = clampX(this.#x - n);
				break;
			}

			case 'E': {
				this.#y = clampY(this.#y + n);
				this.#x = 0;
				break;
			}

			case 'F': {
				this.#y = clampY(this.#y - n);
				this.#x = 0;
				break;
			}

			case 'G': {
				this.#x = clampX(n - 1);
				break;
			}

			case 'H':
			case 'f': {
				this.#y = clampY((numbers[0] ?? 1) - 1);
				this.#x = clampX((numbers[1] ?? 1) - 1);
				break;
			}

			case 'J': {
				this.#eraseDisplay(numbers[0] ?? 0);
				break;
			}

			case 'K': {
				this.#eraseLine(numbers[0] ?? 0);
				break;
			}

			case 's': {
				this.#saved = {x: this.#x, y: this.#y};
				break;
			}

			case 'u': {
				({x: this.#x, y: this.#y} = this.#saved);
				break;
			}

			default: {
				// SGR (m) and the rest change nothing readable.
			}
		}
	}

	#eraseLine(mode: number): void {
		const row = this.#cells[this.#y]!;
		const [from, to] = mode === 0 ? [this.#x, this.columns] : mode === 1 ? [0, this.#x + 1] : [0, this.columns];
		row.fill(' ', from, to);
	}

	#eraseDisplay(mode: number): void {
		if (mode === 0) {
			this.#eraseLine(0);
			for (let y = this.#y + 1; y < this.rows; y++) {
				this.#cells[y] = this.#blankRow();
			}
		} else if (mode === 1) {
			this.#eraseLine(1);
			for (let y = 0; y < this.#y; y++) {
				this.#cells[y] = this.#blankRow();
			}
		} else {
			this.#cells = Array.from({length: this.rows}, () => this.#blankRow());
		}
	}
}

/**
 * A fake TTY stdout of a fixed size that records every frame Ink writes,
 * with a timestamp and the screen's text after it. Ink writes each frame as
 * one `write` (full or incremental); writes with nothing visible (cursor
 * hiding, synchronized-output brackets) are not frames.
 */
export class VirtualTerminal extends EventEmitter {
	readonly isTTY = true;
	readonly columns: number;
	readonly rows: number;
	readonly frames: Frame[] = [];
	/** Bytes written, escapes included. */
	bytesWritten = 0;
	/** Read at each frame's write; tags it (see Frame.tag). */
	tagFrame: () => number = () => 0;
	readonly #screen: Screen;
	readonly #waiters = new Set<() => void>();

	constructor(columns = 120, rows = 40) {
		super();
		this.columns = columns;
		this.rows = rows;
		this.#screen = new Screen(columns, rows);
	}

	/** The Writable surface Ink uses. */
	write(chunk: string | Uint8Array, encodingOrCallback?: BufferEncoding | (() => void), callback?: () => void): boolean {
		const at = performance.now();
		const data = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
		this.bytesWritten += data.length;
		this.#screen.write(data);
		// Printable text or an erase: something a person would see change.
		if (/[^\u001B]/.test(stripEscapes(data)) || /\u001B\[[0-9;]*[JK]/.test(data)) {
			this.frames.push({at, text: this.#screen.text(), tag: this.tagFrame()});
			for (const wake of this.#waiters) {
				wake();
			}
		}

		const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
		if (done) {
			queueMicrotask(done);
		}

		return true;
	}

	/** The screen's text now ('' before the first frame). */
	lastFrame(): string {
		return this.frames.at(-1)?.text ?? '';
	}

	/**
	 * The first frame from index `fromIndex` on that matches; waits for new
	 * frames up to `timeoutMs` and fails with the last frame printed.
	 */
	async waitForFrame(match: (frame: Frame) => boolean, what: string, options: {fromIndex?: number; timeoutMs?: number} = {}): Promise<Frame> {
		let index = options.fromIndex ?? 0;
		const timeoutMs = options.timeoutMs ?? 5000;
		return new Promise<Frame>((resolve, reject) => {
			const check = () => {
				for (; index < this.frames.length; index++) {
					const frame = this.frames[index]!;
					if (match(frame)) {
						finish();
						resolve(frame);
						return;
					}
				}
			};

			const timer = setTimeout(() => {
				finish();
				reject(new Error(`no frame ${what} within ${timeoutMs} ms; the last frame was:\n${this.lastFrame()}`));
			}, timeoutMs);
			const finish = () => {
				clearTimeout(timer);
				this.#waiters.delete(check);
			};

			this.#waiters.add(check);
			check();
		});
	}
}

/**
 * A fake TTY stdin for Ink: `press` queues keys and signals `readable`, as
 * a terminal in raw mode would.
 */
export class VirtualKeyboard extends EventEmitter {
	readonly isTTY = true;
	#queue: string[] = [];

	/** Type these keys (raw bytes: `'\u001B[B'` is ↓). */
	press(keys: string): void {
		this.#queue.push(keys);
		this.emit('readable');
	}

	read(): string | null {
		return this.#queue.shift() ?? null;
	}

	setRawMode(): this {
		return this;
	}

	setEncoding(): this {
		return this;
	}

	ref(): this {
		return this;
	}

	unref(): this {
		return this;
	}

	resume(): this {
		return this;
	}

	pause(): this {
		return this;
	}
}
