import {Box, Text} from 'ink';
import type {Notice} from '../../core/index.js';
import {colors} from '../theme.js';
import {noticeText} from './status-bar.js';

/** Props of {@link NoticeLine}. */
export type NoticeLineProps = {
	readonly notice: Notice;
	readonly width: number;
};

/**
 * A fresh notice across the whole bottom line, in place of the key hint
 * until the next key press (as vim shows messages), so a failure is read in
 * full and not cut off behind the totals.
 */
export function NoticeLine({notice, width}: NoticeLineProps) {
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end" bold color={notice.level === 'error' ? colors.error : undefined}>
				{noticeText(notice, width)}
			</Text>
		</Box>
	);
}
