import {Box, Text} from 'ink';
import {colors} from '../theme.js';

/** Props of {@link EmptyState}. */
export type EmptyStateProps = {
	/** What is missing and how to get it, e.g. `no listeners — :listen 8080`. */
	readonly text: string;
};

/** The line a pane shows when it has no rows: what to do next. */
export function EmptyState({text}: EmptyStateProps) {
	return (
		<Box paddingX={1}>
			<Text wrap="wrap" color={colors.muted}>
				{text}
			</Text>
		</Box>
	);
}
