import {actionOf, type KeyAction} from '../keys.js';
import type {PaneKeys} from './pane-keys.js';
import type {ListPaneName} from './use-dashboard-state.js';
import {clampCursor} from './use-scroll-window.js';

/** Options of {@link useListKeys}. */
export type ListKeysOptions = {
	readonly pane: ListPaneName;
	/** Where the pane's key handler goes (the dashboard calls it while the pane has focus). */
	readonly keys: PaneKeys;
	readonly count: number;
	readonly cursor: number;
	/** Rows a page moves. */
	readonly page: number;
	readonly onMove: (index: number) => void;
	/** Enter on the row under the cursor. */
	readonly onSelect?: (index: number) => void;
	/** → / ← on the row under the cursor (a relay shows or hides its halves); the keys are the pane's only when given. */
	readonly onExpand?: (index: number, isExpanded: boolean) => void;
};

const listActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last', 'select']);
const expandingListActions: ReadonlySet<KeyAction> = new Set([...listActions, 'expand']);

/** Where a movement key takes a cursor. */
export function moveCursor(action: KeyAction, cursor: number, count: number, page: number): number {
	switch (action) {
		case 'move-down': {
			return clampCursor(cursor + 1, count);
		}

		case 'move-up': {
			return clampCursor(cursor - 1, count);
		}

		case 'page-down': {
			return clampCursor(cursor + Math.max(1, page), count);
		}

		case 'page-up': {
			return clampCursor(cursor - Math.max(1, page), count);
		}

		case 'move-first': {
			return 0;
		}

		case 'move-last': {
			return clampCursor(count - 1, count);
		}

		default: {
			return cursor;
		}
	}
}

/** j/k/arrows/g/G/pages and enter for a list pane, acting on the cursor in the state the keys before produced. */
export function useListKeys({pane, keys, count, page, onMove, onSelect, onExpand}: ListKeysOptions): void {
	keys.current[pane] = (typed, state) => {
		const action = actionOf(typed.input, typed.key, onExpand ? expandingListActions : listActions);
		if (action === undefined) {
			return false;
		}

		const cursor = clampCursor(state.cursors[pane], count);
		if (action === 'expand') {
			if (count > 0) {
				// → shows a relay's halves, ← hides them (one binding, one line of help).
				onExpand?.(cursor, !typed.key.leftArrow);
			}
		} else if (action === 'select') {
			if (count > 0) {
				onSelect?.(cursor);
			}
		} else {
			const next = moveCursor(action, cursor, count, page);
			if (next !== state.cursors[pane]) {
				onMove(next);
			}
		}

		return true;
	};
}
