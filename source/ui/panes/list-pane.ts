import type {PaneKeys} from '../hooks/pane-keys.js';

/** Props every list pane shares: its cursor, filter, focus and size. */
export type ListPaneProps = {
	/** Words that must all appear in a row. */
	readonly filter: string;
	readonly cursor: number;
	readonly isFocused: boolean;
	/** Where the pane leaves its key handler: the dashboard calls it for keys typed while the pane has focus. */
	readonly keys: PaneKeys;
	readonly width: number;
	readonly height: number;
	readonly onMove: (index: number) => void;
};
