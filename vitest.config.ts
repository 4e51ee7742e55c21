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
		},
		testTimeout: 60_000,
		hookTimeout: 30_000,
		// Sockets and child processes: two cores, keep the pool small.
		maxWorkers: 2,
		// The JSON copy lets .ci/run print a plain "N passed, N failed" closing line.
		reporters: ['default', 'json'],
		outputFile: {json: 'test-results.json'},
	},
});
