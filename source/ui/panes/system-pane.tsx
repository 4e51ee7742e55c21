import {useEffect, useMemo} from 'react';
import {Box, Text} from 'ink';
import type {SystemRow, SystemView} from '../../core/index.js';
import {columnsWidth, fitColumns} from '../columns.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {SystemDetails} from '../components/system-details.js';
import {ProcessGroupLine, systemColumns, systemHeadings, SystemSocketLine} from '../components/system-row.js';
import type {SystemPaneState} from '../hooks/use-dashboard-state.js';
import {moveCursor} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {useNow} from '../hooks/use-now.js';
import {actionOf, type KeyAction} from '../keys.js';
import {safeText} from '../format.js';
import {useCore} from '../store-context.js';
import {filterSystemRows, groupByProcess, sortSystemRows, type ProcessGroup} from '../system-rows.js';
import {colors} from '../theme.js';
import type {ListPaneProps} from './list-pane.js';

/** Props of {@link SystemPane}. */
export type SystemPaneProps = ListPaneProps & {
	readonly view: SystemView;
	readonly state: SystemPaneState;
	/** Seconds between refreshes while the pane is shown. @default 1 */
	readonly intervalMs?: number;
	readonly onToggleGrouping: () => void;
	readonly onNextSort: () => void;
	/** Show a socket's details (undefined: back to the list). */
	readonly onDetail: (key: string | undefined) => void;
	/** List every socket of a process. */
	readonly onProcess: (pid: number | null) => void;
	/** K on a socket. */
	readonly onDestroy: (row: SystemRow) => void;
	/** f on a socket. */
	readonly onForward: (row: SystemRow) => void;
	/** + (1) or - (-1): refresh less or more often. */
	readonly onStepInterval: (step: 1 | -1) => void;
	/** A key with nothing to act on: one line why. */
	readonly onComplain: (code: string, message: string) => void;
};

const paneActions: ReadonlySet<KeyAction> = new Set([
	'move-down',
	'move-up',
	'page-down',
	'page-up',
	'move-first',
	'move-last',
	'select',
	'cancel',
	'system-group',
	'system-sort',
	'system-process',
	'system-destroy',
	'system-forward',
	'system-slower',
	'system-faster',
]);

/**
 * Pane 5: every TCP and UDP socket of the machine, with its process,
 * queues, TCP counters and rates, per socket or totals per process. It
 * takes the whole panes area while focused, and the machine's sockets are
 * read only while it is shown (core.viewSystemSockets), or while a
 * `watch-sockets` runs.
 */
