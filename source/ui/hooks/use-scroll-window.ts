import {useRef} from 'react';

/**
 * The first row to draw so the cursor stays in sight: the window only moves
 * when the cursor leaves it (no jumping to the middle), and never shows
 * empty rows past the end while earlier rows exist.
 */
export function scrollWindow(previousStart: number, cursor: number, count: number, height: number): number {
	if (height <= 0 || count <= 0) {
		return 0;
	}

	const keepsCursor = Math.min(Math.max(previousStart, cursor - height + 1), cursor);
	return Math.max(0, Math.min(keepsCursor, count - height));
}

/** The rows `[start, end)` of a windowed list: only these are rendered. */
export type ScrollWindow = {readonly start: number; readonly end: number};

/** {@link scrollWindow} with the previous start remembered between renders. */
export function useScrollWindow(cursor: number, count: number, height: number): ScrollWindow {
	const startRef = useRef(0);
	const start = scrollWindow(startRef.current, cursor, count, height);
	startRef.current = start;
	return {start, end: Math.min(count, start + Math.max(0, height))};
}

/** A cursor index kept inside `[0, count)` (0 for an empty list). */
export function clampCursor(cursor: number, count: number): number {
	return Math.max(0, Math.min(cursor, count - 1));
}
