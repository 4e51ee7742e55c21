import {memo} from 'react';
import {Text} from 'ink';
import type {SystemRow as SystemRowData} from '../../core/index.js';
import type {Column, FittedColumns} from '../columns.js';
import {fit, formatEndpoint, safeText, textWidth} from '../format.js';
import {compactBytes, formatRtt, historyAt, processText, protocolText, remoteText, type ProcessGroup} from '../system-rows.js';
import {colors} from '../theme.js';
import {RowLine} from './row-line.js';
import {sparkline} from './sparkline.js';

/** Columns of the System pane. */
export type SystemColumn = 'gutter' | 'protocol' | 'endpoints' | 'state' | 'queues' | 'process' | 'rate' | 'spark' | 'bytes' | 'rtt';

/** Bars in a System row's sparkline (rates in and out added). */
const sparkWidth = 6;

/**
 * The columns, fitted by priority: at 80 columns the rates join the
 * required ones; at 100 both endpoints and the sparkline; from 120 the
 * bytes and the rtt.
 */
export const systemColumns: ReadonlyArray<Column<SystemColumn>> = [
	{key: 'gutter', width: 3, priority: 0},
	{key: 'protocol', width: 6, priority: 0},
	// Room for `127.0.0.1:45678 → 127.0.0.1:8080` comes after the rates (from 90 columns).
	{key: 'endpoints', width: 22, priority: 0, isFlexible: true, maxWidth: 60, grow: {width: 12, priority: 2}},
	{key: 'state', width: 11, priority: 0},
	{key: 'queues', width: 10, priority: 0},
	{key: 'process', width: 14, priority: 0, grow: {width: 6, priority: 5}},
	{key: 'rate', width: 10, priority: 1},
	{key: 'spark', width: sparkWidth + 1, priority: 3},
	{key: 'bytes', width: 10, priority: 4},
	{key: 'rtt', width: 7, priority: 5},
];

/** The heading of each column (`rate/s` and `in/acked` are in / out). */
export const systemHeadings: Record<SystemColumn, string> = {
	gutter: '',
	protocol: 'proto',
	endpoints: 'local → remote',
	state: 'state',
	queues: 'Recv/Send',
	process: 'pid process',
	rate: ' rate/s',
	spark: '',
	bytes: ' in/acked',
	rtt: '   rtt',
};

function cell(columns: FittedColumns<SystemColumn>, key: SystemColumn, text: string, align: 'left' | 'right' = 'left'): string {
	const width = columns.get(key);
	return width === undefined ? '' : fit(text, width - 1, align) + ' ';
}

/** `local → remote`, or `→ remote` alone when both do not fit. */
function endpointsText(row: SystemRowData, width: number): string {
	const both = `${formatEndpoint(row.local)} → ${remoteText(row)}`;
	return textWidth(both) < width || row.remote.port === 0 ? both : `→ ${remoteText(row)}`;
}

function pair(a: number | null, b: number | null): string {
	return a === null && b === null ? '–' : `${compactBytes(a)}/${compactBytes(b)}`;
}

function sum(a: readonly number[], b: readonly number[]): number[] {
	return a.map((value, index) => value + (b[index] ?? 0));
}

/** Props of {@link SystemSocketLine}. */
export type SystemSocketLineProps = {
	readonly row: SystemRowData;
	readonly columns: FittedColumns<SystemColumn>;
	/** Refreshes so far, to carry an unchanged row's sparkline forward. */
	readonly refreshes: number;
	readonly isCursor: boolean;
	readonly fill: number;
};

/** One socket of the machine; `*` in the gutter marks netdash's own. */
export const SystemSocketLine = memo(function SystemSocketLine({row, columns, refreshes, isCursor, fill}: SystemSocketLineProps) {
	const isUnknown = row.pid === null;
	const history = sum(historyAt(row.historyIn, row.sampledAt, refreshes), historyAt(row.historyOut, row.sampledAt, refreshes));
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={row.state === 'TIME-WAIT'}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${row.isOwn ? '*' : ' '}`)}
			{cell(columns, 'protocol', protocolText(row))}
			{cell(columns, 'endpoints', endpointsText(row, columns.get('endpoints') ?? 0))}
			{cell(columns, 'state', row.state)}
			<Text color={row.recvQueue + row.sendQueue > 0 ? colors.warning : undefined}>{cell(columns, 'queues', `${compactBytes(row.recvQueue)}/${compactBytes(row.sendQueue)}`, 'right')}</Text>
			<Text color={isUnknown ? colors.muted : undefined}>{cell(columns, 'process', safeText(processText(row), 60))}</Text>
			<Text color={colors.in}>{cell(columns, 'rate', pair(row.rateIn, row.rateOut), 'right')}</Text>
			<Text color={colors.in}>{cell(columns, 'spark', sparkline(history, sparkWidth))}</Text>
			{cell(columns, 'bytes', pair(row.bytesIn, row.bytesOut), 'right')}
			{cell(columns, 'rtt', formatRtt(row.rttMs), 'right')}
		</RowLine>
	);
});

/** Props of {@link ProcessGroupLine}. */
export type ProcessGroupLineProps = {
	readonly group: ProcessGroup;
	readonly columns: FittedColumns<SystemColumn>;
	readonly isCursor: boolean;
	readonly fill: number;
};

/** One program's sockets added up (grouped view): its name where the endpoints go, the counts under state and process. */
export const ProcessGroupLine = memo(function ProcessGroupLine({group, columns, isCursor, fill}: ProcessGroupLineProps) {
	const name = group.pid === null ? '? (process not readable)' : `${group.pid} ${group.process}`;
	return (
		<RowLine isCursor={isCursor} fill={fill}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${group.isOwn ? '*' : ' '}`)}
			{cell(columns, 'protocol', '')}
			{cell(columns, 'endpoints', safeText(name, 60))}
			{cell(columns, 'state', `${group.sockets} socket${group.sockets === 1 ? '' : 's'}`)}
			{cell(columns, 'queues', `${compactBytes(group.recvQueue)}/${compactBytes(group.sendQueue)}`, 'right')}
			{cell(columns, 'process', group.listening > 0 ? `${group.listening} listening` : '')}
			<Text color={colors.in}>{cell(columns, 'rate', pair(group.rateIn, group.rateOut), 'right')}</Text>
			<Text color={colors.in}>{cell(columns, 'spark', sparkline(sum(group.historyIn, group.historyOut), sparkWidth))}</Text>
			{cell(columns, 'bytes', pair(group.bytesIn, group.bytesOut), 'right')}
			{cell(columns, 'rtt', '')}
		</RowLine>
	);
});
