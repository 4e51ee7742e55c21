import process from 'node:process';
import type {Writable} from 'node:stream';

/**
 * What the terminal named by TERM can draw. `dumb` (Emacs shell buffers,
 * some CI logs) has no cursor addressing at all: the dashboard refuses and
 * points to --json. The VT100 and the Linux console get ASCII borders and
 * no synchronized-output brackets (DEC mode 2026, which they do not know).
 * Everything else (xterm, tmux, screen, kitty…) gets the full drawing.
 */
export type TerminalKind = 'dumb' | 'ascii' | 'full';

/** Terminals drawn in ASCII: the VT100 family and the Linux console. */
const asciiTerminals = /^(vt\d+|linux)(-|$)/;

/** The kind of the terminal named by `term` (TERM). */
export function terminalKind(term = process.env['TERM']): TerminalKind {
	if (term === 'dumb') {
		return 'dumb';
	}

	return term !== undefined && asciiTerminals.test(term) ? 'ascii' : 'full';
}

/** The one line a dumb terminal gets instead of the dashboard. */
export const dumbTerminalRefusal = 'this terminal (TERM=dumb) cannot draw the dashboard — use --json for JSON lines (see netdash --help)';

/** Ink's synchronized-output brackets (write-synchronized.js), each written on its own. */
const synchronizedOutput = new Set(['\u001B[?2026h', '\u001B[?2026l']);

/**
 * `stdout` as Ink should see it on this terminal: on an ASCII terminal a
 * view of it that drops Ink's synchronized-output brackets (Ink has no option
 * for it short of turning interactive rendering off); elsewhere itself.
 */
export function dashboardStdout(stdout: NodeJS.WriteStream, kind = terminalKind()): NodeJS.WriteStream {
	if (kind !== 'ascii') {
		return stdout;
	}

	return new Proxy(stdout, {
		get(target, property) {
			if (property === 'write') {
				return (chunk: unknown, ...rest: unknown[]) =>
					typeof chunk === 'string' && synchronizedOutput.has(chunk) ? true : (target.write as Writable['write']).call(target, chunk, ...(rest as [BufferEncoding]));
			}

			const value: unknown = Reflect.get(target, property, target);
			return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
		},
	});
}

/** Box-drawing characters, or their ASCII stand-ins on an ASCII terminal. */
export type FrameGlyphs = {
	/** Ink's borderStyle for a pane's sides and bottom, focused and not. */
	readonly focusedStyle: 'bold' | BoxStyle;
	readonly normalStyle: 'round' | BoxStyle;
	/** Ink's borderStyle for the help overlay. */
	readonly overlayStyle: 'double' | BoxStyle;
	/** Top-left corner and line of a pane's title border, focused and not. */
	readonly focusedTop: {readonly left: string; readonly line: string; readonly right: string};
	readonly normalTop: {readonly left: string; readonly line: string; readonly right: string};
	/** The folded Discovery line's start, focused and not. */
	readonly foldedFocused: {readonly left: string; readonly line: string};
	readonly foldedNormal: {readonly left: string; readonly line: string};
};

/** A custom Ink border. */
export type BoxStyle = {
	readonly topLeft: string;
	readonly top: string;
	readonly topRight: string;
	readonly right: string;
	readonly bottomRight: string;
	readonly bottom: string;
	readonly bottomLeft: string;
	readonly left: string;
};

const asciiBox = (line: string): BoxStyle => ({topLeft: '+', top: line, topRight: '+', right: '|', bottomRight: '+', bottom: line, bottomLeft: '+', left: '|'});

const unicodeFrames: FrameGlyphs = {
	focusedStyle: 'bold',
	normalStyle: 'round',
	overlayStyle: 'double',
	focusedTop: {left: '┏', line: '━', right: '┓'},
	normalTop: {left: '╭', line: '─', right: '╮'},
	foldedFocused: {left: '┏━', line: '━'},
	foldedNormal: {left: '╶─', line: '─'},
};

// The focused pane is told apart by '=' where the others have '-'.
const asciiFrames: FrameGlyphs = {
	focusedStyle: asciiBox('='),
	normalStyle: asciiBox('-'),
	overlayStyle: asciiBox('='),
	focusedTop: {left: '+', line: '=', right: '+'},
	normalTop: {left: '+', line: '-', right: '+'},
	foldedFocused: {left: '==', line: '='},
	foldedNormal: {left: '--', line: '-'},
};

/** The frame glyphs for this terminal. */
export function frameGlyphs(kind = terminalKind()): FrameGlyphs {
	return kind === 'ascii' ? asciiFrames : unicodeFrames;
}
