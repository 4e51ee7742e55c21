import {Box, Text} from 'ink';
import {commandLineUsages} from '../../core/command-line.js';
import type {PaneKeyHandler} from '../hooks/pane-keys.js';
import {moveCursor} from '../hooks/use-list-keys.js';
import {actionOf, keyBindings, keyLabel, keyScopes, type KeyAction, type KeyScope} from '../keys.js';
import {frameGlyphs} from '../terminal.js';
import {colors, glyphLegend} from '../theme.js';

/** Props of {@link HelpOverlay}. */
export type HelpOverlayProps = {
	readonly width: number;
	readonly height: number;
	/** First line shown (the dashboard state's helpScroll). */
	readonly scroll: number;
	/** In `netdash replay`: the replay's keys come first. Elsewhere they are left out. @default false */
	readonly isReplay?: boolean;
};

const scrollActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last']);

type Line = {readonly key: string; readonly text: string; readonly labelWidth: number; readonly isHeading?: boolean};

/** The least width of a column of the help. */
const columnWidth = 40;
const keyLabelWidth = 11;
const glyphLabelWidth = 1;
const usageWidth = 28;

function heading(text: string): Line {
	return {key: '', text, labelWidth: 0, isHeading: true};
}

/**
 * Everything the help says, as lines for columns `width` wide: every binding
 * of keys.ts under its scope, what each glyph means, then the command line's
 * vocabulary (a usage whose description does not fit beside it gets it on
 * the next line).
 */
export function helpLines(width: number, isReplay = false): Line[] {
	const lines: Line[] = [];
	// The replay's keys act only in `netdash replay`: there they come first, elsewhere not at all.
	const bindingsOf = (isAfterGlyphs: boolean) => {
		for (const {scope, title} of keyScopes.filter((entry) => (entry.isAfterGlyphs ?? false) === isAfterGlyphs && (entry.scope !== 'replay' || isReplay))) {
			lines.push(heading(title));
			for (const binding of keyBindings.filter((candidate) => candidate.scope === scope)) {
				lines.push({key: keyLabel(binding), text: binding.description, labelWidth: keyLabelWidth});
			}
		}
	};

	bindingsOf(false);
	lines.push(heading('Glyphs'));
	for (const {glyph, meaning} of glyphLegend) {
		lines.push({key: glyph, text: meaning, labelWidth: glyphLabelWidth});
	}

	bindingsOf(true);

	lines.push(heading('Commands (after :)'));
	for (const {usage, description} of commandLineUsages) {
		const labelWidth = Math.min(usageWidth, width - 2);
		if (Math.max(usage.length, labelWidth) + 1 + description.length <= width - 1) {
			lines.push({key: usage, text: description, labelWidth});
		} else {
			lines.push({key: usage, text: '', labelWidth: 0}, {key: '', text: `  ${description}`, labelWidth: 0});
		}
	}

	return lines;
}

function chunk<T>(items: readonly T[], size: number): T[][] {
	const chunks: T[][] = [];
	for (let index = 0; index < items.length; index += size) {
		chunks.push(items.slice(index, index + size));
	}

	return chunks;
}

function HelpColumn({lines, width}: {lines: readonly Line[]; width: number}) {
	return (
		<Box flexDirection="column" width={width} paddingLeft={1}>
			{lines.map((line, index) =>
				line.isHeading ? (
					<Text key={index} bold underline color={colors.focus} wrap="truncate-end">
						{line.text}
					</Text>
				) : (
					<Text key={index} wrap="truncate-end">
						<Text bold>{line.key.padEnd(line.labelWidth)}</Text>
						{line.text === '' ? '' : ` ${line.text}`}
					</Text>
				),
			)}
		</Box>
	);
}

/** How the help lays out in `width`×`height`: its lines, columns, rows per column and how far it scrolls. */
export function helpLayout(width: number, height: number, isReplay = false) {
	const inner = width - 2;
	const rows = Math.max(1, height - 3);
	// The fewest columns that hold everything (wider columns keep a command beside its description), else the most that fit.
	const most = Math.max(1, Math.floor(inner / columnWidth));
	let count = 1;
	while (count < most && helpLines(Math.floor(inner / count) - 1, isReplay).length > rows * count) {
		count++;
	}

	const shownWidth = Math.floor(inner / count);
	const lines = helpLines(shownWidth - 1, isReplay);
	const page = rows * count;
	return {lines, rows, page, shownWidth, maxOffset: Math.max(0, lines.length - page)};
}

/**
 * The help's keys while it is open, for the dashboard's one key handler:
 * j/k, pgdn/pgup, g/G scroll from where the key before left it (in a burst,
 * before that is drawn). The dashboard registers it whether or not the help
 * is drawn yet, so `?j` in one burst scrolls; the layout is worked out only
 * when a key comes.
 */
export function helpKeyHandler(width: number, height: number, onScroll: (scroll: number) => void, isReplay = false): PaneKeyHandler {
	return (typed, state) => {
		const action = actionOf(typed.input, typed.key, scrollActions);
		if (action === undefined) {
			return false;
		}

		const {rows, maxOffset} = helpLayout(width, height, isReplay);
		onScroll(moveCursor(action, Math.min(state.helpScroll, maxOffset), maxOffset + 1, rows));
		return true;
	};
}

/**
 * The help, rendered from the key table, the glyph legend and the command
 * line's vocabulary in place of the panes, in as many columns as the width
 * holds. What does not fit scrolls (j/k, pgdn/pgup, g/G through
 * {@link helpKeyHandler}), so even at 80×24 every `:` command is one scroll
 * away.
 */
export function HelpOverlay({width, height, scroll, isReplay = false}: HelpOverlayProps) {
	const {lines, rows, page, shownWidth, maxOffset} = helpLayout(width, height, isReplay);
	const offset = Math.min(scroll, maxOffset);
	const shown = lines.slice(offset, offset + page);
	const where = maxOffset > 0 ? ` · j/k scroll: lines ${offset + 1}–${offset + shown.length} of ${lines.length}` : '';
	return (
		<Box flexDirection="column" width={width} height={height} borderStyle={frameGlyphs().overlayStyle} borderColor={colors.focus}>
			<Text bold wrap="truncate-end">
				{` Keys — esc or ? closes${where}`}
			</Text>
			<Box flexDirection="row">
				{chunk(shown, rows).map((column, index) => (
					<HelpColumn key={index} lines={column} width={shownWidth} />
				))}
			</Box>
		</Box>
	);
}
