import {Box, Text} from 'ink';
import {keyBindings, keyLabel} from '../keys.js';
import {colors} from '../theme.js';

/** The short hint line, built from the key table. */
export const keyHintText = keyBindings
	.filter((binding) => binding.hint !== undefined)
	.map((binding) => `${keyLabel(binding)} ${binding.hint!}`)
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
