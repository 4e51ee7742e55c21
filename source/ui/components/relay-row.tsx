import {memo} from 'react';
import {Text} from 'ink';
import type {ConnectionRow as ConnectionData, RelayRow as RelayData} from '../../core/index.js';
import {formatBytes} from '../../core/format/index.js';
import type {FittedColumns} from '../columns.js';
import {formatEndpoint, framingLabel, textWidth} from '../format.js';
import {colors, stateStyles} from '../theme.js';
import {cell, rateCell, type ConnectionColumn} from './connection-row.js';
import {RowLine} from './row-line.js';

/** Props of {@link RelayRow}. */
export type RelayRowProps = {
	readonly relay: RelayData;
	/** Its halves' rows (undefined once cleared, or before their first event). */
	readonly client: ConnectionData | undefined;
	readonly server: ConnectionData | undefined;
	readonly isExpanded: boolean;
	readonly columns: FittedColumns<ConnectionColumn>;
	readonly isCursor: boolean;
	/** Its log is the one shown. */
	readonly isSelected: boolean;
	readonly fill: number;
};

/** The state column of a relay: its server half's progress while open, how it ended once closed. */
export function relayStateText(relay: RelayData, server: ConnectionData | undefined): string {
	if (relay.state === 'closed') {
		return relay.closeReason === 'upstream-failed' ? `upstream-failed${relay.error ? ` ${relay.error.code}` : ''}` : (relay.closeReason ?? 'closed');
	}

	const held = relay.held.length > 0 ? ` · ${relay.held.length} held` : relay.intercept['to-server'] || relay.intercept['to-client'] ? ' · intercept' : '';
	return `${server?.state === 'connecting' ? 'connecting' : 'open'}${held}`;
}

/** `client ↔ target`, or only `↔ target` when both do not fit. */
function endpointsText(relay: RelayData, client: ConnectionData | undefined, width: number): string {
	const target = formatEndpoint(relay.target);
	const both = `${formatEndpoint(client?.remote)} ↔ ${target}`;
	return textWidth(both) < width ? both : `↔ ${target}`;
}

/**
 * A relayed pair as one row: `▸ R1  client ↔ upstream`, then `→` the bytes
 * the client sent on to the server and `←` those the server sent back, with
 * each way's rate. ▾ when its two halves are shown under it.
 */
export const RelayRow = memo(function RelayRow({relay, client, server, isExpanded, columns, isCursor, isSelected, fill}: RelayRowProps) {
	const isClosed = relay.state === 'closed';
	const isFailed = isClosed && relay.closeReason !== 'closed';
	const style = isClosed ? stateStyles[relay.closeReason === 'closed' ? 'closed' : relay.closeReason === 'reset' ? 'reset' : 'failed'] : stateStyles[server?.state ?? 'open'];
	const queued = (client?.queued ?? 0) + (server?.queued ?? 0);
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={isClosed && !isFailed}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${isSelected ? '•' : ' '}`)}
			{cell(columns, 'id', `${isExpanded ? '▾' : '▸'}${relay.id}`)}
			{cell(columns, 'endpoints', endpointsText(relay, client, columns.get('endpoints') ?? 0))}
			{cell(columns, 'origin', 'relay')}
			<Text color={style.color}>{cell(columns, 'state', `${style.glyph} ${relayStateText(relay, server)}`)}</Text>
			{cell(columns, 'queued', formatBytes(queued), 'right')}
			<Text color={colors.out}>{cell(columns, 'in', `→${formatBytes(relay.bytesToServer)}`, 'right')}</Text>
			<Text color={colors.in}>{cell(columns, 'out', `←${formatBytes(relay.bytesToClient)}`, 'right')}</Text>
			<Text color={colors.out}>{rateCell(columns, 'rateIn', client?.rateIn ?? 0, client?.historyIn ?? [])}</Text>
			<Text color={colors.in}>{rateCell(columns, 'rateOut', server?.rateIn ?? 0, server?.historyIn ?? [])}</Text>
			{cell(columns, 'framing', client ? framingLabel(client.framing, client.tls) : '')}
		</RowLine>
	);
});
