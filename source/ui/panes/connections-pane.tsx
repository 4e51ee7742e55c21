import {useMemo} from 'react';
import {Box, Text} from 'ink';
import {columnsWidth, fitColumns, type Column} from '../columns.js';
import {ConnectionRow, sparkWidth, type ConnectionColumn} from '../components/connection-row.js';
import {RelayRow} from '../components/relay-row.js';
import type {ConnectionItem} from '../connection-items.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {colors} from '../theme.js';
import type {ListPaneProps} from './list-pane.js';

/** Props of {@link ConnectionsPane}. */
export type ConnectionsPaneProps = ListPaneProps & {
	/** The lines to show (already filtered): connections, and relayed pairs as one line each (connection-items.ts). */
	readonly rows: readonly ConnectionItem[];
	/** Connections in the snapshot before filtering. */
	readonly total: number;
	/** Connections still open. */
	readonly open: number;
	/** The socket whose log is shown. */
	readonly selected: string | undefined;
	readonly onSelect: (id: string) => void;
	/** → / ←: show or hide a relay's two halves under it. */
	readonly onExpand: (id: string, isExpanded: boolean) => void;
	/** A command that connects to an open listener (`nc 127.0.0.1 8080`), for the empty pane to suggest. */
	readonly howToConnect?: string | undefined;
};

const rateWidth = 10 + sparkWidth + 2;

/**
 * The columns, with the id column as wide as the longest id (ids only grow,
 * so the last row's). Between 100 and 140 columns the rates and their
 * sparklines come before the origin and before padding the endpoints.
 */
const connectionColumns = (idWidth: number): ReadonlyArray<Column<ConnectionColumn>> => [
	{key: 'gutter', width: 3, priority: 0},
	{key: 'id', width: idWidth + 1, priority: 0},
	// Room for `local → remote` with IPv4 addresses comes after the rates (from 140 columns).
	{key: 'endpoints', width: 19, priority: 0, isFlexible: true, maxWidth: 64, grow: {width: 16, priority: 3}},
	{key: 'origin', width: 9, priority: 4},
	{key: 'state', width: 21, priority: 0},
	// Beside the state, so a stalled row reads `⚠ stalled  3 MiB`.
	{key: 'queued', width: 11, priority: 1},
	{key: 'in', width: 9, priority: 0},
	{key: 'out', width: 9, priority: 0},
	{key: 'rateIn', width: rateWidth, priority: 2},
	{key: 'rateOut', width: rateWidth, priority: 2},
	{key: 'framing', width: 9, priority: 5},
];

const headings: Record<ConnectionColumn, string> = {
	gutter: '',
	id: 'id',
	endpoints: 'local → remote',
	origin: 'origin',
	state: 'state',
	in: '      in',
	out: '     out',
	rateIn: '   rate in',
	rateOut: '  rate out',
	queued: '    queued',
	framing: 'framing',
};

/**
 * Pane 2: TCP connections. Only the rows that fit are rendered, and rows
 * are memoised by identity (the store keeps unchanged rows), so 10,000
 * connections scroll without rebuilding every row.
 */
export function ConnectionsPane({rows, total, open, filter, cursor, selected, isFocused, keys, width, height, onMove, onSelect, onExpand, howToConnect}: ConnectionsPaneProps) {
	const inner = width - 2;
	// Ids only grow, so the last line's is the longest; one more for a relay's ▸ or a half's └.
	const idWidth = Math.max(5, (rows.at(-1)?.id.length ?? 0) + 1);
	const columns = useMemo(() => fitColumns(inner, connectionColumns(idWidth)), [inner, idWidth]);
	const bodyHeight = Math.max(0, height - 3);
	const position = clampCursor(cursor, rows.length);
	const {start, end} = useScrollWindow(position, rows.length, bodyHeight);
	useListKeys({
		pane: 'connections',
		keys,
		count: rows.length,
		cursor,
		page: bodyHeight,
		onMove,
		onSelect(index) {
			onSelect(rows[index]!.id);
		},
		onExpand(index, isExpanded) {
			const item = rows[index]!;
			// ← on a half folds the relay it belongs to.
			const relay = item.kind === 'relay' ? item.id : item.row.relay;
			if (relay !== undefined && (item.kind === 'relay' || !isExpanded)) {
				onExpand(relay, isExpanded);
			}
		},
	});
	const where = rows.length > bodyHeight ? ` · ${start + 1}–${end} of ${rows.length}` : '';
	const detail = `(${open} open · ${total} total${filter ? ` · /${filter} ${rows.length} match` : ''}${where})`;
	const fill = Math.max(0, inner - columnsWidth(columns));
	const heading = useMemo(() => [...columns].map(([key, size]) => headings[key].padEnd(size).slice(0, size)).join(''), [columns]);
	return (
		<PaneFrame number={2} title="Connections" detail={detail} isFocused={isFocused} width={width} height={height}>
			<Text wrap="truncate-end" color={colors.muted}>
				{heading}
			</Text>
			{rows.length === 0 ? (
				<EmptyState
					text={
						filter
							? 'no connection matches the filter'
							: howToConnect
								? `no connections yet — from another terminal: ${howToConnect} · or :connect host:port`
								: 'no connections — :connect host:port, or connect to a listener'
					}
				/>
			) : (
				<Box flexDirection="column">
					{rows.slice(start, end).map((item, index) =>
						item.kind === 'relay' ? (
							<RelayRow
								key={item.id}
								relay={item.relay}
								client={item.client}
								server={item.server}
								isExpanded={item.isExpanded}
								columns={columns}
								isCursor={isFocused && start + index === position}
								isSelected={item.id === selected}
								fill={fill}
							/>
						) : (
							<ConnectionRow key={item.id} row={item.row} half={item.half} columns={columns} isCursor={isFocused && start + index === position} isSelected={item.id === selected} fill={fill} />
						),
					)}
				</Box>
			)}
		</PaneFrame>
	);
}
