import {appendFileSync} from 'node:fs';
import process from 'node:process';

/**
 * Hand a measured figure to the bench. Timing and memory figures are not
 * asserted in unit tests (they depend on the machine and its load); when
 * `npm run bench` runs a test file to measure them, it sets
 * NETDASH_FIGURES to a file, and each figure is appended there as one JSON
 * line `{name, ...figures}` for the bench to report against its target.
 */
export function reportFigures(name: string, figures: Record<string, number>): void {
	const file = process.env['NETDASH_FIGURES'];
	if (file) {
		appendFileSync(file, JSON.stringify({name, ...figures}) + '\n');
	}
}
