import {Box, Text} from 'ink';
import type {SystemRow} from '../../core/index.js';
import {formatBytes, formatRate} from '../../core/format/index.js';
import {bindingOf, keyLabel} from '../keys.js';
import {fit, formatEndpoint, formatTime, safeText} from '../format.js';
import {formatRtt, protocolText} from '../system-rows.js';
import {colors} from '../theme.js';

/** Props of {@link SystemDetails}. */
export type SystemDetailsProps = {
	/** The socket, or undefined once it is gone from the machine. */
	readonly row: SystemRow | undefined;
	readonly width: number;
	readonly height: number;
	readonly now: number;
};

function ageText(ms: number): string {
	const seconds = Math.max(0, Math.round(ms / 1000));
	return seconds < 60 ? `${seconds} s` : seconds < 3600 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

/** The lines of a socket's details: label and value. */
export function systemDetailLines(row: SystemRow, now: number): Array<[string, string]> {
	const isTcp = row.protocol === 'tcp';
	const lines: Array<[string, string]> = [
		['socket', `${protocolText(row)} ${formatEndpoint(row.local)} → ${row.remote.port === 0 ? '* (not connected)' : formatEndpoint(row.remote)}`],
		['state', row.state],
		['process', row.pid === null ? '?' : `pid ${row.pid} ${row.process}${row.isOwn ? " (netdash's own)" : ''}`],
	];
	if (row.whyUnknown !== undefined) {
		lines.push(['why ?', row.whyUnknown]);
	}

	lines.push(
		['owner', `uid ${row.uid} · inode ${row.inode === 0 ? '0 (no file holds it)' : row.inode}`],
		['queues', `Recv-Q ${row.recvQueue} B · Send-Q ${row.sendQueue} B`],
		['bytes', isTcp ? (row.bytesIn === null ? 'unknown (no socket diagnostics)' : `received ${formatBytes(row.bytesIn)} (${row.bytesIn} B) · acked ${formatBytes(row.bytesOut ?? 0)} (${row.bytesOut} B)`) : 'not counted for UDP'],
		['rtt', isTcp ? formatRtt(row.rttMs) : '–'],
		['rate', `in ${row.rateIn === null ? '–' : formatRate(row.rateIn)} · out ${row.rateOut === null ? '–' : formatRate(row.rateOut)}`],
		['seen', `since ${formatTime(row.firstSeen)} (${ageText(now - row.firstSeen)})`],
	);
	return lines;
}

/** A socket of the machine in full (enter in the System pane); esc goes back to the list. */
export function SystemDetails({row, width, height, now}: SystemDetailsProps) {
	const keys = ['select', 'system-process', 'system-destroy', 'system-forward'] as const;
	const hint = keys.map((action) => `${keyLabel(bindingOf(action))} ${action === 'select' ? 'back' : bindingOf(action).description}`).join(' · ');
	return (
		<Box flexDirection="column" width={width} height={height} paddingX={1}>
			{row === undefined ? (
				<Text color={colors.muted}>this socket is gone from the machine (closed since)</Text>
			) : (
				systemDetailLines(row, now).map(([label, value]) => (
					<Text key={label} wrap="wrap">
						<Text bold>{fit(label, 9)}</Text>
						{safeText(value, 200)}
					</Text>
				))
			)}
			<Text wrap="truncate-end" color={colors.muted}>
				{`esc or ${hint}`}
			</Text>
		</Box>
	);
}
