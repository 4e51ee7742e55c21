import {memo} from 'react';
import {Box, Text} from 'ink';
import type {LogEntry} from '../../core/index.js';
import {formatBytes, hexDump, toDisplay} from '../../core/format/index.js';
import {fit, formatTime, safeText} from '../format.js';
import {colors, directionStyles} from '../theme.js';

/** Widths of the text columns before the content. */
const timeWidth = 13;
const directionWidth = 8;
/** A relay's log says which way: `→ to server`. */
const relayDirectionWidth = 12;
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
	/** The connection's framing (`raw`, `line`, `u16`, …): a message shows its delimiter or length prefix. */
	readonly framing?: string | undefined;
	/** A relay's log: the direction column is wide enough for `→ to server` / `← to client`. */
	readonly isRelay?: boolean;
};

/**
 * How an entry's direction is drawn. In a relay's log (issue 13) bytes say
 * which way they were going: `→ to server` (the client sent them) and
 * `← to client`; `⇒` / `⇐` mark bytes we injected.
 */
export function entryStyle(entry: LogEntry): {label: string; color: string} {
	if (entry.isError) {
		return directionStyles.error;
	}

	if (entry.toward === 'server') {
		return {label: entry.direction === 'out' ? '⇒ to server' : '→ to server', color: colors.out};
	}

	if (entry.toward === 'client') {
		return {label: entry.direction === 'out' ? '⇐ to client' : '← to client', color: colors.in};
	}

	return directionStyles[entry.direction];
}

/**
 * How a framed message was cut from the stream, as marks around its text:
 * `⟨00 05⟩` before a u16/u32 message (its length prefix, in hex), `⏎` after
 * a line ended by LF, `␍⏎` after one ended by CRLF. The framer hands over only the payload, so the
 * marks are rebuilt from the framing and the size.
 */
export function messageMarks(entry: LogEntry, framing: string | undefined): {before: string; after: string} {
	if (entry.kind !== 'message') {
		return {before: '', after: ''};
	}

	if (framing === 'line') {
		return {before: '', after: entry.isCrlf ? '␍⏎' : '⏎'};
	}

	if (framing === 'u16' || framing === 'u32') {
		const size = framing === 'u16' ? 2 : 4;
		const prefix = Buffer.alloc(size);
		prefix.writeUIntBE(Math.min(entry.bytes, framing === 'u16' ? 0xFF_FF : 0xFF_FF_FF_FF), 0, size);
		return {before: `⟨${[...prefix].map((byte) => byte.toString(16).padStart(2, '0')).join(' ')}⟩ `, after: ''};
	}

	return {before: '', after: ''};
}

/** Lines a note may wrap onto, so a long error is read whole without pushing the rest away. */
const maxNoteLines = 3;

function contentWidthOf(width: number, isRelay = false): number {
	return Math.max(1, width - gutterWidth - timeWidth - (isRelay ? relayDirectionWidth : directionWidth) - sizeWidth);
}

/** A note's text cut into lines of the content column (the last one ends in '…' when cut). */
function noteLines(entry: LogEntry, width: number, isRelay = false): string[] {
	const contentWidth = contentWidthOf(width, isRelay);
	const text = safeText(entry.text ?? '', contentWidth * maxNoteLines);
	const lines: string[] = [];
	for (let start = 0; start < text.length && lines.length < maxNoteLines; start += contentWidth) {
		lines.push(text.slice(start, start + contentWidth));
	}

	return lines.length === 0 ? [''] : lines;
}

/** Rows a note takes in either view: up to three when its text is long. */
export function noteHeight(entry: LogEntry, width: number, isRelay = false): number {
	return entry.data ? 1 : noteLines(entry, width, isRelay).length;
}

/** Rows an entry takes in the hex view. */
export function hexEntryHeight(entry: LogEntry, width: number, bytesPerLine: number, maxHexLines: number, isRelay = false): number {
	if (!entry.data || entry.data.length === 0) {
		return noteHeight(entry, width, isRelay);
	}

	const lines = Math.ceil(entry.data.length / bytesPerLine);
	const shown = Math.min(lines, maxHexLines);
	return 1 + shown + (entry.bytes > shown * bytesPerLine ? 1 : 0);
}

