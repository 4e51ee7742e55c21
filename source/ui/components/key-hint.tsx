import {Box, Text} from 'ink';
import {bindingOf, keyLabel, type KeyAction} from '../keys.js';
import {colors} from '../theme.js';

/** Most needed first, so a narrow terminal cuts the least needed. */
const hintOrder: readonly KeyAction[] = ['help', 'command', 'quit', 'focus-next', 'select', 'send', 'filter', 'toggle-hex', 'toggle-follow'];

/** The short hint line, built from the key table. */
export const keyHintText = hintOrder
	.map((action) => bindingOf(action))
	.map((binding) => `${keyLabel(binding)} ${binding.hint ?? binding.description}`)
	.join('  ');

/** Props of {@link KeyHint}. */
export type KeyHintProps = {
	readonly width: number;
};

/** One line of the most used keys; `?` shows them all. */
export function KeyHint({width}: KeyHintProps) {
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end" color={colors.muted}>
				{keyHintText}
			</Text>
		</Box>
	);
}
