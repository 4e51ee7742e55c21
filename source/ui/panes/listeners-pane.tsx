import {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {ListenerRow as ListenerData} from '../../core/index.js';
import {fitColumns, type Column} from '../columns.js';
import {ListenerRow, type ListenerColumn} from '../components/listener-row.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {colors} from '../theme.js';

/** Props of {@link ListenersPane}. */
export type ListenersPaneProps = {
	/** The rows to show (already filtered). */
	readonly rows: readonly ListenerData[];
	/** Listeners in the snapshot before filtering. */
	readonly total: number;
	readonly filter: string;
	readonly cursor: number;
	readonly selected: string | undefined;
	readonly isFocused: boolean;
	/** Keys go to this pane (focused, no prompt open). */
	readonly isActive: boolean;
	readonly width: number;
	readonly height: number;
	readonly onMove: (index: number) => void;
	readonly onSelect: (id: string) => void;
};

const listenerColumns: ReadonlyArray<Column<ListenerColumn>> = [
	{key: 'gutter', width: 3, priority: 0},
	// ● listening / ○ closed: readable without colour, even where the state word does not fit.
	{key: 'glyph', width: 2, priority: 0},
	{key: 'id', width: 5, priority: 0},
	{key: 'address', width: 18, priority: 0, isFlexible: true, maxWidth: 48, grow: {width: 6, priority: 3}},
	{key: 'counts', width: 15, priority: 1},
	{key: 'class', width: 11, priority: 4},
	{key: 'service', width: 12, priority: 5},
	{key: 'state', width: 10, priority: 2},
	{key: 'framing', width: 9, priority: 6},
];

const headings: Record<ListenerColumn, string> = {
	gutter: '',
	glyph: '',
	id: 'id',
	address: 'address',
	counts: 'connections',
	class: 'port class',
	service: 'service',
	framing: 'framing',
	state: 'state',
};

/** Pane 1: TCP listeners, with the rows that fit and a cursor. */
export function ListenersPane({rows, total, filter, cursor, selected, isFocused, isActive, width, height, onMove, onSelect}: ListenersPaneProps) {
	const inner = width - 2;
	const columns = useMemo(() => fitColumns(inner, listenerColumns), [inner]);
	const bodyHeight = Math.max(0, height - 3);
	const position = clampCursor(cursor, rows.length);
	const {start, end} = useScrollWindow(position, rows.length, bodyHeight);
	useListKeys({
		isActive,
		count: rows.length,
		cursor,
		page: bodyHeight,
		onMove,
		onSelect(index) {
			onSelect(rows[index]!.id);
		},
	});
	const open = rows.filter((row) => row.state === 'listening').length;
	const detail = `(${open} open${filter ? ` · /${filter} ${rows.length} of ${total}` : ''})`;
	const heading = [...columns].map(([key, size]) => headings[key].padEnd(size).slice(0, size)).join('');
	return (
		<PaneFrame number={1} title="Listeners" detail={detail} isFocused={isFocused} width={width} height={height}>
			<Text wrap="truncate-end" color={colors.muted}>
				{heading}
			</Text>
			{rows.length === 0 ? (
				<EmptyState text={filter ? 'no listener matches the filter' : 'no listeners — :listen 8080 or --listen 8080'} />
			) : (
				<Box flexDirection="column">
					{rows.slice(start, end).map((row, index) => (
						<ListenerRow key={row.id} row={row} columns={columns} isCursor={isFocused && start + index === position} isSelected={row.id === selected} />
					))}
				</Box>
			)}
		</PaneFrame>
	);
}
