import {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {ListenerRow as ListenerData, RuleRow, UdpSocketRow as UdpSocketData} from '../../core/index.js';
import {columnsWidth, fitColumns, type Column} from '../columns.js';
import {ListenerRow, type ListenerColumn} from '../components/listener-row.js';
import {RuleLine} from '../components/rule-line.js';
import {UdpSocketRow} from '../components/udp-socket-row.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {colors} from '../theme.js';
import type {ListPaneProps} from './list-pane.js';

/** Props of {@link ListenersPane}. */
export type ListenersPaneProps = ListPaneProps & {
	/** The rows to show (already filtered). */
	readonly rows: readonly ListenerData[];
	/** UDP sockets to show below the listeners (already filtered); the cursor walks both lists as one. */
	readonly udpRows: readonly UdpSocketData[];
	/** Auto-reply rules, shown with their hit counts below the sockets (not filtered, not under the cursor). @default none */
	readonly rules?: readonly RuleRow[];
	/** Listeners and UDP sockets in the snapshot before filtering. */
	readonly total: number;
	/** The socket whose log is shown. */
	readonly selected: string | undefined;
	readonly onSelect: (id: string) => void;
};

const listenerColumns: ReadonlyArray<Column<ListenerColumn>> = [
	{key: 'gutter', width: 3, priority: 0},
	// ● listening / ○ closed: readable without colour, even where the state word does not fit.
	{key: 'glyph', width: 2, priority: 0},
	{key: 'id', width: 5, priority: 0},
	// The service name says more than the port class, and both more than padding the address.
	{key: 'address', width: 18, priority: 0, isFlexible: true, maxWidth: 48, grow: {width: 6, priority: 4}},
	// Counters stay exact: with 7 columns to spare after the others that fit (at 80, 100 and 120),
	// counts of up to 21 characters show whole ("103263 in 103263 out", "17000 acc 17000 open");
	// otherwise a cut count ends in …, and the Log pane's header has it whole.
	{key: 'counts', width: 15, priority: 1, grow: {width: 7, priority: 7}},
	{key: 'class', width: 11, priority: 5},
	{key: 'service', width: 12, priority: 3},
	{key: 'state', width: 10, priority: 2},
	{key: 'framing', width: 9, priority: 6},
];

const headings: Record<ListenerColumn, string> = {
	gutter: '',
	glyph: '',
	id: 'id',
	address: 'address',
	counts: 'conns / dgrams',
	class: 'port class',
	service: 'service',
	framing: 'framing',
	state: 'state',
};

/** The id of row `index` of the pane: listeners first, then UDP sockets. */
export function listenerPaneId(rows: readonly ListenerData[], udpRows: readonly UdpSocketData[], index: number): string | undefined {
	return index < rows.length ? rows[index]?.id : udpRows[index - rows.length]?.id;
}

/** Pane 1: TCP listeners, then UDP sockets, with the rows that fit and one cursor over both. */
export function ListenersPane({rows, udpRows, rules = [], total, filter, cursor, selected, isFocused, keys, width, height, onMove, onSelect}: ListenersPaneProps) {
	const inner = width - 2;
	const columns = useMemo(() => fitColumns(inner, listenerColumns), [inner]);
	const paneBody = Math.max(0, height - 3);
	const count = rows.length + udpRows.length;
	// Rules take the lines the sockets leave (at least one); when not all fit, the last says how many more `:rules` lists.
	const ruleLines = rules.length === 0 ? 0 : Math.min(rules.length, Math.max(1, paneBody - Math.max(1, count)));
	const shownRules = ruleLines >= rules.length ? rules : rules.slice(0, ruleLines - 1);
	const bodyHeight = Math.max(0, paneBody - ruleLines);
	const position = clampCursor(cursor, count);
	const {start, end} = useScrollWindow(position, count, bodyHeight);
	useListKeys({
		pane: 'listeners',
		keys,
		count,
		cursor,
		page: bodyHeight,
		onMove,
		onSelect(index) {
			const id = listenerPaneId(rows, udpRows, index);
			if (id !== undefined) {
				onSelect(id);
			}
		},
	});
	const open = rows.filter((row) => row.state === 'listening').length;
	const udpOpen = udpRows.filter((row) => row.state !== 'closed').length;
	const where = count > bodyHeight ? ` · ${start + 1}–${end} of ${count}` : '';
	const ruleCount = rules.length === 0 ? '' : ` · ${rules.length} rule${rules.length === 1 ? '' : 's'} ${rules.reduce((sum, rule) => sum + rule.hits, 0)} hits`;
	const detail = `(${open} open${udpRows.length > 0 ? ` · ${udpOpen} udp` : ''}${ruleCount}${filter ? ` · /${filter} ${count} of ${total}` : ''}${where})`;
	const fill = Math.max(0, inner - columnsWidth(columns));
	const heading = [...columns].map(([key, size]) => headings[key].padEnd(size).slice(0, size)).join('');
	return (
		<PaneFrame number={1} title="Listeners" detail={detail} isFocused={isFocused} width={width} height={height}>
			<Text wrap="truncate-end" color={colors.muted}>
				{heading}
			</Text>
			{count === 0 ? (
				<EmptyState text={filter ? 'no listener matches the filter' : 'no listeners — :listen 8080, --listen 8080, or UDP: :udp 9000'} />
			) : (
				<Box flexDirection="column">
					{rows.slice(start, Math.min(end, rows.length)).map((row, index) => (
						<ListenerRow key={row.id} row={row} columns={columns} isCursor={isFocused && start + index === position} isSelected={row.id === selected} fill={fill} />
					))}
					{udpRows.slice(Math.max(0, start - rows.length), Math.max(0, end - rows.length)).map((row, index) => (
						<UdpSocketRow
							key={row.id}
							row={row}
							columns={columns}
							isCursor={isFocused && Math.max(start, rows.length) + index === position}
							isSelected={row.id === selected}
							fill={fill}
						/>
					))}
				</Box>
			)}
			{ruleLines > 0 ? <RulesBlock more={rules.length - shownRules.length} shown={shownRules} width={inner} /> : null}
		</PaneFrame>
	);
}

/** The auto-reply rules under the sockets: one line per rule shown, then how many more `:rules` lists. */
function RulesBlock({shown, more, width}: {readonly shown: readonly RuleRow[]; readonly more: number; readonly width: number}) {
	return (
		<Box flexDirection="column">
			{shown.map((rule) => (
				<RuleLine key={rule.rule} rule={rule} width={width} />
			))}
			{more > 0 ? (
				<Text wrap="truncate-end" color={colors.muted}>
					{`   … ${more} more rule${more === 1 ? '' : 's'}: :rules`}
				</Text>
			) : null}
		</Box>
	);
}
