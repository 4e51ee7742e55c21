import {useRef} from 'react';
import type {ScrollWindow} from './use-scroll-window.js';

/** What {@link logWindow} needs to know. */
export type LogWindowInput = {
	readonly count: number;
	/** Index of the entry under the cursor (the last one while following). */
	readonly cursor: number;
	/** Rows available. */
	readonly height: number;
	/** Rows one entry takes (1 in text view, more in hex view). */
	readonly heightOf: (index: number) => number;
	readonly isFollowing: boolean;
};

/**
 * The entries `[start, end)` to draw, for entries of varying height: while
 * following, the newest that fit; otherwise the window moves only as far as
 * it must to keep the cursor in sight. Touches at most about `height`
 * entries, however long the log.
 */
export function logWindow(previousStart: number, {count, cursor, height, heightOf, isFollowing}: LogWindowInput): ScrollWindow {
	if (count === 0 || height <= 0) {
		return {start: 0, end: 0};
	}

	const last = isFollowing ? count - 1 : Math.max(0, Math.min(cursor, count - 1));
	// The earliest start that still shows `last` whole.
	let earliest = last;
	let used = heightOf(last);
	while (earliest > 0 && used + heightOf(earliest - 1) <= height) {
		earliest--;
		used += heightOf(earliest);
	}

	let start = isFollowing ? earliest : Math.max(earliest, Math.min(previousStart, last));
	used = 0;
	for (let index = start; index <= last; index++) {
		used += heightOf(index);
	}

	let end = last + 1;
	while (end < count && used + heightOf(end) <= height) {
		used += heightOf(end);
		end++;
	}

	while (start > 0 && used + heightOf(start - 1) <= height) {
		start--;
		used += heightOf(start);
	}

	return {start, end};
}

/** {@link logWindow} with the previous start remembered between renders. */
export function useLogWindow(input: LogWindowInput): ScrollWindow {
	const startRef = useRef(0);
	const window = logWindow(startRef.current, input);
	startRef.current = window.start;
	return window;
}