export function SystemPane({view, state, intervalMs = 1000, filter, cursor, isFocused, keys, width, height, onMove, onToggleGrouping, onNextSort, onDetail, onProcess, onDestroy, onForward, onStepInterval, onComplain}: SystemPaneProps) {
	const core = useCore();
	useEffect(() => core.viewSystemSockets(intervalMs), [core, intervalMs]);
	const now = useNow(1000, state.detail !== undefined);
	const inner = width - 2;
	const columns = useMemo(() => fitColumns(inner, systemColumns), [inner]);
	const shown = useMemo(() => filterSystemRows(view.sockets, filter), [view.sockets, filter]);
	const sockets = useMemo(() => (state.grouping === 'socket' ? sortSystemRows(shown, state.sort) : []), [shown, state.grouping, state.sort]);
	const groups = useMemo(() => (state.grouping === 'process' ? sortSystemRows(groupByProcess(shown, view.refreshes), state.sort) : []), [shown, state.grouping, state.sort, view.refreshes]);
	const count = state.grouping === 'socket' ? sockets.length : groups.length;
	const missingLines = view.missing.length > 0 ? 1 : 0;
	const bodyHeight = Math.max(0, height - 3 - missingLines);
	const position = clampCursor(cursor, count);
	const {start, end} = useScrollWindow(position, count, bodyHeight);
	const detailRow = state.detail === undefined ? undefined : view.sockets.find((row) => row.key === state.detail);
	const rowAt = (index: number): SystemRow | ProcessGroup | undefined => (state.grouping === 'socket' ? sockets[index] : groups[index]);

	keys.current.system = (typed, dashboard) => {
		const action = actionOf(typed.input, typed.key, paneActions);
		if (action === undefined || (action === 'cancel' && dashboard.system.detail === undefined)) {
			return false;
		}

		const at = clampCursor(dashboard.cursors.system, count);
		const isDetail = dashboard.system.detail !== undefined;
		// In the details view the keys act on the socket shown, else on the row under the cursor.
		const target = isDetail ? view.sockets.find((row) => row.key === dashboard.system.detail) : rowAt(at);
		const socket = target !== undefined && 'protocol' in target ? target : undefined;
		switch (action) {
			case 'select': {
				if (isDetail) {
					onDetail(undefined);
				} else if (socket) {
					onDetail(socket.key);
				} else if (target) {
					onProcess(target.pid);
				}

				break;
			}

			case 'cancel': {
				onDetail(undefined);
				break;
			}

			case 'system-slower':
			case 'system-faster': {
				onStepInterval(action === 'system-slower' ? 1 : -1);
				break;
			}

			case 'system-group': {
				onToggleGrouping();
				break;
			}

			case 'system-sort': {
				onNextSort();
				break;
			}

			case 'system-process': {
				if (target) {
					onProcess(target.pid);
				}

				break;
			}

			case 'system-destroy':
			case 'system-forward': {
				if (socket) {
					(action === 'system-destroy' ? onDestroy : onForward)(socket);
				} else {
					onComplain('NO_SELECTION', `${action === 'system-destroy' ? 'K' : 'f'}: pick one socket — t lists them per socket`);
				}

				break;
			}

			default: {
				if (!isDetail) {
					const next = moveCursor(action, at, count, bodyHeight);
					if (next !== dashboard.cursors.system) {
						onMove(next);
					}
				}
			}
		}

		return true;
	};

	const where = count > bodyHeight ? ` · ${start + 1}–${end} of ${count}` : '';
	const grouping = state.grouping === 'socket' ? 'per socket' : 'per process';
	const detail = `(${view.sockets.length} sockets · every ${intervalMs / 1000} s · ${grouping} · by ${state.sort}${filter ? ` · /${filter} ${shown.length} match` : ''}${where}) * netdash's own`;
	const fill = Math.max(0, inner - columnsWidth(columns));
	const heading = useMemo(() => [...columns].map(([key, size]) => systemHeadings[key].padEnd(size).slice(0, size)).join(''), [columns]);
	if (state.detail !== undefined) {
		return (
			<PaneFrame number={5} title="System · socket" isFocused={isFocused} width={width} height={height}>
				<SystemDetails row={detailRow} width={inner} height={height - 2} now={now} />
			</PaneFrame>
		);
	}

	return (
		<PaneFrame number={5} title="System" detail={detail} isFocused={isFocused} width={width} height={height}>
			{missingLines > 0 ? (
				<Text wrap="truncate-end" color={colors.warning}>
					{`cannot show: ${safeText(view.missing.join(' · '), 400)}`}
				</Text>
			) : null}
			<Text wrap="truncate-end" color={colors.muted}>
				{heading}
			</Text>
			{count === 0 ? (
				<EmptyState text={view.refreshedAt === undefined ? "reading the machine's sockets…" : filter ? 'no socket matches the filter' : 'no sockets found'} />
			) : (
				<Box flexDirection="column">
					{state.grouping === 'socket'
						? sockets.slice(start, end).map((row, index) => <SystemSocketLine key={row.key} row={row} columns={columns} refreshes={view.refreshes} isCursor={isFocused && start + index === position} fill={fill} />)
						: groups.slice(start, end).map((group, index) => <ProcessGroupLine key={group.key} group={group} columns={columns} isCursor={isFocused && start + index === position} fill={fill} />)}
				</Box>
			)}
		</PaneFrame>
	);
}
