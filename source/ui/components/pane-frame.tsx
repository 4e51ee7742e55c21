import type {ReactNode} from 'react';
import {Box, Text} from 'ink';
import {frameGlyphs} from '../terminal.js';
import {colors} from '../theme.js';

/** Props of {@link PaneFrame}. */
export type PaneFrameProps = {
	/** The pane's number (its focus key). */
	readonly number: number;
	readonly title: string;
	/** Dim text after the title: counts, filter, mode. */
	readonly detail?: string;
	readonly isFocused: boolean;
	/** Outer size, borders included. */
	readonly width: number;
	readonly height: number;
	readonly children?: ReactNode;
};

/**
 * A bordered pane with its number and title set into the top border:
 * `╭─ 2 Connections (3 open) ─────╮`. Children get `width - 2` columns and
 * `height - 2` rows.
 */
export function PaneFrame({number, title, detail = '', isFocused, width, height, children}: PaneFrameProps) {
	// Heavy for the focused pane (readable without colour), round otherwise; ASCII where the terminal needs it (terminal.ts).
	const glyphs = frameGlyphs();
	const border = isFocused ? {style: glyphs.focusedStyle, ...glyphs.focusedTop} : {style: glyphs.normalStyle, ...glyphs.normalTop};
	const color = isFocused ? colors.focus : colors.border;
	const room = Math.max(0, width - 5);
	const name = `${number} ${title}`.slice(0, room);
	const more = detail === '' ? '' : ` ${detail}`.slice(0, Math.max(0, room - name.length));
	const fill = border.line.repeat(Math.max(0, width - 5 - name.length - more.length));
	return (
		<Box flexDirection="column" width={width} height={height}>
			<Text wrap="truncate-end">
				<Text color={color}>{`${border.left}${border.line} `}</Text>
				<Text bold={isFocused}>{name}</Text>
				<Text color={colors.muted}>{more}</Text>
				<Text color={color}>{` ${fill}${border.right}`}</Text>
			</Text>
			<Box borderStyle={border.style} borderTop={false} borderColor={color} flexDirection="column" width={width} height={height - 1} overflow="hidden">
				{children}
			</Box>
		</Box>
	);
}
