import {memo} from 'react';
import {Box, Text} from 'ink';
import type {LogEntry} from '../../core/index.js';
import {formatBytes, hexDump, toDisplay} from '../../core/format/index.js';
import {fit, formatTime, safeText} from '../format.js';
import {colors, directionStyles} from '../theme.js';

/** Widths of the text columns before the content. */
const timeWidth = 13;
const directionWidth = 8;
const sizeWidth = 10;
const gutterWidth = 2;

/** Props of {@link LogEntryView}. */
export type LogEntryViewProps = {
	readonly entry: LogEntry;
	readonly mode: 'text' | 'hex';
	/** Columns available. */
	readonly width: number;
	readonly isCursor: boolean;
	/** Hex view: bytes per line (16, or 8 when narrow). */
	readonly bytesPerLine: number;
	/** Hex view: most dump lines shown for one entry. */
	readonly maxHexLines: number;
};

/** Rows an entry takes in the hex view. */
export function hexEntryHeight(entry: LogEntry, bytesPerLine: number, maxHexLines: number): number {
	if (!entry.data || entry.data.length === 0) {
		return 1;
	}

	const lines = Math.ceil(entry.data.length / bytesPerLine);
	const shown = Math.min(lines, maxHexLines);
	return 1 + shown + (entry.bytes > shown * bytesPerLine ? 1 : 0);
}

/** 16 bytes a dump line when the pane is wide enough for `hexdump -C` lines, else 8. */
export function bytesPerLineFor(width: number): number {
	return width - 4 >= 78 ? 16 : 8;
}

function Header({entry, isCursor, content, width}: {entry: LogEntry; isCursor: boolean; content: string; width: number}) {
	const style = directionStyles[entry.isError ? 'error' : entry.direction];
	const size = entry.direction === 'note' ? '' : formatBytes(entry.bytes);
	return (
		<Text wrap="truncate-end" bold={isCursor}>
			{isCursor ? '› ' : '  '}
			<Text color={colors.muted}>{fit(formatTime(entry.at), timeWidth - 1)} </Text>
			<Text color={style.color}>{fit(style.label, directionWidth - 1)} </Text>
			{fit(size, sizeWidth - 2, 'right')}
			{'  '}
			<Text color={entry.direction === 'note' ? style.color : undefined}>{content.slice(0, Math.max(0, width))}</Text>
		</Text>
	);
}

/**
 * One log entry: time, direction, size, then the content. Network bytes are
 * painted only through toDisplay (text view) or hexDump (hex view), never
 * any other way, so a peer cannot move the cursor, recolour or retitle the
 * terminal.
 */
export const LogEntryView = memo(function LogEntryView({entry, mode, width, isCursor, bytesPerLine, maxHexLines}: LogEntryViewProps) {
	const contentWidth = Math.max(0, width - gutterWidth - timeWidth - directionWidth - sizeWidth);
	if (!entry.data) {
		return <Header entry={entry} isCursor={isCursor} content={safeText(entry.text ?? '', contentWidth)} width={contentWidth} />;
	}

	if (mode === 'text') {
		const isCut = entry.bytes > entry.data.length;
		const text = toDisplay(entry.data, {maxChars: contentWidth});
		return <Header entry={entry} isCursor={isCursor} content={isCut && text.length < contentWidth ? `${text}…` : text} width={contentWidth} />;
	}

	const shown = entry.data.subarray(0, maxHexLines * bytesPerLine);
	const more = entry.bytes - shown.length;
	return (
		<Box flexDirection="column">
			<Header entry={entry} isCursor={isCursor} content={`${entry.kind}`} width={contentWidth} />
			{hexDump(shown, {width: bytesPerLine}).map((line) => (
				<Text key={line.slice(0, 8)} wrap="truncate-end">
					{'    '}
					{line}
				</Text>
			))}
			{more > 0 ? <Text color={colors.muted}>{`    … ${formatBytes(more)} more`}</Text> : null}
		</Box>
	);
});
