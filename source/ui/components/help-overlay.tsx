import {Box, Text} from 'ink';
import {commandLineNames, commandLineUsages} from '../../core/command-line.js';
import {keyBindings, keyLabel, keyScopes} from '../keys.js';
import {colors} from '../theme.js';

/** Props of {@link HelpOverlay}. */
export type HelpOverlayProps = {
	readonly width: number;
	readonly height: number;
};

type Line = {readonly key: string; readonly text: string; readonly isHeading?: boolean};

/** Every binding of keys.ts under its scope's heading. */
function keyLines(): Line[] {
	const lines: Line[] = [];
	for (const {scope, title} of keyScopes) {
		lines.push({key: '', text: title, isHeading: true});
		for (const binding of keyBindings.filter((candidate) => candidate.scope === scope)) {
			lines.push({key: keyLabel(binding), text: binding.description});
		}
	}

	return lines;
}

/** The command-line vocabulary, from command-line.ts. */
function commandLines(): Line[] {
	return [{key: '', text: 'Commands (after :)', isHeading: true}, ...commandLineUsages.map((usage) => ({key: usage.usage, text: usage.description}))];
}

/** Width of a key column: the longest label, a space, the longest description. */
const keyColumnWidth = 40;
const keyLabelWidth = 11;
const usageWidth = 28;

function chunk<T>(items: readonly T[], size: number): T[][] {
	const chunks: T[][] = [];
	for (let index = 0; index < items.length; index += size) {
		chunks.push(items.slice(index, index + size));
	}

	return chunks;
}

/** Words joined by spaces into lines of at most `width` characters. */
function wrapWords(words: readonly string[], width: number): string[] {
	const lines: string[] = [];
	for (const word of words) {
		const last = lines.at(-1);
		if (last !== undefined && last.length + 1 + word.length <= width) {
			lines[lines.length - 1] = `${last} ${word}`;
		} else {
			lines.push(word);
		}
	}

	return lines;
}

function HelpColumn({lines, width, labelWidth}: {lines: readonly Line[]; width: number; labelWidth: number}) {
	return (
		<Box flexDirection="column" width={width} paddingLeft={1}>
			{lines.map((line) =>
				line.isHeading ? (
					<Text key={`h-${line.text}`} bold underline color={colors.focus} wrap="truncate-end">
						{line.text}
					</Text>
				) : (
					<Text key={`${line.key}-${line.text}`} wrap="truncate-end">
						<Text bold>{line.key.padEnd(labelWidth)}</Text> {line.text}
					</Text>
				),
			)}
		</Box>
	);
}

/**
 * The help, rendered from the key table in place of the panes. Wide
 * terminals get the keys in columns and the command line's vocabulary
 * beside them; narrow ones get as many columns as the height needs, and
 * leave the commands out rather than overflow (tab completion and the
 * command line's errors list them too).
 */
export function HelpOverlay({width, height}: HelpOverlayProps) {
	const rows = Math.max(1, height - 3);
	const keys = keyLines();
	const commands = commandLines();
	const inner = width - 2;
	let columns: Array<{lines: Line[]; width: number; labelWidth: number}>;
	if (inner >= keyColumnWidth * 2 + 60) {
		const count = Math.max(2, Math.ceil(keys.length / rows));
		columns = chunk(keys, Math.ceil(keys.length / count)).map((lines) => ({lines, width: keyColumnWidth, labelWidth: keyLabelWidth}));
		columns.push({lines: commands.slice(0, rows), width: inner - (keyColumnWidth * columns.length), labelWidth: usageWidth});
	} else {
		// Usages only: a description would not fit beside them in a key column.
		const usages = commands.map((line) => (line.isHeading ? line : {key: line.key, text: ''}));
		const capacity = rows * Math.floor(inner / keyColumnWidth);
		// Where the usages do not fit, the names alone may: a few lines of words.
		const names = [commands[0]!, ...wrapWords(commandLineNames, keyColumnWidth - 2).map((text) => ({key: text, text: ''}))];
		const all = keys.length + usages.length <= capacity ? [...keys, ...usages] : keys.length + names.length <= capacity ? [...keys, ...names] : keys;
		const count = Math.max(1, Math.min(3, Math.ceil(all.length / rows)));
		columns = chunk(all, rows)
			.slice(0, count)
			.map((lines) => ({lines, width: Math.floor(inner / count), labelWidth: keyLabelWidth}));
	}

	return (
		<Box flexDirection="column" width={width} height={height} borderStyle="double" borderColor={colors.focus}>
			<Text bold wrap="truncate-end">
				{' Keys — esc or ? closes'}
			</Text>
			<Box flexDirection="row">
				{columns.map((column) => (
					<HelpColumn key={column.lines[0]?.text ?? ''} lines={column.lines} width={column.width} labelWidth={column.labelWidth} />
				))}
			</Box>
		</Box>
	);
}
