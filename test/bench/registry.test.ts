import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, test} from 'vitest';
import {scaled} from './scenarios/context.js';
import {loadScenarios} from './scenarios/registry.js';

const directories: string[] = [];
afterEach(() => {
	for (const directory of directories.splice(0)) {
		rmSync(directory, {recursive: true, force: true});
	}
});

function folder(files: Record<string, string>): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-registry-'));
	directories.push(directory);
	for (const [name, text] of Object.entries(files)) {
		writeFileSync(path.join(directory, name), text);
	}

	return directory;
}

describe('bench scenario registry', () => {
	test('a scenario dropped into the folder is run, in order, without editing any list', async () => {
		// Given a helper module, two ordered scenarios and one that leaves the order to its name
		const directory = folder({
			'helpers.ts': 'export function runTwice() { return 2; }\nexport const limits = {count: 3};\n',
			'relay.ts': "export const relay = {name: 'relay', run: async () => []};\n",
			'carry.ts': "export const carry = {name: 'carry', order: 20, run: async () => []};\n",
			'start.ts': "export const start = {name: 'start', order: 10, run: async () => []};\n",
			'helpers.test.ts': "export const notMe = {name: 'test', run: async () => []};\n",
		});
		// Then every Scenario-shaped export is found, by order, then name; nothing else
		expect((await loadScenarios(directory)).map((scenario) => scenario.name)).toEqual(['start', 'carry', 'relay']);
	});

	test('two scenarios with one name are refused, so --only stays unambiguous', async () => {
		const directory = folder({
			'a.ts': "export const a = {name: 'relay', run: async () => []};\n",
			'b.ts': "export const b = {name: 'relay', run: async () => []};\n",
		});
		await expect(loadScenarios(directory)).rejects.toThrow('two bench scenarios are named relay');
	});

	test('the bench folder itself yields every scenario of the table', async () => {
		const names = (await loadScenarios()).map((scenario) => scenario.name);
		expect(names.slice(0, 6)).toEqual(['start', 'carry', 'capture', 'datagrams', 'scale', 'dashboard']);
		expect(names.at(-1)).toBe('steadiness');
	});

	test('--quick shortens what a scenario sizes with scaled(): a tenth, or its own quick figure', () => {
		expect(scaled(false, 5)).toBe(5);
		expect(scaled(true, 5)).toBe(1);
		expect(scaled(true, 10_000)).toBe(1000);
		expect(scaled(true, 10_000, 2000)).toBe(2000);
	});
});
