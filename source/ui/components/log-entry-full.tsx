import {Box, Text} from 'ink';
import type {LogEntry} from '../../core/index.js';
import {formatBytes, hexDump, toDisplay} from '../../core/format/index.js';
import type {PaneKeys} from '../hooks/pane-keys.js';
import {moveCursor} from '../hooks/use-list-keys.js';
import {actionOf, type KeyAction} from '../keys.js';
import {formatTime, safeText} from '../format.js';
import {colors, directionStyles} from '../theme.js';
import {bytesPerLineFor, datagramPeer, entryStyle, messageMarks} from './log-entry-view.js';
import {PaneFrame} from './pane-frame.js';

/** Props of {@link LogEntryFull}. */
export type LogEntryFullProps = {
	/** The entry; undefined once the bounded log has evicted it. */
	readonly entry: LogEntry | undefined;
	readonly socket: string;
	/** The connection's framing (`raw`, `line`, `u16`, …), to mark delimiters and prefixes. */
	readonly framing: string | undefined;
	readonly width: number;
	readonly height: number;
	/** First body line shown. */
	readonly scroll: number;
	/** Where the view leaves its key handler (it takes every key while open). */
	readonly keys: PaneKeys;
	readonly onScroll: (scroll: number) => void;
	readonly onClose: () => void;
	readonly onCopy: (entry: LogEntry) => void;
	readonly onToggleHex: () => void;
};

/** The bytes of one UTF-8 sequence starting with `lead` (1 for anything that cannot start one). */
function sequenceSize(lead: number): number {
	return lead < 0xC2 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 1;
}

/**
 * The entry's bytes as text lines of at most `room` characters, each with
 * the offset of its first byte; a line also ends after each LF, so a
 * request or a log file reads line by line. Every byte passes through
 * toDisplay, so the view is as safe to paint as the one-line log.
 */
export function textLines(data: Uint8Array, room: number): Array<{offset: number; text: string}> {
	const lines: Array<{offset: number; text: string}> = [];
	let offset = 0;
	let text = '';
	let index = 0;
	while (index < data.length) {
		let size = Math.min(sequenceSize(data[index]!), data.length - index);
		let piece = toDisplay(data.subarray(index, index + size));
		if (size > 1 && piece.includes('\\x')) {
			// Not a well-formed sequence: one byte at a time, as toDisplay would show it.
			size = 1;
			piece = toDisplay(data.subarray(index, index + 1));
		}

		if (text.length + piece.length > room && text !== '') {
			lines.push({offset, text});
			offset = index;
			text = '';
		}

		text += piece;
		index += size;
		if (data[index - 1] === 0x0A) {
			lines.push({offset, text});
			offset = index;
			text = '';
		}
	}

	if (text !== '' || lines.length === 0) {
		lines.push({offset, text});
	}

	return lines;
}

/** How the framing cut this message out of the stream, for the header: what is not in the bytes shown. */
export function framingMark(entry: LogEntry, framing: string | undefined): string {
	if (entry.kind !== 'message' || framing === undefined) {
		return '';
	}

	if (framing === 'line') {
		return entry.isCrlf ? '␍⏎ ended by CRLF (0d 0a, not in the bytes)' : '⏎ ended by LF (0a, not in the bytes)';
	}

	if (framing === 'u16' || framing === 'u32') {
		return `${messageMarks(entry, framing).before}${framing} length prefix = ${entry.bytes} (not in the bytes)`;
	}

	return `${framing}: exactly ${entry.bytes} bytes, no delimiter`;
}

