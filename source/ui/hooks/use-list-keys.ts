import {useInput} from 'ink';
import {actionOf, typedKeys, type KeyAction} from '../keys.js';
import {clampCursor} from './use-scroll-window.js';

/** Options of {@link useListKeys}. */
export type ListKeysOptions = {
	/** Only the focused pane, with no prompt open, handles keys. */
	readonly isActive: boolean;
	readonly count: number;
	readonly cursor: number;
	/** Rows a page moves. */
	readonly page: number;
	readonly onMove: (index: number) => void;
	/** Enter on the row under the cursor. */
	readonly onSelect?: (index: number) => void;
};

const listActions: ReadonlySet<KeyAction> = new Set(['move-down', 'move-up', 'page-down', 'page-up', 'move-first', 'move-last', 'select']);

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

/** j/k/arrows/g/G/pages and enter for a list pane. */
export function useListKeys({isActive, count, cursor, page, onMove, onSelect}: ListKeysOptions): void {
	useInput(
		(input, key) => {
			let position = clampCursor(cursor, count);
			for (const typed of typedKeys(input, key).keys) {
				const action = actionOf(typed.input, typed.key, listActions);
				if (action === 'select') {
					if (count > 0) {
						onSelect?.(position);
					}
				} else if (action !== undefined) {
					position = moveCursor(action, position, count, page);
				}
			}

			if (position !== cursor) {
				onMove(position);
			}
		},
		{isActive},
	);
}
