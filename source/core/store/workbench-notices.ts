import {toDisplayString} from '../format/index.js';
import type {BusEvent, RuleView, ScheduleView} from '../events.js';

/**
 * The one-line notices the dashboard shows for auto-reply rules, schedules
 * and raw saves (`:rules`, `:schedules`, `:save` answer here). Pure. Patterns
 * and replies are a person's text, but shown escaped all the same.
 */

function ruleLine(rule: RuleView): string {
	const pattern = toDisplayString(rule.pattern, {maxChars: 30});
	const reply = toDisplayString(rule.reply, {maxChars: 30});
	return `${rule.rule} ${rule.state} ${pattern} => ${reply}: ${rule.hits} hits, ${rule.replies} replies${rule.skipped > 0 ? `, ${rule.skipped} skipped` : ''}`;
}

function scheduleLine(schedule: ScheduleView): string {
	const how = [schedule.every === undefined ? '' : `every ${schedule.every}s`, schedule.count === undefined ? '' : `×${schedule.count}`].filter(Boolean).join(' ');
	return `${schedule.schedule} on ${schedule.connection} ${how}: ${schedule.sent} sent${schedule.skipped > 0 ? `, ${schedule.skipped} skipped (queue full)` : ''}`;
}

/** Events that answer a `:` command with a notice of their own (`:rules`, `:schedules`, `:cancel`, `:respond`): the dashboard shows it instead of ✓. */
export const workbenchAnswers: ReadonlySet<string> = new Set(['rule-added', 'rule-changed', 'rules-listed', 'schedule-started', 'schedule-finished', 'schedules-listed', 'save-started']);

/** The notice for a workbench event: its level and text, or undefined for events that are not one. */
export function workbenchNotice(event: BusEvent): {level: 'info' | 'error'; target: string | undefined; message: string} | undefined {
	switch (event.type) {
		case 'rule-added': {
			return {level: 'info', target: undefined, message: `rule ${ruleLine(event)}`};
		}

		case 'rule-changed': {
			return {level: 'info', target: undefined, message: `rule ${event.rule} ${event.state} (${event.hits} hits, ${event.replies} replies)`};
		}

		case 'rules-listed': {
			return {level: 'info', target: undefined, message: event.rules.length === 0 ? 'no rules: add one with :respond PATTERN => REPLY' : event.rules.map((rule) => ruleLine(rule)).join(' · ')};
		}

		case 'rule-skipped': {
			return {level: 'error', target: undefined, message: `rule ${event.rule} did not answer ${event.count} (${event.reason})`};
		}

		case 'schedule-started':
		case 'schedule-finished': {
			const end = event.type === 'schedule-finished' ? ` — ${event.reason}${event.message ? `: ${event.message}` : ''}` : ' started';
			return {level: event.type === 'schedule-finished' && event.reason === 'failed' ? 'error' : 'info', target: event.connection, message: `schedule ${scheduleLine(event)}${end}`};
		}

		case 'schedules-listed': {
			return {level: 'info', target: undefined, message: event.schedules.length === 0 ? 'no schedules: send --every 1s text, or send --count N text' : event.schedules.map((schedule) => scheduleLine(schedule)).join(' · ')};
		}

		case 'save-started': {
			return {level: 'info', target: event.connection, message: `saving what ${event.connection} ${event.direction === 'in' ? 'receives' : 'sends'} to ${toDisplayString(event.path, {maxChars: 60})}`};
		}

		case 'save-finished': {
			return {level: 'info', target: event.connection, message: `saved ${event.bytes} bytes of ${event.connection} to ${toDisplayString(event.path, {maxChars: 60})}`};
		}

		case 'save-failed': {
			return {level: 'error', target: event.connection, message: event.message};
		}

		default: {
			return undefined;
		}
	}
}
