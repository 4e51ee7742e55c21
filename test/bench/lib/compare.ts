/**
 * The regression guard: two bench results (bench-results.json) compared row
 * by row. Pure: no files, no clock, so it is unit-tested
 * (test/bench/compare.test.ts) and `--compare` only prints what it returns.
 */
import {formatNumber, type Row} from './report.js';

/** What compareResults reads of a bench-results.json. */
export type BenchResults = {
	mode?: string;
	machine?: {cores?: number; node?: string; loadAverage?: {start?: number; end?: number}};
	rows: readonly Row[];
};

/** One row of the comparison. */
export type Change = {
	/** The row's identity: scenario, and its baseline when a scenario has several rows. */
	id: string;
	oldRatio?: number | undefined;
	newRatio?: number | undefined;
	/** Which way is better for this ratio. */
	better: 'higher' | 'lower';
	/**
	 * How much the ratio moved for the better (+) or the worse (−), as a
	 * fraction of the old ratio: 0.9× → 0.8× is −0.111. Undefined when one side
	 * has no ratio.
	 */
	change?: number | undefined;
	/** More than the threshold worse, or a ratio that the new run no longer has. */
	isWorse: boolean;
	/** What happened, in a few words (`new`, `no ratio now`, `worse`, …). */
	note: string;
};

/** The default threshold: a ratio more than 10 % worse fails the guard. */
export const WORSE_BY = 0.1;

/** A row's identity across runs (several rows share a scenario, e.g. Carry vs socat and vs iperf3). */
export function rowId(row: Pick<Row, 'scenario' | 'baselineName'>): string {
	return row.baselineName === undefined ? row.scenario : `${row.scenario} vs ${row.baselineName}`;
}

/**
 * Which way a row's ratio should go: its target's direction; else the row's
 * own `better`; else by its unit, as every ratio is netdash ÷ baseline of the
 * same figure: a rate (`…/s`) is better higher, a time or a size lower.
 */
export function betterDirection(row: Pick<Row, 'target' | 'unit' | 'better'>): 'higher' | 'lower' {
	if (row.target?.on === 'ratio') {
		return row.target.op === '>=' ? 'higher' : 'lower';
	}

	if (row.better) {
		return row.better;
	}

	return row.unit.endsWith('/s') ? 'higher' : 'lower';
}

function hasRatio(row: Row | undefined): row is Row & {ratio: number} {
	return row?.ratio !== undefined && Number.isFinite(row.ratio) && row.ratio > 0;
}

/**
 * Every ratio of `older` against `newer`: its change, and whether it got more
 * than `worseBy` worse (0.1: a ≥ ratio below 0.9 × the old one, a ≤ ratio
 * above 1.1 × it). A row that had a ratio and has none now (an error, a
 * skip) counts as worse too, so a scenario that broke cannot pass the guard.
 * Rows without a ratio on either side (absolute figures such as key → frame
 * p99) move with the machine's load and are not judged here; the bench's
 * own verdicts judge them.
 */
export function compareResults(older: BenchResults, newer: BenchResults, worseBy = WORSE_BY): Change[] {
	const oldById = new Map(older.rows.map((row) => [rowId(row), row]));
	const changes: Change[] = [];
	const seen = new Set<string>();
	for (const row of newer.rows) {
		const id = rowId(row);
		seen.add(id);
		const old = oldById.get(id);
		const better = betterDirection(row);
		if (!hasRatio(old)) {
			if (hasRatio(row)) {
				changes.push({id, newRatio: row.ratio, better, isWorse: false, note: old ? 'ratio now, none before' : 'new'});
			}

			continue;
		}

		if (!hasRatio(row)) {
			changes.push({id, oldRatio: old.ratio, better, isWorse: true, note: `no ratio now (${row.status})`});
			continue;
		}

		const moved = (row.ratio - old.ratio) / old.ratio;
		const change = better === 'higher' ? moved : -moved;
		const isWorse = change < -worseBy;
		changes.push({id, oldRatio: old.ratio, newRatio: row.ratio, better, change, isWorse, note: isWorse ? 'worse' : change > worseBy ? 'better' : 'same'});
	}

	for (const [id, old] of oldById) {
		if (!seen.has(id) && hasRatio(old)) {
			changes.push({id, oldRatio: old.ratio, better: betterDirection(old), isWorse: true, note: 'gone'});
		}
	}

	return changes;
}

function formatRatio(value: number | undefined): string {
	return value === undefined ? '–' : `${formatNumber(value)}×`;
}

/** The comparison as a table, with a line on what differs between the two runs' machines. */
export function formatComparison(older: BenchResults, newer: BenchResults, changes: readonly Change[], worseBy = WORSE_BY): string {
	const header = ['row', 'old', 'new', 'change', 'better', 'verdict'];
	const cells = changes.map((change) => [
		change.id,
		formatRatio(change.oldRatio),
		formatRatio(change.newRatio),
		change.change === undefined ? '–' : `${change.change >= 0 ? '+' : '−'}${(Math.abs(change.change) * 100).toFixed(1)} %`,
		change.better,
		change.isWorse ? `WORSE (${change.note})` : change.note,
	]);
	const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
	const line = (values: readonly string[]) => values.map((value, column) => value.padEnd(widths[column]!)).join('  ');
	const lines = [line(header), ...cells.map(line)];
	const machine = (results: BenchResults) => {
		const load = results.machine?.loadAverage;
		return `${results.mode ?? '?'} run, ${results.machine?.cores ?? '?'} cores, Node ${results.machine?.node ?? '?'}, load ${load?.start?.toFixed(1) ?? '?'} → ${load?.end?.toFixed(1) ?? '?'}`;
	};

	lines.push('', `old: ${machine(older)}`, `new: ${machine(newer)}`);
	if (older.mode !== newer.mode) {
		lines.push('note: a quick run is compared with a full one; volumes differ, so rows may not match');
	}

	const worse = changes.filter((change) => change.isWorse);
	lines.push(
		worse.length === 0
			? `no ratio got more than ${worseBy * 100} % worse`
			: `${worse.length} ${worse.length === 1 ? 'ratio' : 'ratios'} more than ${worseBy * 100} % worse: ${worse.map((change) => change.id).join('; ')}`,
	);
	return lines.join('\n');
}
