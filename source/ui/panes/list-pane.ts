/** Props every list pane shares: its cursor, filter, focus and size. */
export type ListPaneProps = {
	/** Words that must all appear in a row. */
	readonly filter: string;
	readonly cursor: number;
	readonly isFocused: boolean;
	/** Keys go to this pane (focused, no prompt open). */
	readonly isActive: boolean;
	readonly width: number;
	readonly height: number;
	readonly onMove: (index: number) => void;
};
