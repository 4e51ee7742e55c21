import {memo} from 'react';
import {Text} from 'ink';
import type {ListenerRow as ListenerData} from '../../core/index.js';
import {portClass, serviceName} from '../../core/ports.js';
import type {FittedColumns} from '../columns.js';
import {fit, formatEndpoint} from '../format.js';
import {colors} from '../theme.js';

/** Columns of the Listeners pane. */
export type ListenerColumn = 'gutter' | 'glyph' | 'id' | 'address' | 'counts' | 'class' | 'service' | 'state' | 'framing';

/** Props of {@link ListenerRow}. */
export type ListenerRowProps = {
	readonly row: ListenerData;
	readonly columns: FittedColumns<ListenerColumn>;
	readonly isCursor: boolean;
	/** Its log is the one shown. */
	readonly isSelected: boolean;
};

function cell(columns: FittedColumns<ListenerColumn>, key: ListenerColumn, text: string, align: 'left' | 'right' = 'left'): string {
	const width = columns.get(key);
	return width === undefined ? '' : fit(text, width - 1, align) + ' ';
}

/** One listener: state, address, accepted/open, port class, service, framing; dimmed once closed. Cells follow the order of the pane's columns. */
export const ListenerRow = memo(function ListenerRow({row, columns, isCursor, isSelected}: ListenerRowProps) {
	const isClosed = row.state === 'closed';
	const service = serviceName(row.port) ?? '—';
	return (
		<Text wrap="truncate-end" dimColor={isClosed} bold={isCursor}>
			{cell(columns, 'gutter', `${isCursor ? '›' : ' '}${isSelected ? '•' : ' '}`)}
			<Text color={isClosed ? colors.muted : 'green'}>{cell(columns, 'glyph', isClosed ? '○' : '●')}</Text>
			{cell(columns, 'id', row.id)}
			{cell(columns, 'address', formatEndpoint(row))}
			{cell(columns, 'counts', `${row.accepted} acc ${row.open} open`)}
			{cell(columns, 'class', portClass(row.port))}
			{cell(columns, 'service', service)}
			<Text color={isClosed ? colors.muted : 'green'}>{cell(columns, 'state', row.state)}</Text>
			{cell(columns, 'framing', row.framing)}
		</Text>
	);
});
