import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import process from 'node:process';
import {pathToFileURL} from 'node:url';
import fc from 'fast-check';
import {afterAll, describe, expect, test} from 'vitest';
import {patchInkOutput} from '../../source/ui/text-patches.js';

/** Ink's frame buffer as its module is written: `new Output({width, height})`, write/clip/unclip, get(). */
type OutputLike = {
	write(x: number, y: number, text: string, options: {transformers: Array<(line: string, index: number) => string>}): void;
	clip(clip: {x1?: number; x2?: number; y1?: number; y2?: number}): void;
	unclip(): void;
	get(): {output: string; height: number};
};
type OutputClass = new (options: {width: number; height: number}) => OutputLike;

const repo = path.resolve(import.meta.dirname, '..', '..');
const originalPath = path.join(repo, 'node_modules', 'ink', 'build', 'output.js');
// The patched copy sits under node_modules, so its imports of string-width and ansi-tokenize
// resolve to the very modules Ink's own copy uses (and the test runner leaves it to Node).
const scratch = path.join(repo, 'node_modules', '.cache', 'netdash-tests');
const patchedPath = path.join(scratch, `ink-output-${process.pid}.mjs`);

async function load(): Promise<{original: OutputClass; patched: OutputClass}> {
	mkdirSync(scratch, {recursive: true});
	const patched = patchInkOutput(readFileSync(originalPath, 'utf8'), originalPath);
	expect(patched).toBeDefined();
	writeFileSync(patchedPath, patched!);
	const [original, ours] = await Promise.all([import(pathToFileURL(originalPath).href), import(pathToFileURL(patchedPath).href)]);
	return {original: original.default as OutputClass, patched: ours.default as OutputClass};
}

afterAll(() => {
	rmSync(patchedPath, {force: true});
});

