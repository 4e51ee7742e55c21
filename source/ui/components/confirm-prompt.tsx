import {Box, Text, useInput} from 'ink';
import {ConfirmInput} from '@inkjs/ui';
import {colors} from '../theme.js';

/** Props of {@link ConfirmPrompt}. */
export type ConfirmPromptProps = {
	/** One line, e.g. `reset C3 with a RST?`. */
	readonly question: string;
	readonly width: number;
	readonly isActive: boolean;
	readonly onConfirm: () => void;
	readonly onCancel: () => void;
};

/** A yes/no question on the bottom line; enter and esc mean no. */
export function ConfirmPrompt({question, width, isActive, onConfirm, onCancel}: ConfirmPromptProps) {
	useInput(
		(_, key) => {
			if (key.escape) {
				onCancel();
			}
		},
		{isActive},
	);
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end">
				<Text bold color={colors.warning}>
					{question}{' '}
				</Text>
			</Text>
			<ConfirmInput isDisabled={!isActive} defaultChoice="cancel" onConfirm={onConfirm} onCancel={onCancel} />
		</Box>
	);
}
