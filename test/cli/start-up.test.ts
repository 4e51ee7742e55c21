import {spawnSync} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {describe, expect, it} from 'vitest';
import {cliPath} from '../helpers/cli.js';

const manifest = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as {version: string};

/** A preload that prints, at exit, every module the program imported after its entry point. */
const listImports = `data:text/javascript,${encodeURIComponent(`
import {registerHooks} from 'node:module';
const seen = [];
registerHooks({resolve(specifier, context, next) { const result = next(specifier, context); seen.push(result.url); return result; }});
process.on('exit', () => process.stderr.write('imported: ' + JSON.stringify(seen) + '\\n'));
`)}`;

/** Run the shipped CLI with `args`; what it printed and which of its own files it imported. */
function run(args: string[], input = ''): {code: number | null; stdout: string; imported: string[]} {
	const result = spawnSync(process.execPath, ['--import', listImports, cliPath, ...args], {encoding: 'utf8', input});
	const line = result.stderr.split('\n').find((text) => text.startsWith('imported: '));
	const urls = JSON.parse(line?.slice('imported: '.length) ?? '[]') as string[];
	return {code: result.status, stdout: result.stdout, imported: urls.filter((url) => url.startsWith('file:')).map((url) => path.basename(new URL(url).pathname))};
}

/** The chunks of dist/bin that `entry` imports statically (import statements, not `import()`), itself included, transitively. */
function staticImports(entry: string): Set<string> {
	const bin = path.dirname(cliPath);
	const seen = new Set<string>();
	const visit = (file: string) => {
		if (!seen.has(file)) {
			seen.add(file);
			for (const match of readFileSync(path.join(bin, file), 'utf8').matchAll(/(?:from|import)\s*["'`]\.\/([^"'`]+)["'`]/g)) {
				visit(match[1]!);
			}
		}
	};

	visit(entry);
	return seen;
}

describe('start-up', () => {
	it('netdash --version and -V print the version without loading the rest of netdash', () => {
		for (const flag of ['--version', '-V']) {
			const {code, stdout, imported} = run([flag]);
			expect(code).toBe(0);
			expect(stdout).toBe(`${manifest.version}\n`);
			// Only the entry point itself: no meow, no core, no Ink.
			expect(imported).toEqual(['cli.js']);
		}
	});

	it('a JSON session loads the core but not the dashboard (Ink, React, Yoga)', () => {
		const {code, imported} = run(['--json']);
		expect(code).toBe(0);
		expect(imported.length).toBeGreaterThan(2);
		expect(imported.filter((file) => file.startsWith('run-'))).toEqual([]);
	});

	it('the JSON commands\' validation (Ajv and the schemas) is loaded by JSON lines only: the dashboard\'s start path and the others do not import it', () => {
		const bin = path.dirname(cliPath);
		// Ajv's option names are kept by the minifier; no other code has this one.
		const hasAjv = (file: string) => readFileSync(path.join(bin, file), 'utf8').includes('strictTuples');
		const ajvChunks = readdirSync(bin).filter((file) => file.endsWith('.js') && hasAjv(file));
		expect(ajvChunks).toHaveLength(1);
		// Every chunk the CLI may import() (core, dashboard, replay, export, capture files, …) but JSON lines'
		const entries = [...readFileSync(cliPath, 'utf8').matchAll(/import\(["'`]\.\/([^"'`]+)["'`]\)/g)].map((match) => match[1]!);
		const jsonLines = entries.filter((file) => file.startsWith('json-lines-'));
		expect(jsonLines).toHaveLength(1);
		expect(entries.some((file) => file.startsWith('run-'))).toBe(true);
		const others = new Set(['cli.js', ...entries.filter((file) => !jsonLines.includes(file))].flatMap((entry) => [...staticImports(entry)]));
		expect([...others].filter(hasAjv)).toEqual([]);
		// JSON lines does import it, and a JSON session loads it
		expect([...staticImports(jsonLines[0]!)]).toContain(ajvChunks[0]);
		expect(run(['--json']).imported).toContain(ajvChunks[0]);
	});

	it('node-forge is in a chunk of its own that nothing on the start path imports statically (only making the TLS certificate loads it)', () => {
		const bin = path.dirname(cliPath);
		const hasForge = (file: string) => /\bforge\b/.test(readFileSync(path.join(bin, file), 'utf8'));
		// Given the chunk that carries node-forge
		const forgeChunks = readdirSync(bin).filter((file) => file.endsWith('.js') && hasForge(file));
		expect(forgeChunks).toHaveLength(1);
		// When the CLI starts, in any mode: cli.js, each chunk it may import() (core, dashboard, …), and what those import
		const entries = ['cli.js', ...[...readFileSync(cliPath, 'utf8').matchAll(/import\(["'`]\.\/([^"'`]+)["'`]\)/g)].map((match) => match[1]!)];
		expect(entries.some((file) => file.startsWith('run-'))).toBe(true);
		const loaded = new Set(entries.flatMap((entry) => [...staticImports(entry)]));
		// Then none of them is node-forge's chunk
		expect([...loaded].filter(hasForge)).toEqual([]);
		expect(loaded.has(forgeChunks[0]!)).toBe(false);
	});
});
