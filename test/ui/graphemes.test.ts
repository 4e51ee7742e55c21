import {execFileSync} from 'node:child_process';
import {readdirSync, readFileSync} from 'node:fs';
import process from 'node:process';
import path from 'node:path';
import fc from 'fast-check';
import {describe, expect, test} from 'vitest';
import stringWidth from 'string-width';
import {isNarrowText, isOneGraphemePerUnit, lazySegmenter} from '../../source/ui/graphemes.js';

const icu = new Intl.Segmenter(undefined, {granularity: 'grapheme'});
const segmentsOf = (segments: Iterable<Intl.SegmentData>) => [...segments].map(({segment, index, input}) => ({segment, index, input}));

/** Text a dashboard draws, and what breaks the one-unit-one-grapheme rule: combining marks, ZWJ, emoji, CR LF, Hangul, flags. */
const alphabet = [
	...'ab Z09~\t\u001B[m\n·—→…⏎›–✗⚠●○←×↓┐┌•◌◇━␍↑⟩⟨◐▼█╶╭┏⇥✓▁⋯≈é',
	'\u0301', '\u200D', '\uFE0F', '\r', '\r\n', '👩', '🇩🇪', '한', '\u1100', '\u1161', '❤', '😀', 'ก', 'ำ',
];
const texts = fc.array(fc.constantFrom(...alphabet), {maxLength: 30}).map((parts) => parts.join(''));

