import {memo} from 'react';
import {Text} from 'ink';
import type {UdpSocketRow as UdpSocketData} from '../../core/index.js';
import {portClass, serviceName} from '../../core/ports.js';
import type {FittedColumns} from '../columns.js';
import {formatEndpoint} from '../format.js';
import {colors} from '../theme.js';
import {RowLine} from './row-line.js';
import {listenerCell as cell, type ListenerColumn} from './listener-row.js';

/** Props of {@link UdpSocketRow}. */
export type UdpSocketRowProps = {
	readonly row: UdpSocketData;
	readonly columns: FittedColumns<ListenerColumn>;
	readonly isCursor: boolean;
	/** Its log is the one shown. */
	readonly isSelected: boolean;
	/** Blank columns after the last cell, highlighted with the cursor. */
	readonly fill: number;
};

/** `127.0.0.1:5000/udp`, and `→ peer` once connected: the port/protocol notation of /etc/services. */
export function udpAddress(row: UdpSocketData): string {
	return `${formatEndpoint(row)}/udp${row.remote ? ` → ${formatEndpoint(row.remote)}` : ''}`;
}

/**
 * One UDP socket in the Listeners pane, in the listeners' columns: address
 * with `/udp` (and its connected peer), datagrams in and out, port class,
 * service, broadcast on or off, and `datagram` where a listener shows its
 * framing. Dimmed once closed.
 */
export const UdpSocketRow = memo(function UdpSocketRow({row, columns, isCursor, isSelected, fill}: UdpSocketRowProps) {
	const isClosed = row.state === 'closed';
	const state = isClosed ? 'closed' : row.isBroadcast ? 'bcast on' : 'bcast off';
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={isClosed}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${isSelected ? '•' : ' '}`)}
			<Text color={isClosed ? colors.muted : row.error ? colors.warning : 'green'}>{cell(columns, 'glyph', isClosed ? '○' : '●')}</Text>
			{cell(columns, 'id', row.id)}
			{cell(columns, 'address', udpAddress(row))}
			{cell(columns, 'counts', `${row.datagramsIn} in ${row.datagramsOut} out`)}
			{cell(columns, 'class', portClass(row.port))}
			{cell(columns, 'service', serviceName(row.port, 'udp') ?? '—')}
			<Text color={isClosed ? colors.muted : row.isBroadcast ? colors.warning : undefined}>{cell(columns, 'state', state)}</Text>
			{cell(columns, 'framing', 'datagram')}
		</RowLine>
	);
});
