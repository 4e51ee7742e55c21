/**
 * Every scenario of the bench, found rather than listed: each module in this
 * folder is imported and every export shaped like a Scenario (`name` and
 * `run`) is taken. Adding a scenario is adding a file; no shared list to
 * edit (and to conflict on when several branches add scenarios).
 */
import {readdirSync} from 'node:fs';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import type {Scenario} from './context.js';

function isScenario(value: unknown): value is Scenario {
	return typeof value === 'object' && value !== null && typeof (value as Scenario).name === 'string' && typeof (value as Scenario).run === 'function';
}

/** Every scenario in this folder, by `order` (default 100), then name; a name taken twice throws. */
export async function loadScenarios(directory = import.meta.dirname): Promise<Scenario[]> {
	const files = readdirSync(directory)
		.filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
		.sort();
	const found: Scenario[] = [];
	for (const file of files) {
		// The .ts itself: Node 24 strips its types (and vitest transforms it).
		const module = (await import(pathToFileURL(path.join(directory, file)).href)) as Record<string, unknown>;
		found.push(...Object.values(module).filter(isScenario));
	}

	const names = new Set<string>();
	for (const {name} of found) {
		if (names.has(name)) {
			throw new Error(`two bench scenarios are named ${name}`);
		}

		names.add(name);
	}

	return found.sort((a, b) => (a.order ?? 100) - (b.order ?? 100) || a.name.localeCompare(b.name));
}