describe('grapheme segmentation without ICU', () => {
	test('gives the same segments as Intl.Segmenter for dashboard text and for text that needs ICU', () => {
		const segmenter = lazySegmenter();
		fc.assert(
			fc.property(fc.oneof(texts, fc.string({unit: 'grapheme'}), fc.string({unit: 'binary'})), (text) => {
				expect(segmentsOf(segmenter.segment(text))).toEqual(segmentsOf(icu.segment(text)));
			}),
			{numRuns: 2000},
		);
	});

	test('answers containing() as Intl does, including outside the text', () => {
		const segmenter = lazySegmenter(undefined, {granularity: 'grapheme'});
		fc.assert(
			fc.property(texts, fc.integer({min: -2, max: 35}), (text, index) => {
				const ours = segmenter.segment(text).containing(index);
				const theirs = icu.segment(text).containing(index);
				expect(ours && {segment: ours.segment, index: ours.index}).toEqual(theirs && {segment: theirs.segment, index: theirs.index});
			}),
		);
	});

	test('leaves ICU out only for text whose every unit is a grapheme, and word segmenters to ICU', () => {
		expect(isOneGraphemePerUnit('╭─ 1 Listeners (0 open) · → — ⚠ ✓')).toBe(true);
		expect(isOneGraphemePerUnit('e\u0301')).toBe(false);
		expect(isOneGraphemePerUnit('a\r\nb')).toBe(false);
		expect(isOneGraphemePerUnit('❤\uFE0F')).toBe(false);
		const words = [...lazySegmenter('en', {granularity: 'word'}).segment('two words')];
		expect(words.map((segment) => segment.segment)).toEqual(['two', ' ', 'words']);
	});

	test('every character measured by its length is one column in string-width and a grapheme of its own', () => {
		// Exhaustive over the Basic Multilingual Plane: the fast path may only ever agree with string-width.
		const narrow: string[] = [];
		for (let unit = 0; unit <= 0xFF_FF; unit++) {
			const character = String.fromCharCode(unit);
			if (isNarrowText(character)) {
				narrow.push(character);
				expect({character: unit.toString(16), width: stringWidth(character)}).toEqual({character: unit.toString(16), width: 1});
			}
		}

		expect(isOneGraphemePerUnit(narrow.join(''))).toBe(true);
		// What the panes draw is all in it.
		expect(isNarrowText('╭─ 1 Listeners (0 open) · → — … ⏎ ⇥ ⋯ ≈ ⟨⟩ ␍ ⚠ ✓ ✗ ● ○ ◌ ◇ ◐ ◑ ▲ ▼ █ ▁▇ × • › – ━┏┃╶')).toBe(true);
	});

	test('a text measured by its length has the width string-width gives it', () => {
		fc.assert(
			fc.property(texts, (text) => {
				if (isNarrowText(text)) {
					expect(text.length).toBe(stringWidth(text));
				}
			}),
			{numRuns: 2000},
		);
	});

	test('the shipped bundle makes an Intl.Segmenter nowhere but in lazySegmenter', () => {
		const bin = path.resolve(import.meta.dirname, '..', '..', 'dist', 'bin');
		const made = readdirSync(bin)
			.filter((file) => file.endsWith('.js'))
			.flatMap((file) => readFileSync(path.join(bin, file), 'utf8').match(/.{0,60}new Intl\.Segmenter\(.{0,20}/g) ?? []);
		// One: the real segmenter that lazySegmenter makes when a text needs it.
		expect(made).toHaveLength(1);
		expect(made[0]).toMatch(/granularity\?\?`grapheme`/);
	});

	test('the shipped bundle puts the narrow-text test in front of string-width\'s grapheme loop', () => {
		const bin = path.resolve(import.meta.dirname, '..', '..', 'dist', 'bin');
		const run = readdirSync(bin).find((file) => file.startsWith('run-'))!;
		expect(readFileSync(path.join(bin, run), 'utf8')).toMatch(/\/\^\[\\u0020-\\u007E\]\*\$\/\.test\(\w+\)\|\|\w+&&\w+\(\w+\)/);
	});

	test('the shipped bundle makes string-width\'s RGI_Emoji class on first use, not when it loads', () => {
		const bin = path.resolve(import.meta.dirname, '..', '..', 'dist', 'bin');
		const code = readdirSync(bin)
			.filter((file) => file.endsWith('.js'))
			.map((file) => readFileSync(path.join(bin, file), 'utf8'))
			.join('\n');
		// Building the class when the module is evaluated was ~20 ms of every start.
		expect(code).not.toMatch(/\/\^\\p\{RGI_Emoji\}\$\/v/);
		expect(code.match(/\?\?=RegExp\(`\^\\\\p\{RGI_Emoji\}\$`,`v`\)\)\.test\(/g)).toHaveLength(1);
	});

	test('string-width with the patches measures what the original measures, emoji and all', () => {
		const repo = path.resolve(import.meta.dirname, '..', '..');
		const emoji = ['👍', '👍🏽', '👨‍👩‍👧', '🇩🇪', '1️⃣', '#⃣', '❤', '❤️', '☺', '☺️', '©️', '🏳️‍🌈', '🧑‍💻', '©', '™', '↔️', 'a👍b', '日本🎉', 'e\u0301', '한국', '\u1100\u1161\u11A8', 'ｶﾞ', '👩🏽‍❤️‍💋‍👨🏻'];
		const texts = [...emoji, ...fc.sample(fc.string({unit: 'grapheme', maxLength: 12}), {numRuns: 800, seed: 42}), ...fc.sample(fc.string({unit: 'binary', maxLength: 12}), {numRuns: 400, seed: 7})];
		const script = [
			"import stringWidth from 'string-width';",
			"import {readFileSync} from 'node:fs';",
			"const texts = JSON.parse(readFileSync(0, 'utf8'));",
			"process.stdout.write(JSON.stringify(texts.map((text) => stringWidth(text))));",
		].join('\n');
		const output = execFileSync(process.execPath, ['--import', path.join(repo, 'test', 'bench', 'hooks.ts'), '--input-type=module', '--eval', script], {cwd: repo, encoding: 'utf8', input: JSON.stringify(texts)});
		const widths = JSON.parse(output) as number[];
		expect(widths).toEqual(texts.map((text) => stringWidth(text)));
		// Emoji whose first code point alone is one column: only the RGI_Emoji test makes them two.
		expect(widths.slice(7, 10)).toEqual([2, 1, 2]);
	});

	test('the bench renders the dashboard with the same text patches as the bundle (its module hooks)', () => {
		const repo = path.resolve(import.meta.dirname, '..', '..');
		// Ink's own modules, loaded through the bench's hooks: string-width widened, Ink's segmenters lazy.
		const script = [
			"import stringWidth from 'string-width';",
			"const ink = await import('ink');",
			"process.stdout.write(JSON.stringify({width: stringWidth('┌─ab→•'), isNarrowPatched: String(stringWidth).includes('__netdashIsNarrowText'), hasInk: typeof ink.render === 'function'}));",
		].join('\n');
		const output = execFileSync(process.execPath, ['--import', path.join(repo, 'test', 'bench', 'hooks.ts'), '--input-type=module', '--eval', script], {cwd: repo, encoding: 'utf8'});
		expect(JSON.parse(output)).toEqual({width: 6, isNarrowPatched: true, hasInk: true});
	});
});