/** Pieces of text a pane writes: plain, box drawing, wide, zero-width, emoji, and colour codes that open and close. */
const pieces = ['a', 'b', ' ', 'xyz', '─', '│', '→', '…', '日', '本', '🎉', '❤️', 'e\u0301', '\u200B', '\n', '\u001B[31m', '\u001B[39m', '\u001B[1m', '\u001B[22m', '\u001B[7m', '\u001B[27m', '\u001B[90m', '\u001B[38;5;214m'];
const randomText = fc.array(fc.constantFrom(...pieces), {minLength: 1, maxLength: 14}).map((parts) => parts.join(''));
// Texts that come back, as a pane's do from frame to frame, at other places and under other clips.
const text = fc.oneof(randomText, fc.constantFrom('\u001B[90m│\u001B[39m C1 日本 → ok', 'abcdefghijklmnop', '\u001B[7m sel 🎉 \u001B[27m\nnext line'));
const bound = fc.option(fc.integer({min: -3, max: 30}), {nil: undefined});
const transformers = [(line: string) => `\u001B[1m${line}\u001B[22m`, (line: string, index: number) => (index % 2 === 0 ? line.toUpperCase() : line)];
const operation = fc.oneof(
	{weight: 6, arbitrary: fc.record({kind: fc.constant('write' as const), x: fc.integer({min: -2, max: 26}), y: fc.integer({min: -2, max: 9}), text, transformers: fc.subarray(transformers)})},
	{weight: 1, arbitrary: fc.record({kind: fc.constant('clip' as const), x1: bound, x2: bound, y1: bound, y2: bound})},
	{weight: 1, arbitrary: fc.record({kind: fc.constant('unclip' as const)})},
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;
/** A frame: its size and what is drawn. Frames follow one another, mostly repeating the last with a change or two, as a dashboard's do. */
const frame = fc.record({width: fc.integer({min: 1, max: 24}), height: fc.integer({min: 1, max: 8}), operations: fc.array(operation, {maxLength: 12})});

function draw(Output: OutputClass, {width, height, operations}: {width: number; height: number; operations: readonly Operation[]}): string {
	const output = new Output({width, height});
	let clips = 0;
	for (const step of operations) {
		if (step.kind === 'write') {
			output.write(step.x, step.y, step.text, {transformers: step.transformers});
		} else if (step.kind === 'clip') {
			output.clip({x1: step.x1, x2: step.x2, y1: step.y1, y2: step.y2});
			clips++;
		} else if (clips > 0) {
			output.unclip();
			clips--;
		}
	}

	return output.get().output;
}

describe('Ink\'s frame buffer with caches kept across frames (text-patches.ts)', () => {
	test('draws every frame of a random sequence exactly as Ink\'s own Output does', async () => {
		const {original, patched} = await load();
		fc.assert(
			fc.property(frame, fc.array(fc.tuple(fc.nat(), operation, fc.boolean()), {maxLength: 12}), (first, changes) => {
				// The first frame, then each next one the last with one operation replaced (or the same again).
				const frames = [first];
				for (const [at, replacement, isSame] of changes) {
					const last = frames.at(-1)!;
					const operations = [...last.operations];
					if (!isSame && operations.length > 0) {
						operations[at % operations.length] = replacement;
					}

					frames.push({...last, operations});
				}

				for (const each of frames) {
					expect(draw(patched, each)).toBe(draw(original, each));
				}
			}),
			{numRuns: 1500},
		);
	});

	test('a dashboard-sized frame drawn again unchanged gives the same text, and its blank cells cannot be changed', async () => {
		const {original, patched} = await load();
		const lines = Array.from({length: 40}, (_, y) => `\u001B[90m│\u001B[39m row ${y} ${'─'.repeat(y)} 日本 \u001B[7m${y % 3 === 0 ? 'selected' : ''}\u001B[27m`);
		const frameOf = (changed: number) => ({
			width: 120,
			height: 40,
			operations: lines.map((line, y) => ({kind: 'write' as const, x: 0, y, text: y === changed ? `${line} changed` : line, transformers: []})),
		});
		for (const changed of [-1, 5, 5, 39, -1]) {
			expect(draw(patched, frameOf(changed))).toBe(draw(original, frameOf(changed)));
		}

		// Blank cells are one shared object now: frozen, so a future change that wrote into one would fail loudly.
		const require = createRequire(import.meta.url);
		expect(require.resolve('ink')).toBeTruthy();
		expect(readFileSync(patchedPath, 'utf8')).toMatch(/Object\.freeze\(\{type: 'char', value: ' ', fullWidth: false, styles: Object\.freeze\(\[\]\)\}\)/);
	});

	test('the caches kept across frames stay bounded when every frame draws new text', async () => {
		const {original, patched} = await load();
		let largest = 0;
		for (let index = 0; index < 2000; index++) {
			const frame = {width: 120, height: 4, operations: [0, 1, 2, 3].map((y) => ({kind: 'write' as const, x: 0, y, text: `\u001B[32m${index}:${y}\u001B[39m ${'═'.repeat(100)}`, transformers: []}))};
			expect(draw(patched, frame)).toBe(draw(original, frame));
			const {caches} = new patched({width: 1, height: 1}) as unknown as {caches: {styledChars: Map<string, unknown>; netdashLines: Map<string, unknown>}};
			const held = [...caches.styledChars.keys(), ...caches.netdashLines.keys()].reduce((sum, text) => sum + text.length, 0);
			largest = Math.max(largest, held);
		}

		// 2,000 frames of 4 new lines each would be ~1.8 million characters kept; the bound is 65,536 and one frame more.
		expect(largest).toBeGreaterThan(30_000);
		expect(largest).toBeLessThanOrEqual(65_536 + 4 * 2 * 120);
	});

	test('refuses an Ink whose Output is written differently, naming what it looked for', () => {
		const code = readFileSync(originalPath, 'utf8');
		expect(() => patchInkOutput(code.replace('caches = new OutputCaches();', 'caches = new OutputCaches(1);'), originalPath)).toThrow(/per-frame caches/);
		expect(patchInkOutput(code, '/somewhere/else/output.js')).toBeUndefined();
	});
});
