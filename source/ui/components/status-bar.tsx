import {Box, Text} from 'ink';
import type {Notice, Totals} from '../../core/index.js';
import {formatBytes, formatRate} from '../../core/format/index.js';
import {formatTime, safeText} from '../format.js';
import {colors} from '../theme.js';

/** A notice as one line: `✗ 12:34:56 C3: connection refused by …`, safe to paint. */
export function noticeText(notice: Notice, maxChars: number): string {
	const mark = notice.level === 'error' ? '✗' : '·';
	// Some messages already start with their socket ("C3 stalled: …"): no "C3: C3".
	const prefix = notice.target && !notice.message.startsWith(`${notice.target} `) ? `${safeText(notice.target)}: ` : '';
	return `${mark} ${formatTime(notice.at).slice(0, 8)} ${prefix}${safeText(notice.message, maxChars)}`;
}

/** Props of {@link StatusBar}. */
export type StatusBarProps = {
	readonly totals: Totals;
	/** UDP sockets open (they have no place in the TCP totals). @default 0 */
	readonly udpOpen?: number;
	/** The newest notice (a failure or a fact worth a line), once the bottom line no longer shows it. */
	readonly notice: Notice | undefined;
	readonly width: number;
};

/**
 * One line of totals: open sockets, bytes and rates each way, log entries
 * evicted, refused clients and kernel UDP drops (when there are any), and
 * the last notice (e.g. a refused connection) once the bottom
 * line has stopped showing it. Notices are painted through toDisplayString.
 */
export function StatusBar({totals, udpOpen = 0, notice, width}: StatusBarProps) {
	const evicted = totals.evictedEntries > 0 ? `evicted ${totals.evictedEntries}` : 'evicted 0';
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end">
				<Text bold>{`${totals.listeners} listening · ${totals.connections} open${udpOpen > 0 ? ` · ${udpOpen} udp` : ''}`}</Text>
				{'  '}
				<Text color={colors.in}>{`← ${formatBytes(totals.bytesIn)} ${formatRate(totals.rateIn)}`}</Text>
				{'  '}
				<Text color={colors.out}>{`→ ${formatBytes(totals.bytesOut)} ${formatRate(totals.rateOut)}`}</Text>
				{'  '}
				<Text color={totals.evictedEntries > 0 ? colors.warning : colors.muted}>{evicted}</Text>
				{totals.refused > 0 ? <Text color={colors.warning}>{`  refused ${totals.refused}`}</Text> : null}
				{totals.kernelDrops > 0 ? <Text color={colors.error}>{`  kernel drops ${totals.kernelDrops}`}</Text> : null}
				{notice ? <Text color={notice.level === 'error' ? colors.error : colors.muted}>{`  ${noticeText(notice, width)}`}</Text> : null}
			</Text>
		</Box>
	);
}
