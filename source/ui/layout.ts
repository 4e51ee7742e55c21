/**
 * Where the panes go for a terminal size. Pure, so the rule "never taller
 * than the terminal" (a taller frame makes Ink redraw the whole screen every
 * frame, see FACTS.md) is checked in tests for every size.
 *
 * ```
 * ┌ 1 Listeners ──────────┐┌ 4 Discovery ───┐
 * ┌ 2 Connections ──────────────────────────┐
 * ┌ 3 Log ──────────────────────────────────┐
 * status bar
 * key hint / prompt line
 * ```
 *
 * While discovery is off the Discovery pane folds to one line under the
 * Listeners, which then take the whole width.
 */

/** The outer size of one pane, borders included. */
export type PaneBox = {readonly width: number; readonly height: number};

/** Sizes of everything on screen. */
export type DashboardLayout = {
	readonly columns: number;
	readonly rows: number;
	readonly listeners: PaneBox;
	readonly discovery: PaneBox;
	readonly connections: PaneBox;
	readonly log: PaneBox;
	/** The panes area (everything above the status bar), for the help overlay. */
	readonly panes: PaneBox;
	/** The Discovery pane is one line below the Listeners. */
	readonly isDiscoveryFolded: boolean;
	/** Too small for the panes: only a one-line message is drawn. */
	readonly isTooSmall: boolean;
};

/** The smallest terminal the panes are drawn in. */
export const minimumSize = {columns: 60, rows: 16} as const;

/** Lines below the panes: the status bar and the key hint (or prompt). */
export const chromeRows = 2;

function clamp(value: number, low: number, high: number): number {
	return Math.max(low, Math.min(high, value));
}

/** What else the layout depends on. */
export type LayoutOptions = {
	/** Discovery is off and has found nothing: its pane is one line. @default false */
	readonly isDiscoveryFolded?: boolean;
};

/** The layout for a terminal of `columns` × `rows`. */
export function layoutFor(columns: number, rows: number, {isDiscoveryFolded = false}: LayoutOptions = {}): DashboardLayout {
	const isTooSmall = columns < minimumSize.columns || rows < minimumSize.rows;
	const height = Math.max(0, rows - chromeRows);
	const top = clamp(Math.round(height * 0.22), 5, 12);
	const middle = clamp(Math.round(height * 0.33), 6, 24);
	const bottom = Math.max(0, height - top - middle);
	const left = Math.round(columns * 0.6);
	return {
		columns,
		rows,
		listeners: {width: isDiscoveryFolded ? columns : left, height: top},
		discovery: isDiscoveryFolded ? {width: columns, height: 1} : {width: columns - left, height: top},
		// The folded Discovery line comes out of the Log, or out of Connections where the Log is at its least.
		connections: {width: columns, height: middle - (isDiscoveryFolded && bottom <= 3 ? 1 : 0)},
		log: {width: columns, height: bottom - (isDiscoveryFolded && bottom > 3 ? 1 : 0)},
		panes: {width: columns, height},
		isDiscoveryFolded,
		isTooSmall,
	};
}
