import {memo} from 'react';
import {Text} from 'ink';
import type {ListenerRow as ListenerData} from '../../core/index.js';
import {portClass, serviceName} from '../../core/ports.js';
import type {FittedColumns} from '../columns.js';
import {fit, formatEndpoint, framingLabel} from '../format.js';
import {colors} from '../theme.js';
import {RowLine} from './row-line.js';

/** Columns of the Listeners pane. */
export type ListenerColumn = 'gutter' | 'glyph' | 'id' | 'address' | 'counts' | 'class' | 'service' | 'state' | 'framing';

/** Props of {@link ListenerRow}. */
export type ListenerRowProps = {
	readonly row: ListenerData;
	readonly columns: FittedColumns<ListenerColumn>;
	readonly isCursor: boolean;
	/** Its log is the one shown. */
	readonly isSelected: boolean;
	/** Blank columns after the last cell, highlighted with the cursor. */
	readonly fill: number;
};

/** One cell of a Listeners-pane row: `text` fitted to its column and a space, or nothing when the column does not fit. */
export function listenerCell(columns: FittedColumns<ListenerColumn>, key: ListenerColumn, text: string, align: 'left' | 'right' = 'left'): string {
	const width = columns.get(key);
	return width === undefined ? '' : fit(text, width - 1, align) + ' ';
}

/** One listener: state, address, accepted/open, port class, service, framing; dimmed once closed. Cells follow the order of the pane's columns. */
export const ListenerRow = memo(function ListenerRow({row, columns, isCursor, isSelected, fill}: ListenerRowProps) {
	const isClosed = row.state === 'closed';
	const service = serviceName(row.port) ?? '—';
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={isClosed}>
			{listenerCell(columns, 'gutter', `${isCursor ? '›' : ' '}${isSelected ? '•' : ' '}`)}
			<Text color={isClosed ? colors.muted : 'green'}>{listenerCell(columns, 'glyph', isClosed ? '○' : '●')}</Text>
			{listenerCell(columns, 'id', row.id)}
			{listenerCell(columns, 'address', formatEndpoint(row))}
			{listenerCell(columns, 'counts', `${row.accepted} acc ${row.open} open`)}
			{listenerCell(columns, 'class', portClass(row.port))}
			{listenerCell(columns, 'service', service)}
			<Text color={isClosed ? colors.muted : 'green'}>{listenerCell(columns, 'state', row.state)}</Text>
			{listenerCell(columns, 'framing', framingLabel(row.framing, row.isTls))}
		</RowLine>
	);
});
