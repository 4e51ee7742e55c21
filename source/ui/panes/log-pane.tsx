import {useCallback, useMemo} from 'react';
import {Box, Text} from 'ink';
import {emptyLogView, type LogEntry, type LogView} from '../../core/index.js';
import {formatBytes} from '../../core/format/index.js';
import {bytesPerLineFor, hexEntryHeight, LogEntryView, noteHeight} from '../components/log-entry-view.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import type {PaneKeys} from '../hooks/pane-keys.js';
import {moveCursor} from '../hooks/use-list-keys.js';
import {useLogWindow} from '../hooks/use-log-window.js';
import {actionOf, type KeyAction} from '../keys.js';
import {filterLog, indexAtOrBefore} from '../log-filter.js';
import {useSnapshot} from '../store-context.js';
import {colors} from '../theme.js';

/** Props of {@link LogPane}. */
export type LogPaneProps = {
	/** The socket whose log is shown. */
	readonly socket: string | undefined;
	/** One line about that socket for the title, e.g. `127.0.0.1:5000 → 127.0.0.1:41234 open`. */
	readonly description: string;
	/** The socket's framing, when it is a connection (`raw`, `line`, `u16`, …). */
	readonly framing?: string | undefined;
	readonly mode: 'text' | 'hex';
	readonly isFollowing: boolean;
	/** While not following: seq of the entry under the cursor. */
	readonly cursorSeq: number | undefined;
	readonly filter: string;
	readonly isFocused: boolean;
	/** Where the pane leaves its key handler (the dashboard calls it while the Log has focus). */
	readonly keys: PaneKeys;
	readonly width: number;
	readonly height: number;
	/** Follow the newest entries, or stop at the entry with this seq. */
	readonly onFollow: (isFollowing: boolean, cursorSeq?: number) => void;
	/** Enter or v: read the entry under the cursor in full. */
	readonly onOpen: (entry: LogEntry) => void;
	/** y: copy the entry under the cursor. */
	readonly onCopy: (entry: LogEntry) => void;
};

const logActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last', 'select', 'open-entry', 'copy']);

/**
 * Pane 3: the send/receive log of the selected socket, windowed over the
 * store's bounded log (only the entries that fit are rendered; never
 * <Static>), following the newest entries until paused.
 */
export function LogPane({socket, description, framing, mode, isFollowing, cursorSeq, filter, isFocused, keys, width, height, onFollow, onOpen, onCopy}: LogPaneProps) {
	const view: LogView = useSnapshot((snapshot) => (socket === undefined ? undefined : snapshot.logs.get(socket))) ?? emptyLogView;
	const rows = useMemo(() => filterLog(view, filter), [view, filter]);
	const inner = width - 2;
	// A relay's log (issue 13): both directions interleaved, each entry saying which way.
	const isRelay = socket?.startsWith('R') ?? false;
	const evictedLine = view.evicted > 0;
	const bodyHeight = Math.max(0, height - 2 - (evictedLine ? 1 : 0));
	const bytesPerLine = bytesPerLineFor(inner);
	const maxHexLines = Math.max(1, Math.min(16, bodyHeight - 2));
	const heightOf = useCallback(
		(index: number) => Math.min(bodyHeight, mode === 'text' ? noteHeight(rows.at(index), inner, isRelay) : hexEntryHeight(rows.at(index), inner, bytesPerLine, maxHexLines, isRelay)),
		[mode, rows, inner, bytesPerLine, maxHexLines, bodyHeight, isRelay],
	);
	const cursor = isFollowing || cursorSeq === undefined ? rows.length - 1 : indexAtOrBefore(rows, cursorSeq);
	const {start, end} = useLogWindow({count: rows.length, cursor, height: bodyHeight, heightOf, isFollowing});

	keys.current.log = (typed, state) => {
		const action = actionOf(typed.input, typed.key, logActions);
		if (action === undefined) {
			return false;
		}

		// The cursor as the keys before this one left it.
		const position = state.isFollowing || state.logCursor === undefined ? rows.length - 1 : indexAtOrBefore(rows, state.logCursor);
		if (rows.length === 0 || position < 0) {
			return true;
		}

		if (action === 'select' || action === 'open-entry') {
			onOpen(rows.at(position));
		} else if (action === 'copy') {
			onCopy(rows.at(position));
		} else if (action === 'move-last') {
			if (!state.isFollowing) {
				onFollow(true);
			}
		} else {
			onFollow(false, rows.at(moveCursor(action, position, rows.length, bodyHeight)).seq);
		}

		return true;
	};

	const state = isFollowing ? 'following' : `paused ${Math.max(0, cursor) + 1}/${rows.length}`;
	// What the keys change comes first: a narrow title cuts the addresses, not the mode.
	const detail = socket === undefined ? '' : `${socket} · ${state} · ${mode}${filter ? ` · /${filter}` : ''} · ${description}`;
	const entries = [];
	let previousKey = '';
	let repeat = 0;
	for (let index = start; index < end; index++) {
		const entry = rows.at(index);
		// One event may log several entries (a datagram and its fragment warning, a TLS session's notes),
		// always side by side: seq and kind, and which of those it is, are unique.
		const key = `${entry.seq}:${entry.kind}`;
		repeat = key === previousKey ? repeat + 1 : 0;
		previousKey = key;
		entries.push(
			<LogEntryView
				key={`${key}:${repeat}`}
				entry={entry}
				mode={mode}
				width={inner}
				isCursor={!isFollowing && index === cursor}
				bytesPerLine={bytesPerLine}
				maxHexLines={maxHexLines}
				framing={framing}
				isRelay={isRelay}
			/>,
		);
	}

	return (
		<PaneFrame number={3} title="Log" detail={detail} isFocused={isFocused} width={width} height={height}>
			{evictedLine ? (
				<Text wrap="truncate-end" color={colors.warning}>
					{`⋯ ${view.evicted} older entries evicted (${formatBytes(view.evictedBytes)}) to keep the log within its budget`}
				</Text>
			) : null}
			{socket === undefined ? (
				<EmptyState text="select a connection or listener with enter to see its log" />
			) : rows.length === 0 ? (
				<EmptyState text={filter ? 'no entry matches the filter' : 'nothing logged yet'} />
			) : (
				<Box flexDirection="column" height={bodyHeight} overflow="hidden">
					{entries}
				</Box>
			)}
		</PaneFrame>
	);
}
