import type {Row} from '../lib/report.js';

/** What every scenario is given. */
export type BenchContext = {
	/** Smaller volumes for a smoke run under a minute. */
	readonly isQuick: boolean;
	/** Alternating netdash/baseline pairs per comparison (≥ 5 for the table). */
	readonly runs: number;
	/** Render the bench's stub dashboard instead of the real one (tests the harness). */
	readonly isStub: boolean;
	/** Where capture files go (removed after each run). */
	readonly tmpDir: string;
	/**
	 * A volume, duration or count for this run: `full` normally; with
	 * `--quick`, `quick` or else a tenth of `full` (see scaled below).
	 */
	scaled(full: number, quick?: number): number;
	/** One progress line on stderr. */
	progress(text: string): void;
};

/**
 * `full`, or for a quick run `quick` when given, else a tenth of `full`
 * (rounded, at least 1): a scenario that sizes its work with
 * `context.scaled(…)` is short under `--quick` without a branch of its own.
 */
export function scaled(isQuick: boolean, full: number, quick?: number): number {
	if (!isQuick) {
		return full;
	}

	return quick ?? Math.max(1, Math.round(full / 10));
}

/**
 * A scenario: runs its comparisons and returns its table rows. To add one,
 * export it from a file in test/bench/scenarios/: the registry
 * (registry.ts) finds it, `--only=NAME` selects it, and its rows land in
 * bench-results.json, the table and `--compare`. Size its work with
 * `context.scaled()` and take `context.runs` pairs, and `--quick` covers it.
 */
export type Scenario = {
	/** What `--only` takes: one lowercase word. */
	readonly name: string;
	/** Where it runs in the table: lower first; default 100, then by name. */
	readonly order?: number;
	run(context: BenchContext): Promise<Row[]>;
};

/** 1 MiB. */
export const MiB = 1024 * 1024;

/** A byte count as `1 GiB` / `256 MiB`. */
export function formatVolume(bytes: number): string {
	return bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : `${bytes / MiB} MiB`;
}
