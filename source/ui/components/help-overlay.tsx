import {Box, Text} from 'ink';
import {commandLineUsages} from '../../core/command-line.js';
import {keyBindings, keyLabel, keyScopes} from '../keys.js';
import {colors} from '../theme.js';

/** Props of {@link HelpOverlay}. */
export type HelpOverlayProps = {
	readonly width: number;
	readonly height: number;
};

type Line = {readonly key: string; readonly text: string; readonly isHeading?: boolean};

/** Every binding of keys.ts under its scope, then the command-line vocabulary. */
function helpLines(): Line[] {
	const lines: Line[] = [];
	for (const {scope, title} of keyScopes) {
		lines.push({key: '', text: title, isHeading: true});
		for (const binding of keyBindings.filter((candidate) => candidate.scope === scope)) {
			lines.push({key: keyLabel(binding), text: binding.description});
		}
	}

	lines.push({key: '', text: 'Commands (after :)', isHeading: true});
	for (const usage of commandLineUsages) {
		lines.push({key: usage.usage, text: ''});
	}

	return lines;
}

/**
 * The help, rendered from the key table in place of the panes, in as many
 * columns as the height needs. When a small terminal cannot hold it all, the
 * command list is left out rather than overflowing the terminal.
 */
export function HelpOverlay({width, height}: HelpOverlayProps) {
	const rows = Math.max(1, height - 3);
	const all = helpLines();
	// Narrow or short: the keys come first; the command line lists its commands in its own errors and tab completion.
	const lines = all.length > rows * 2 && width < 120 ? all.slice(0, all.findIndex((line) => line.text.startsWith('Commands'))) : all;
	const columnCount = Math.max(1, Math.min(3, Math.ceil(lines.length / rows)));
	const columnWidth = Math.floor((width - 2) / columnCount);
	const columns: Line[][] = [];
	for (let index = 0; index < columnCount; index++) {
		columns.push(lines.slice(index * rows, (index + 1) * rows));
	}

	return (
		<Box flexDirection="column" width={width} height={height} borderStyle="double" borderColor={colors.focus}>
			<Text bold wrap="truncate-end">
				{' Keys — esc or ? closes'}
			</Text>
			<Box flexDirection="row">
				{columns.map((column, index) => (
					<Box key={index} flexDirection="column" width={columnWidth} paddingLeft={1}>
						{column.map((line) =>
							line.isHeading ? (
								<Text key={`h-${line.text}`} bold underline color={colors.focus} wrap="truncate-end">
									{line.text}
								</Text>
							) : (
								<Text key={`${line.key}-${line.text}`} wrap="truncate-end">
									<Text bold>{line.key.padEnd(11)}</Text> {line.text}
								</Text>
							),
						)}
					</Box>
				))}
			</Box>
		</Box>
	);
}
