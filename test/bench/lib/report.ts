/** One line of the bench table, and the same in bench-results.json. */
export type Row = {
	scenario: string;
	/** What the figures are, e.g. `MiB/s`, `ms p99`, `KiB/conn`. */
	unit: string;
	netdash?: number | undefined;
	baseline?: number | undefined;
	/** What netdash is compared with (`raw net`, `ncat -x`, `node -e 0`). */
	baselineName?: string | undefined;
	/** netdash ÷ baseline: the median of per-pair ratios (see stats.ts). */
	ratio?: number | undefined;
	/**
	 * Which way the ratio is better, for rows without a ratio target (the
	 * regression guard, compare.ts); by default a rate's is higher, a time's or size's lower.
	 */
	better?: 'higher' | 'lower' | undefined;
	/** What must hold: on the ratio, or on netdash's own figure. */
	target?: {on: 'ratio' | 'netdash'; op: '>=' | '<='; value: number} | undefined;
	status: 'pass' | 'fail' | 'report' | 'skipped' | 'not yet' | 'waiting for the dashboard' | 'error';
	/** Why skipped, CPU and memory beside the headline figure, drops… */
	notes?: string | undefined;
	/** Every run's figure, for the JSON. */
	samples?: {netdash?: number[]; baseline?: number[]} | undefined;
	/** Anything else a scenario measured, for the JSON. */
	details?: Record<string, unknown> | undefined;
};

/** Pass or fail a row by its target (a row without figures keeps its status). */
export function judge(row: Omit<Row, 'status'> & {status?: Row['status']}): Row {
	// A status set by the scenario (skipped, waiting, or a fail the figure alone does not show) stands.
	if (row.status) {
		return row as Row;
	}

	const {target} = row;
	if (!target) {
		return {...row, status: 'report'};
	}

	const value = target.on === 'ratio' ? row.ratio : row.netdash;
	if (value === undefined || Number.isNaN(value)) {
		return {...row, status: 'error'};
	}

	const isMet = target.op === '>=' ? value >= target.value : value <= target.value;
	return {...row, status: isMet ? 'pass' : 'fail'};
}

/** A figure with sensible precision. */
export function formatNumber(value: number | undefined): string {
	if (value === undefined || Number.isNaN(value)) {
		return '–';
	}

	const magnitude = Math.abs(value);
	const digits = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3;
	return value.toLocaleString('en-US', {maximumFractionDigits: digits, minimumFractionDigits: digits});
}

function formatTarget(row: Row): string {
	if (!row.target) {
		return '–';
	}

	const {on, op, value} = row.target;
	const sign = op === '>=' ? '≥' : '≤';
	return on === 'ratio' ? `${sign} ${value}×` : `${sign} ${value} ${row.unit}`;
}

/** The rows as a plain-text table (also valid Markdown). */
export function formatTable(rows: readonly Row[]): string {
	const header = ['scenario', 'netdash', 'baseline', 'ratio', 'target', 'result', 'notes'];
	const cells = rows.map((row) => [
		row.scenario,
		row.netdash === undefined ? '–' : `${formatNumber(row.netdash)} ${row.unit}`,
		row.baseline === undefined ? (row.baselineName ?? '–') : `${formatNumber(row.baseline)} ${row.unit} (${row.baselineName ?? 'baseline'})`,
		row.ratio === undefined ? '–' : `${formatNumber(row.ratio)}×`,
		formatTarget(row),
		row.status,
		row.notes ?? '',
	]);
	const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
	const line = (values: readonly string[]) => `| ${values.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
	return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
