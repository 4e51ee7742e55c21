import {memo} from 'react';
import {Text} from 'ink';
import type {ConnectionRow as ConnectionData} from '../../core/index.js';
import {formatBytes, formatRate} from '../../core/format/index.js';
import type {FittedColumns} from '../columns.js';
import {fit, formatEndpoint, framingLabel, textWidth} from '../format.js';
import {colors, stateStyles} from '../theme.js';
import {RowLine} from './row-line.js';
import {sparkline} from './sparkline.js';

/** Columns of the Connections pane. */
export type ConnectionColumn = 'gutter' | 'id' | 'endpoints' | 'origin' | 'state' | 'in' | 'out' | 'rateIn' | 'rateOut' | 'queued' | 'framing';

/** Props of {@link ConnectionRow}. */
export type ConnectionRowProps = {
	readonly row: ConnectionData;
	readonly columns: FittedColumns<ConnectionColumn>;
	readonly isCursor: boolean;
	/** Its log is the one shown. */
	readonly isSelected: boolean;
	/** Blank columns after the last cell (the pane's width less the columns'), highlighted with the cursor. */
	readonly fill: number;
	/** Shown under its relay's row as this half of it. */
	readonly half?: 'client' | 'server' | undefined;
};

/** Bars in a rate's sparkline. */
export const sparkWidth = 8;

/** A cell of the Connections pane's columns: the text fitted to the column, or nothing when the column is not shown. */
export function cell(columns: FittedColumns<ConnectionColumn>, key: ConnectionColumn, text: string, align: 'left' | 'right' = 'left'): string {
	const width = columns.get(key);
	return width === undefined ? '' : fit(text, width - 1, align) + ' ';
}

/** `local → remote`, or only `→ remote` when both do not fit. */
function endpointsText(row: ConnectionData, width: number): string {
	const remote = formatEndpoint(row.remote);
	const both = `${formatEndpoint(row.local)} → ${remote}`;
	return textWidth(both) < width ? both : `→ ${remote}`;
}

/** A rate and its sparkline, in one of the rate columns. */
export function rateCell(columns: FittedColumns<ConnectionColumn>, key: 'rateIn' | 'rateOut', rate: number, history: readonly number[]): string {
	const width = columns.get(key);
	return width === undefined ? '' : `${fit(formatRate(rate), width - sparkWidth - 2, 'right')} ${sparkline(history, sparkWidth)} `;
}

/** The state column: the state, and for a half-open connection whose peer sent FIN, how long it has waited. */
export function stateText(row: ConnectionData): string {
	if (!row.isHalfOpen || row.closedAt !== undefined) {
		return row.state;
	}

	// Half-open: the peer's FIN does not close it. Once the FIN came, say how long it has waited on us.
	if (row.state === 'half-closed-remote') {
		return `half-open ${formatWait(row.waitedMs)}`;
	}

	return row.state === 'open' ? 'open · half-open' : row.state;
}

/**
 * What the state cell adds for a TLS connection still open: the protocol
 * version, `!` when the peer went unverified (--insecure), and the ALPN
 * protocol. The Log of the connection has the rest (cipher, certificate).
 */
export function tlsText(row: ConnectionData): string {
	if (!row.tls || row.closedAt !== undefined) {
		return '';
	}

	return ` · ${row.tls.protocol}${row.tls.isInsecure ? '!' : ''}${row.tls.alpn ? ` ${row.tls.alpn}` : ''}`;
}

/** 9s, 4m05s, 2h03m. */
function formatWait(ms: number): string {
	const seconds = Math.floor(ms / 1000);
	if (seconds < 60) {
		return `${seconds}s`;
	}

	const minutes = Math.floor(seconds / 60);
	if (minutes < 60) {
		return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
	}

	return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * One connection. Closed rows are dimmed until cleared; a queue that keeps
 * growing (the peer is not reading) is marked with ⚠ as well as colour, and
 * a queue that has stopped draining altogether says `⚠ stalled` in the
 * state column, with the bytes it holds right beside it in the queued one.
 */
export const ConnectionRow = memo(function ConnectionRow({row, columns, isCursor, isSelected, fill, half}: ConnectionRowProps) {
	const isClosed = row.closedAt !== undefined;
	const state = stateStyles[row.state];
	const endpointsWidth = columns.get('endpoints') ?? 0;
	const isWarning = row.isStalled || row.isQueueGrowing;
	const shownState = row.isStalled ? '⚠ stalled' : `${state.glyph} ${stateText(row)}${tlsText(row)}`;
	const queued = !row.isStalled && row.isQueueGrowing ? `⚠ ${formatBytes(row.queued)}` : formatBytes(row.queued);
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={isClosed}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${isSelected ? '•' : ' '}`)}
			{cell(columns, 'id', half ? `└${row.id}` : row.id)}
			{cell(columns, 'endpoints', endpointsText(row, endpointsWidth))}
			{cell(columns, 'origin', half ?? row.origin)}
			<Text color={row.isStalled ? colors.error : state.color} bold={row.isStalled}>
				{cell(columns, 'state', shownState)}
			</Text>
			<Text color={isWarning ? colors.error : undefined} bold={isWarning}>
				{cell(columns, 'queued', queued, 'right')}
			</Text>
			<Text color={colors.in}>{cell(columns, 'in', formatBytes(row.bytesIn), 'right')}</Text>
			<Text color={colors.out}>{cell(columns, 'out', formatBytes(row.bytesOut), 'right')}</Text>
			<Text color={colors.in}>{rateCell(columns, 'rateIn', row.rateIn, row.historyIn)}</Text>
			<Text color={colors.out}>{rateCell(columns, 'rateOut', row.rateOut, row.historyOut)}</Text>
			{cell(columns, 'framing', framingLabel(row.framing, row.tls))}
		</RowLine>
	);
});