/** Every line of the view after its header: the text, wrapped, then the hex dump. */
export function fullEntryLines(entry: LogEntry, framing: string | undefined, width: number): Array<{text: string; isHeading?: boolean}> {
	if (!entry.data) {
		// A note: its whole text, wrapped.
		const text = safeText(entry.text ?? '');
		const lines = [];
		for (let start = 0; start < text.length || start === 0; start += Math.max(1, width)) {
			lines.push({text: text.slice(start, start + width)});
		}

		return lines;
	}

	const lines: Array<{text: string; isHeading?: boolean}> = [];
	const mark = framingMark(entry, framing);
	if (mark !== '') {
		lines.push({text: mark, isHeading: true});
	}

	lines.push({text: 'text (offset  bytes as text; \\\\ is a backslash, \\t a TAB)', isHeading: true});
	for (const line of textLines(entry.data, Math.max(1, width - 10))) {
		lines.push({text: `${line.offset.toString(16).padStart(8, '0')}  ${line.text}`});
	}

	lines.push({text: '', isHeading: false}, {text: 'hex', isHeading: true});
	for (const line of hexDump(entry.data, {width: bytesPerLineFor(width)})) {
		lines.push({text: line});
	}

	if (entry.bytes > entry.data.length) {
		lines.push({text: `… ${formatBytes(entry.bytes - entry.data.length)} more on the wire: the log keeps the first ${formatBytes(entry.data.length)} of an entry`, isHeading: true});
	}

	return lines;
}

const scrollActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last', 'toggle-hex', 'copy', 'cancel', 'quit', 'select', 'open-entry']);

/**
 * One log entry read in full, in place of the panes: direction, time, size,
 * framing, then the bytes as wrapped text with offsets and as a hex dump,
 * scrolled with j/k, pages, g/G; y copies it, esc, q, enter or v close it.
 */
export function LogEntryFull({entry, socket, framing, width, height, scroll, keys, onScroll, onClose, onCopy, onToggleHex}: LogEntryFullProps) {
	const inner = width - 2;
	const bodyHeight = Math.max(1, height - 3);
	const lines = entry ? fullEntryLines(entry, framing, inner) : [{text: 'this entry has left the bounded log (esc closes)'}];
	const last = Math.max(0, lines.length - bodyHeight);
	const top = Math.min(scroll, last);

	keys.current.entry = (typed, state) => {
		const action = actionOf(typed.input, typed.key, scrollActions);
		switch (action) {
			case 'cancel':
			case 'quit':
			case 'select':
			case 'open-entry': {
				onClose();
				break;
			}

			case 'copy': {
				if (entry) {
					onCopy(entry);
				}

				break;
			}

			case 'toggle-hex': {
				onToggleHex();
				break;
			}

			case undefined: {
				break;
			}

			default: {
				// The scroll position as a cursor over the first lines a window can start at, from
				// where the key before left it (in a burst, that is not yet drawn).
				onScroll(moveCursor(action, Math.min(state.entryView?.scroll ?? top, last), last + 1, bodyHeight));
			}
		}

		return true;
	};

	const style = entry ? entryStyle(entry) : directionStyles.note;
	const peer = entry ? datagramPeer(entry) : '';
	const size = entry ? (entry.direction === 'note' ? 'note' : `${formatBytes(entry.bytes)} ${entry.kind}`) : '';
	const where = lines.length > bodyHeight ? ` · lines ${top + 1}–${Math.min(lines.length, top + bodyHeight)} of ${lines.length}` : '';
	return (
		<PaneFrame number={3} title="Entry" detail={`${socket}${where} · esc closes · y copies · x hex`} isFocused width={width} height={height}>
			<Text wrap="truncate-end">
				<Text color={style.color}>{style.label}</Text>
				{entry ? `  ${formatTime(entry.at)}  ${size}${peer === '' ? '' : `  ${peer}`}` : ''}
			</Text>
			<Box flexDirection="column" height={bodyHeight} overflow="hidden">
				{lines.slice(top, top + bodyHeight).map((line, index) => (
					// Lines of one entry: their position is their identity.
					<Text key={String(top + index)} wrap="truncate-end" color={line.isHeading ? colors.muted : undefined}>
						{line.text === '' ? ' ' : line.text}
					</Text>
				))}
			</Box>
		</PaneFrame>
	);
}
