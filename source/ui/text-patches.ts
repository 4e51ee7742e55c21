/**
 * Changes to Ink's text dependencies, made where their code is loaded:
 * by the bundle (rolldown.config.mjs, for what users run) and by the
 * bench's module hooks (test/bench/hooks.ts, which render the unbundled
 * dist/ui/app.js), so the bench measures the dashboard users get. Both
 * import the helpers from dist/ui/graphemes.js.
 */

/** Where a dependency's module id says it is string-width's entry. */
const stringWidthEntry = /[\\/]node_modules[\\/]string-width[\\/]index\.js$/;

/** string-width's own fast path, which the narrow test widens. */
const asciiFastPath = 'if (/^[\\u0020-\\u007E]*$/.test(string)) {';

/** string-width's emoji test, made when the module loads. */
const rgiEmojiLiteral = 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;';

/**
 * The same test, made on first use. V8 builds `\p{RGI_Emoji}` (a class of
 * several thousand strings) when the literal is evaluated: ~20 ms of every
 * start before the first frame, for a test string-width runs only on a
 * cluster that is not one column wide.
 */
const rgiEmojiLazy = "let __netdashRgiEmoji; const rgiEmojiRegex = {test: (text) => (__netdashRgiEmoji ??= new RegExp('^\\\\p{RGI_Emoji}$', 'v')).test(text)};";

/**
 * Every `new Intl.Segmenter(…)` in a dependency becomes netdash's
 * lazySegmenter(…) (graphemes.ts): Ink's text libraries each make one when
 * loaded, and the first costs 15–20 ms of ICU set-up before the first frame,
 * though the dashboard's text rarely needs one. Undefined when `code` makes none.
 */
export function patchSegmenters(code: string, id: string, graphemesPath: string): string | undefined {
	if (!/[\\/]node_modules[\\/]/.test(id) || !code.includes('new Intl.Segmenter(')) {
		return undefined;
	}

	return `import {lazySegmenter as __netdashLazySegmenter} from ${JSON.stringify(graphemesPath)};\n${code.replaceAll('new Intl.Segmenter(', '__netdashLazySegmenter(')}`;
}

/**
 * string-width measures printable ASCII by its length and everything else
 * grapheme by grapheme; each line of the dashboard has box drawing in it,
 * so Ink measured every line the slow way. isNarrowText (graphemes.ts)
 * widens that fast path to the characters that are one column each, with
 * string-width's default of ambiguous-is-narrow. Undefined for any other
 * module. @throws Error when string-width no longer has the fast path this
 * widens (an update to check).
 */
export function patchStringWidth(code: string, id: string, graphemesPath: string): string | undefined {
	if (!stringWidthEntry.test(id)) {
		return undefined;
	}

	if (!code.includes(asciiFastPath) || !code.includes('ambiguousIsNarrow = true')) {
		throw new Error('narrow-string-width: string-width no longer has its ASCII fast path; check the string-width update');
	}

	if (!code.includes(rgiEmojiLiteral) || code.split('rgiEmojiRegex').length !== 3 || !code.includes('rgiEmojiRegex.test(')) {
		throw new Error('lazy-emoji-regex: string-width no longer makes and uses its RGI_Emoji test as expected; check the string-width update');
	}

	const widened = code.replace(asciiFastPath, 'if (/^[\\u0020-\\u007E]*$/.test(string) || (ambiguousIsNarrow && __netdashIsNarrowText(string))) {');
	return `import {isNarrowText as __netdashIsNarrowText} from ${JSON.stringify(graphemesPath)};\n${widened.replace(rgiEmojiLiteral, () => rgiEmojiLazy)}`;
}

/** Where a dependency's module id says it is Ink's frame buffer (`Output`). */
const inkOutputModule = /[\\/]node_modules[\\/]ink[\\/]build[\\/]output\.js$/;

/** Ink's text caches, made afresh for every frame. */
const perFrameCaches = '    caches = new OutputCaches();\n';

/** Every cell of every frame starts as its own new blank object. */
const freshBlankCell = `                row.push({
                    type: 'char',
                    value: ' ',
                    fullWidth: false,
                    styles: [],
                });
`;

/** Every row of every frame is turned into its string again. */
const rowToString = `            .map(line => {
            // See https://github.com/vadimdemedes/ink/pull/564#issuecomment-1637022742
            const lineWithoutEmptyItems = line.filter(item => item !== undefined);
            return styledCharsToString(lineWithoutEmptyItems).trimEnd();
        })
`;

/** Every write splits its text into lines and turns each back into a string, every frame. */
const linesOfText = `        const characterLines = [[]];
        for (const character of this.caches.getStyledChars(text)) {
            if (character.value === '\\n') {
                characterLines.push([]);
            }
            else {
                characterLines.at(-1).push(character);
            }
        }
        let lines = characterLines.map(line => styledCharsToString(line));
`;

