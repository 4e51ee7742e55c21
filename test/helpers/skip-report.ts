import process from 'node:process';
import {JsonReporter, type Reporter, type TestModule, type Vitest} from 'vitest/node';

/** Options of the skip report (the second element of its `reporters` entry). */
export type SkipReportOptions = {
	/** Also write vitest's JSON results to this file, before the skip lines (so they stay last). */
	json?: string;
};

/**
 * A vitest reporter that ends the run with the skipped tests: each named,
 * with the reason it gave (`context.skip(reason)`, see requires.ts), then a
 * count line. Outside CI a skip is allowed; with `CI` set, any skip fails
 * the run, since a green CI run must mean every test ran.
 */
export default class SkipReport implements Reporter {
	readonly #json: JsonReporter | undefined;

	constructor(options: SkipReportOptions = {}) {
		// Vitest runs reporters' end hooks concurrently: the JSON writer runs inside this one, so its
		// "written to" line comes before the count, and the count is the run's last line.
		this.#json = options.json === undefined ? undefined : new JsonReporter({outputFile: options.json});
	}

	onInit(vitest: Vitest): void {
		this.#json?.onInit(vitest);
	}

	async onTestRunEnd(testModules: ReadonlyArray<TestModule>): Promise<void> {
		await this.#json?.onTestRunEnd(testModules);
		const skipped: Array<{name: string; reason: string | undefined}> = [];
		for (const module of testModules) {
			for (const test of module.children.allTests('skipped')) {
				const result = test.result();
				skipped.push({name: `${module.relativeModuleId} > ${test.fullName}`, reason: result.state === 'skipped' ? result.note : undefined});
			}
		}

		const lines = skipped.map(({name, reason}) => `  ${name}: ${reason ?? 'no reason given (.skip, .todo, or filtered out by name)'}`);
		const count = `${skipped.length} ${skipped.length === 1 ? 'test' : 'tests'} skipped`;
		if (skipped.length === 0) {
			process.stdout.write(`\n${count}\n`);
		} else if (isSet(process.env['CI'])) {
			process.stdout.write(`\n${count} with CI set, which fails the run (a skip under CI hides what did not run):\n${lines.join('\n')}\n${count}: failing\n`);
			process.exitCode = 1;
		} else {
			process.stdout.write(`\n${count} (allowed outside CI; with CI set they fail the run):\n${lines.join('\n')}\n${count}\n`);
		}
	}
}

/** CI=false or CI=0 is how some shells say "not CI". */
function isSet(value: string | undefined): boolean {
	return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}
