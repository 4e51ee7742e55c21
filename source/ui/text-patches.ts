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