/** Ink's own splitting of a text into lines, done once per text while the caches keep it. */
const linesOfTextKept = `        let lines = this.caches.netdashLines.get(text);
        if (lines === undefined) {
${linesOfText.replace('let lines = ', 'lines = ')}            this.caches.netdashLines.set(text, lines);
            this.caches.netdashChars += text.length;
        }
`;

/** Every clipped line is cut to its columns again, every frame. */
const sliceToColumns = '                    return this.sliceLineToColumns(line, from, to);\n';

/**
 * What the changes below call. The caches are Ink's own class, kept from
 * frame to frame, with two maps more (a text's lines, a line cut to columns),
 * and dropped whole once they hold 65,536 characters of text (a cell costs
 * ~116 B, so ~7.5 MiB; a 120×40 frame is 4,800 cells; a counter that changes
 * every frame adds a line each time) or 4,096 widths; what they hold is
 * never changed by Ink (it makes new arrays and strings from it). A row's string
 * depends only on its cells, so a row made of the very same cell objects as
 * last time (the caches hand out the same objects for the same text) has the
 * same string.
 */
const inkOutputHelpers = `
const __netdashBlankCell = Object.freeze({type: 'char', value: ' ', fullWidth: false, styles: Object.freeze([])});
let __netdashCaches;
function __netdashSharedCaches() {
    const caches = __netdashCaches;
    if (caches === undefined || caches.netdashChars > 65536 || caches.widths.size > 4096 || caches.blockWidths.size > 4096) {
        const fresh = new OutputCaches();
        fresh.netdashChars = 0;
        fresh.netdashLines = new Map();
        fresh.netdashSlices = new Map();
        const getStyledChars = fresh.getStyledChars;
        fresh.getStyledChars = function (line) {
            const size = this.styledChars.size;
            const characters = getStyledChars.call(this, line);
            if (this.styledChars.size !== size) {
                this.netdashChars += line.length;
            }
            return characters;
        };
        __netdashCaches = fresh;
    }
    return __netdashCaches;
}
function __netdashSlice(output, line, from, to) {
    const key = from + ':' + to + ':' + line;
    let slice = output.caches.netdashSlices.get(key);
    if (slice === undefined) {
        slice = output.sliceLineToColumns(line, from, to);
        output.caches.netdashSlices.set(key, slice);
        output.caches.netdashChars += key.length;
    }
    return slice;
}
const __netdashRows = [];
function __netdashRowText(line, y) {
    const cells = line.filter(item => item !== undefined);
    const last = __netdashRows[y];
    if (last !== undefined && last.cells.length === cells.length) {
        let isSame = true;
        for (let index = 0; index < cells.length; index++) {
            if (last.cells[index] !== cells[index]) {
                isSame = false;
                break;
            }
        }
        if (isSame) {
            return last.text;
        }
    }
    const text = styledCharsToString(cells).trimEnd();
    __netdashRows[y] = {cells, text};
    return text;
}
`;

/**
 * Ink's frame buffer, made to reuse last frame's work: Ink builds a grid of
 * cells for every frame (a new object per cell: 4,800 at 120×40), tokenizes
 * every line of text again (its caches live for one frame) and turns every
 * row back into a string. On a dashboard drawing 20 frames a second while
 * it reads a socket, that was the largest part of a frame after React.
 * Now the caches live across frames (with a text's lines and a line's
 * clipped columns in them), blank cells are one frozen object, and an
 * unchanged row keeps its string. The output is the same string (tested
 * against Ink's own Output on random frames, test/ui/ink-output.test.ts).
 * Undefined for any other module. @throws Error when Ink's Output is no
 * longer written as this expects (an update to check).
 */
export function patchInkOutput(code: string, id: string): string | undefined {
	if (!inkOutputModule.test(id)) {
		return undefined;
	}

	for (const [name, piece] of [['per-frame caches', perFrameCaches], ['fresh blank cells', freshBlankCell], ['rows to strings', rowToString], ['lines of a text', linesOfText], ['lines cut to columns', sliceToColumns]] as const) {
		if (code.split(piece).length !== 2) {
			throw new Error(`ink-output: Ink's Output no longer has its ${name} as expected; check the ink update`);
		}
	}

	return (
		code
			.replace(perFrameCaches, () => '    caches = __netdashSharedCaches();\n')
			.replace(freshBlankCell, () => '                row.push(__netdashBlankCell);\n')
			.replace(rowToString, () => '            .map((line, y) => __netdashRowText(line, y))\n')
			.replace(linesOfText, () => linesOfTextKept)
			.replace(sliceToColumns, () => '                    return __netdashSlice(this, line, from, to);\n') + inkOutputHelpers
	);
}

/** Every change above that applies to the module `id` (undefined when none does). */
export function patchText(code: string, id: string, graphemesPath: string): string | undefined {
	const widths = patchStringWidth(code, id, graphemesPath) ?? code;
	const output = patchInkOutput(widths, id) ?? widths;
	const lazy = patchSegmenters(output, id, graphemesPath) ?? output;
	return lazy === code ? undefined : lazy;
}
