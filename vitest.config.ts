import {defineConfig} from 'vitest/config';

export default defineConfig({
	test: {
		include: ['test/**/*.test.{ts,tsx}'],
		// ink-testing-library's fake stdout has 100 columns and no rows; pin the
		// terminal so layouts are deterministic (see shared/FACTS.md).
		env: {
			COLUMNS: '100',
			LINES: '30',
			FORCE_COLOR: '0',
			// TCP reads share one buffer (source/core/tcp/shared-reads.ts): overwrite it after each read,
			// here and in every netdash a test starts, so bytes kept without a copy show up as garbage.
			NETDASH_POISON_READS: '1',
		},
		testTimeout: 60_000,
		hookTimeout: 30_000,
		// Sockets and child processes: two cores, keep the pool small.
		maxWorkers: 2,
		// The skip report ends the run with each skipped test and its reason, and fails it when CI
		// is set. It also writes vitest's JSON results, from which .ci/run prints a plain
		// "N passed, N failed, N skipped" closing line.
		reporters: ['default', ['./test/helpers/skip-report.ts', {json: 'test-results.json'}]],
	},
});
