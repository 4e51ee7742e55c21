import type {ReactNode} from 'react';
import {Text} from 'ink';
import {cursorHighlight} from '../theme.js';

/** Props of {@link RowLine}. */
export type RowLineProps = {
	readonly isCursor: boolean;
	/** Blank columns after the cells, so the highlight spans the pane's whole width. */
	readonly fill: number;
	readonly isDim?: boolean;
	readonly children?: ReactNode;
};

// SGR underline on and off, written directly: chalk is at level 0 under NO_COLOR and would drop it.
const underlineOn = '\u001B[4m';
const underlineOff = '\u001B[24m';

/** One table row on one line; the cursor's row is highlighted from edge to edge (theme.ts: cursorHighlight). */
export function RowLine({isCursor, fill, isDim = false, children}: RowLineProps) {
	const highlight = isCursor ? cursorHighlight() : 'none';
	const isUnderlined = highlight === 'underline';
	return (
		<Text wrap="truncate-end" dimColor={isDim} bold={isCursor} inverse={highlight === 'inverse'}>
			{isUnderlined ? underlineOn : ''}
			{children}
			{' '.repeat(Math.max(0, fill))}
			{isUnderlined ? underlineOff : ''}
		</Text>
	);
}
