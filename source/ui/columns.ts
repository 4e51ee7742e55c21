/**
 * Table columns that fit a width: required columns always, optional ones
 * in order of priority while they fit, and one flexible column that takes
 * what is left. Computed once per pane width, not per row.
 */

/** One column of a table. */
export type Column<K extends string> = {
	readonly key: K;
	/** Characters, including the space after it (for the flexible column: its least). */
	readonly width: number;
	/** Lower comes first; required columns have priority 0. */
	readonly priority: number;
	/**
	 * The column that takes the leftover width. `grow` is how much more it
	 * wants, competing with optional columns at its own priority.
	 */
	readonly isFlexible?: boolean;
	readonly grow?: {readonly width: number; readonly priority: number};
	/** The most the flexible column takes; what is left after it stays blank at the end of the row. */
	readonly maxWidth?: number;
};

/** The chosen columns in table order, each with its final width. */
export type FittedColumns<K extends string> = ReadonlyMap<K, number>;

/** Choose the columns that fit `width`; the flexible one gets the rest. */
export function fitColumns<K extends string>(width: number, columns: ReadonlyArray<Column<K>>): FittedColumns<K> {
	type Claim = {key: K; width: number; priority: number};
	const claims: Claim[] = columns.map((column) => ({key: column.key, width: column.width, priority: column.priority}));
	for (const column of columns) {
		if (column.grow) {
			claims.push({key: column.key, width: column.grow.width, priority: column.grow.priority});
		}
	}

	const widths = new Map<K, number>();
	let used = 0;
	for (const claim of claims.sort((a, b) => a.priority - b.priority)) {
		if (claim.priority === 0 || used + claim.width <= width) {
			widths.set(claim.key, (widths.get(claim.key) ?? 0) + claim.width);
			used += claim.width;
		}
	}

	const fitted = new Map<K, number>();
	for (const column of columns) {
		const chosen = widths.get(column.key);
		if (chosen !== undefined) {
			fitted.set(column.key, column.isFlexible ? Math.max(chosen, Math.min(column.maxWidth ?? Number.POSITIVE_INFINITY, chosen + Math.max(0, width - used))) : chosen);
		}
	}

	return fitted;
}

/** Columns the fitted cells take together; a row pads the rest of the pane with {@link columnsWidth}'s complement. */
export function columnsWidth<K extends string>(columns: FittedColumns<K>): number {
	let sum = 0;
	for (const width of columns.values()) {
		sum += width;
	}

	return sum;
}
