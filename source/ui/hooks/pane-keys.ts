import {useRef} from 'react';
import type {Key} from 'ink';
import type {DashboardState, PaneName} from './use-dashboard-state.js';

/** One key, as Ink's useInput reports it, split from a burst if need be. */
export type TypedKey = {readonly input: string; readonly key: Key};

/**
 * A pane's keys: given one key and the dashboard state the keys before it
 * produced, act and return true, or return false when the key is not the
 * pane's. Panes never read keys themselves: one handler (useDashboardKeys)
 * walks a burst key by key and asks the pane focused at that key.
 */
export type PaneKeyHandler = (typed: TypedKey, state: DashboardState) => boolean;

/** A pane, `entry` (the full view of one log entry), `held` (a relay's held chunks) or `help` (the help overlay): the last three take the keys while open; `replay` (netdash replay) is asked before the panes. */
export type KeyTarget = PaneName | 'entry' | 'held' | 'help' | 'replay';

/** Where each pane leaves its key handler when it renders (the latest rows and sizes are in it). */
export type PaneKeys = {readonly current: Partial<Record<KeyTarget, PaneKeyHandler>>};

/** The dashboard's table of pane key handlers. */
export function usePaneKeys(): PaneKeys {
	return useRef<Partial<Record<KeyTarget, PaneKeyHandler>>>({});
}
