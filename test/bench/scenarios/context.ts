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
	/** One progress line on stderr. */
	progress(text: string): void;
};

/** A scenario: runs its comparisons and returns its table rows. */
export type Scenario = {
	readonly name: string;
	run(context: BenchContext): Promise<Row[]>;
};

/** 1 MiB. */
export const MiB = 1024 * 1024;

/** A byte count as `1 GiB` / `256 MiB`. */
export function formatVolume(bytes: number): string {
	return bytes >= 1024 * MiB ? `${bytes / (1024 * MiB)} GiB` : `${bytes / MiB} MiB`;
}