/** 16 bytes a dump line when the pane is wide enough for `hexdump -C` lines, else 8. */
export function bytesPerLineFor(width: number): number {
	return width - 4 >= 78 ? 16 : 8;
}

/** For a datagram: `from 10.0.0.2:5000` (in) or `to 10.0.0.2:5000` (out); empty for anything else. */
export function datagramPeer(entry: LogEntry): string {
	return entry.kind === 'datagram' && entry.text !== undefined ? `${entry.direction === 'out' ? 'to' : 'from'} ${safeText(entry.text, 60)}` : '';
}

function Header({entry, isCursor, content, width, peer = '', isRelay = false}: {entry: LogEntry; isCursor: boolean; content: string; width: number; peer?: string; isRelay?: boolean}) {
	const style = entryStyle(entry);
	const size = entry.direction === 'note' ? '' : formatBytes(entry.bytes);
	return (
		<Text wrap="truncate-end" bold={isCursor}>
			{isCursor ? '› ' : '  '}
			<Text color={colors.muted}>{fit(formatTime(entry.at), timeWidth - 1)} </Text>
			<Text color={style.color}>{fit(style.label, (isRelay ? relayDirectionWidth : directionWidth) - 1)} </Text>
			{fit(size, sizeWidth - 2, 'right')}
			{'  '}
			{peer === '' ? null : <Text color={colors.muted}>{`${peer}  `.slice(0, Math.max(0, width))}</Text>}
			<Text color={entry.direction === 'note' ? style.color : undefined}>{content.slice(0, Math.max(0, width - (peer === '' ? 0 : peer.length + 2)))}</Text>
		</Text>
	);
}

/**
 * One log entry: time, direction, size, then the content. Network bytes are
 * painted only through toDisplay (text view) or hexDump (hex view), never
 * any other way, so a peer cannot move the cursor, recolour or retitle the
 * terminal.
 */
export const LogEntryView = memo(function LogEntryView({entry, mode, width, isCursor, bytesPerLine, maxHexLines, framing, isRelay = false}: LogEntryViewProps) {
	const contentWidth = contentWidthOf(width, isRelay);
	if (!entry.data) {
		const [first = '', ...more] = noteLines(entry, width, isRelay);
		const style = directionStyles[entry.isError ? 'error' : 'note'];
		return (
			<Box flexDirection="column">
				<Header entry={entry} isCursor={isCursor} content={first} width={contentWidth} isRelay={isRelay} />
				{more.map((line, index) => (
					// Continuation lines of one note: their order is their identity.
					<Text key={String(index)} wrap="truncate-end" color={style.color}>
						{' '.repeat(gutterWidth + timeWidth + (isRelay ? relayDirectionWidth : directionWidth) + sizeWidth)}
						{line}
					</Text>
				))}
			</Box>
		);
	}

	// A datagram says where it came from or went: UDP has no connection to say it for it.
	const peer = datagramPeer(entry);
	if (mode === 'text') {
		const isCut = entry.bytes > entry.data.length;
		const {before, after} = messageMarks(entry, framing);
		const room = Math.max(1, contentWidth - (peer === '' ? 0 : peer.length + 2) - before.length - after.length);
		const text = toDisplay(entry.data, {maxChars: room});
		return <Header entry={entry} isCursor={isCursor} peer={peer} content={before + (isCut && text.length < room ? `${text}…` : text) + after} width={contentWidth} isRelay={isRelay} />;
	}

	const shown = entry.data.subarray(0, maxHexLines * bytesPerLine);
	const more = entry.bytes - shown.length;
	return (
		<Box flexDirection="column">
			<Header entry={entry} isCursor={isCursor} content={peer === '' ? entry.kind : `${entry.kind} ${peer}`} width={contentWidth} isRelay={isRelay} />
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
