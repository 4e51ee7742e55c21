import type {LogDirection, LogEntry, LogView} from '../core/index.js';
import {toDisplay} from '../core/format/index.js';

/** A log filter as typed after `/`: an optional direction word, then text. */
export type LogFilter = {
	readonly direction: LogDirection | 'error' | undefined;
	/** Lower-cased text to find in the entry as displayed (escapes included, so `\r\n` finds CRLF). */
	readonly text: string;
};

const directionWords = new Map<string, LogFilter['direction']>([
	['in', 'in'],
	['out', 'out'],
	['note', 'note'],
	['notes', 'note'],
	['error', 'error'],
	['errors', 'error'],
]);

/**
 * `/in`, `/out`, `/note`, `/error` filter by direction; any other text is
 * searched for; `/in GET` does both.
 */
export function parseLogFilter(text: string): LogFilter {
	const trimmed = text.trim();
	const [first = '', ...others] = trimmed.split(/\s+/);
	const direction = directionWords.get(first.toLowerCase());
	return direction ? {direction, text: others.join(' ').toLowerCase()} : {direction: undefined, text: trimmed.toLowerCase()};
}

/** Entry text as searched: computed once per entry (entries are immutable). */
const searchText = new WeakMap<LogEntry, string>();

function textOf(entry: LogEntry): string {
	let text = searchText.get(entry);
	if (text === undefined) {
		// A datagram's text is its peer: `/10.0.0.2` finds what that host sent or was sent.
		text = (entry.data ? `${entry.kind === 'datagram' ? `${entry.text ?? ''} ` : ''}${toDisplay(entry.data)}` : (entry.text ?? '')).toLowerCase();
		searchText.set(entry, text);
	}

	return text;
}

/** True when the entry passes the filter. */
export function matchesLogFilter(entry: LogEntry, filter: LogFilter): boolean {
	if (filter.direction === 'error') {
		if (!entry.isError) {
			return false;
		}
	} else if (filter.direction !== undefined && entry.direction !== filter.direction) {
		return false;
	}

	return filter.text === '' || textOf(entry).includes(filter.text);
}

/** A log as the pane walks it: every entry, or only those that pass a filter. */
export type LogRows = {
	readonly length: number;
	at(index: number): LogEntry;
};

/** The rows of a view under a filter (no copy at all when there is no filter). */
export function filterLog(view: LogView, filterText: string): LogRows {
	if (filterText.trim() === '') {
		return {length: view.length, at: (index) => view.at(index)!};
	}

	const filter = parseLogFilter(filterText);
	const kept: LogEntry[] = [];
	for (let index = 0; index < view.length; index++) {
		const entry = view.at(index)!;
		if (matchesLogFilter(entry, filter)) {
			kept.push(entry);
		}
	}

	return {length: kept.length, at: (index) => kept[index]!};
}

/** Index of the last row with `seq <= target` (0 when none): rows are in seq order. */
export function indexAtOrBefore(rows: LogRows, target: number): number {
	let low = 0;
	let high = rows.length - 1;
	let found = 0;
	while (low <= high) {
		const middle = (low + high) >> 1;
		if (rows.at(middle).seq <= target) {
			found = middle;
			low = middle + 1;
		} else {
			high = middle - 1;
		}
	}

	return found;
}
