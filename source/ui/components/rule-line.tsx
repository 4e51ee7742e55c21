import {memo} from 'react';
import {Text} from 'ink';
import type {RuleRow} from '../../core/index.js';
import {toDisplayString} from '../../core/format/index.js';
import {fit} from '../format.js';
import {colors} from '../theme.js';

/** Props of {@link RuleLine}. */
export type RuleLineProps = {
	readonly rule: RuleRow;
	/** Columns the line may take. */
	readonly width: number;
};

/** The text of a rule's line: id, state, `pattern => reply` (escaped) and its counts, counts kept when the width is short. */
export function ruleLineText(rule: RuleRow, width: number): string {
	const counts = ` ${rule.hits} hits · ${rule.replies} replies${rule.skipped > 0 ? ` · ${rule.skipped} skipped` : ''}`;
	const head = `   ${rule.rule} ${rule.state} `;
	// The pattern and reply are a person's text but are shown escaped all the same, as every notice is.
	const spec = `${toDisplayString(rule.pattern, {maxChars: 40})} => ${toDisplayString(rule.reply, {maxChars: 40})}`;
	return head + fit(spec, Math.max(0, width - head.length - counts.length)) + counts;
}

/** One auto-reply rule in the Listeners pane: what it answers and how often it has. */
export const RuleLine = memo(function RuleLine({rule, width}: RuleLineProps) {
	return (
		<Text wrap="truncate-end" color={rule.state === 'active' ? undefined : colors.muted}>
			{ruleLineText(rule, width)}
		</Text>
	);
});
