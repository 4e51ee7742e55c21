import process from 'node:process';
import type {ConnectionState, LogDirection} from '../core/index.js';

/**
 * True when colours and inverse video are off (NO_COLOR, FORCE_COLOR=0, a
 * dumb terminal): the few things drawn with inverse alone, such as a prompt's
 * cursor, need a glyph instead.
 */
export function isColorless(): boolean {
	const {env} = process;
	return env['FORCE_COLOR'] === '0' || env['FORCE_COLOR'] === 'false' || (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '' && env['FORCE_COLOR'] === undefined) || env['TERM'] === 'dumb';
}

/**
 * What colours mean on the dashboard. Every colour goes with a glyph or a
 * word, so with NO_COLOR (or a terminal without colour) nothing is lost.
 */
export const colors = {
	/** Bytes that arrived from the peer. */
	in: 'green',
	/** Bytes we sent. */
	out: 'cyan',
	note: 'gray',
	error: 'red',
	warning: 'yellow',
	focus: 'cyan',
	border: 'gray',
	muted: 'gray',
} as const;

/** How a connection state is drawn: a glyph that reads without colour, and a colour. */
export const stateStyles: Record<ConnectionState, {glyph: string; color: string}> = {
	connecting: {glyph: '◌', color: 'yellow'},
	open: {glyph: '●', color: 'green'},
	'half-closed-local': {glyph: '◐', color: 'yellow'},
	'half-closed-remote': {glyph: '◑', color: 'yellow'},
	closed: {glyph: '○', color: 'gray'},
	reset: {glyph: '✗', color: 'red'},
	failed: {glyph: '✗', color: 'red'},
};

/** How a log direction is drawn: arrow and word, and a colour. */
export const directionStyles: Record<LogDirection | 'error', {label: string; color: string}> = {
	in: {label: '← in', color: colors.in},
	out: {label: '→ out', color: colors.out},
	note: {label: '· note', color: colors.note},
	error: {label: '✗ error', color: colors.error},
};

/** How the row under the cursor is marked across the pane's width. */
export type CursorHighlight = 'inverse' | 'underline' | 'none';

/**
 * Inverse video; an underline under NO_COLOR (https://no-color.org forbids
 * colour, not emphasis); nothing beyond `›` and bold where styles are off
 * altogether (FORCE_COLOR=0, which chalk reads as "no escapes at all").
 */
export function cursorHighlight(): CursorHighlight {
	const {env} = process;
	if (!isColorless()) {
		return 'inverse';
	}

	return env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '' && env['TERM'] !== 'dumb' ? 'underline' : 'none';
}

/** Every glyph the panes draw, with what it means (the help overlay lists them). */
export const glyphLegend: ReadonlyArray<{readonly glyph: string; readonly meaning: string}> = [
	{glyph: '›', meaning: 'the cursor: keys act on this row'},
	{glyph: '•', meaning: 'selected: its log is the one shown'},
	{glyph: '●', meaning: 'open, listening, or a fresh peer'},
	{glyph: '◌', meaning: 'connecting, or a peer gone quiet'},
	{glyph: '◐', meaning: 'we sent FIN; still reading'},
	{glyph: '◑', meaning: 'peer sent FIN; we may still send'},
	{glyph: '○', meaning: 'closed (C clears), or a peer expired'},
	{glyph: '✗', meaning: 'reset or failed'},
	{glyph: '⚠', meaning: 'queue growing or stalled (R resets)'},
	{glyph: '◇', meaning: 'a sender that is not netdash'},
	{glyph: '▸', meaning: 'a relay: → shows its halves (└)'},
];
