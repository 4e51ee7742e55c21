/**
 * Grapheme segmentation without ICU for the text a dashboard draws.
 *
 * The first `new Intl.Segmenter()` in a process loads ICU's break rules:
 * 15–20 ms, and Ink's text dependencies (string-width, wrap-ansi,
 * slice-ansi, cli-truncate, ansi-tokenize, Ink's line-update) each make one
 * when they are loaded, so every start paid it before the first frame. The
 * bundle (rolldown.config.mjs) replaces each `new Intl.Segmenter(…)` with
 * lazySegmenter(…): the same answers, from a real segmenter made on first
 * need, and without one for text in which every UTF-16 unit is a grapheme of
 * its own (ASCII, Latin, box drawing, arrows, the symbols the panes use).
 */

/**
 * UTF-16 units that are always a grapheme of their own (Unicode UAX #29):
 * none is Extend, ZWJ, SpacingMark, Prepend, Hangul, a regional indicator or
 * a surrogate, so no rule joins them to a neighbour. Controls break on both
 * sides too, except CR before LF, so CR is left out.
 */
const singleUnitGraphemes = /^[\u0000-\u000C\u000E-\u02FF\u2010-\u2027\u2030-\u205E\u2100-\u244A\u2460-\u27EF]*$/;

/** True when every UTF-16 unit of `text` is its own grapheme. */
export function isOneGraphemePerUnit(text: string): boolean {
	return singleUnitGraphemes.test(text);
}

/**
 * UTF-16 units that string-width measures as one column each (with its
 * default, ambiguous-is-narrow) and that are graphemes of their own:
 * printable ASCII and Latin, punctuation, letterlike symbols, arrows, maths,
 * box drawing, blocks, geometric shapes, dingbats; without the emoji among
 * them that terminals draw two columns wide (⌚, ⏩, ◽, ✅, ❌…) and the
 * zero-width soft hyphen. test/ui/graphemes.test.ts checks every unit of it
 * against string-width.
 */
const narrowUnits = /^[\u0020-\u007E\u00A0-\u00AC\u00AE-\u02FF\u2010-\u2027\u2030-\u205E\u2100-\u2319\u231C-\u2328\u232B-\u23E8\u23ED-\u23EF\u23F4-\u244A\u2500-\u25FC\u26A0\u2700-\u2704\u2706-\u2709\u270C-\u2727\u2729-\u274B\u27C0-\u27EF]*$/;

/**
 * True when `text` takes one terminal column per UTF-16 unit: its width is
 * its length. The bundle puts this in front of string-width's grapheme loop,
 * beside its own printable-ASCII test (rolldown.config.mjs), so the box
 * drawing, dots and arrows on every line of the dashboard are measured
 * without segmenting and matching each character against emoji tables.
 */
export function isNarrowText(text: string): boolean {
	return narrowUnits.test(text);
}

/** The segments of a text in which every unit is a grapheme: what Intl's `Segments` gives for it. */
class UnitSegments implements SegmentsLike {
	readonly #input: string;

	constructor(input: string) {
		this.#input = input;
	}

	containing(codeUnitIndex?: number): Intl.SegmentData | undefined {
		const index = Math.trunc(Number(codeUnitIndex ?? 0)) || 0;
		if (index < 0 || index >= this.#input.length) {
			return undefined;
		}

		return {segment: this.#input[index]!, index, input: this.#input};
	}

	* [Symbol.iterator](): Iterator<Intl.SegmentData> {
		const input = this.#input;
		for (let index = 0; index < input.length; index++) {
			yield {segment: input[index]!, index, input};
		}
	}
}

/** The part of Intl's `Segments` that text libraries use: iteration and `containing`. */
export type SegmentsLike = Iterable<Intl.SegmentData> & {containing(codeUnitIndex?: number): Intl.SegmentData | undefined};

/** What lazySegmenter returns: the part of Intl.Segmenter that text libraries use. */
export type LazySegmenter = {
	segment(input: string): SegmentsLike;
	resolvedOptions(): Intl.ResolvedSegmenterOptions;
};

/**
 * A stand-in for `new Intl.Segmenter(locales, options)` that makes the real
 * one only when a text needs it; grapheme segments of text in which every
 * unit is a grapheme are made directly. Word and sentence segmenters are
 * real from their first use.
 */
export function lazySegmenter(locales?: Intl.LocalesArgument, options?: Intl.SegmenterOptions): LazySegmenter {
	let real: Intl.Segmenter | undefined;
	const isGrapheme = (options?.granularity ?? 'grapheme') === 'grapheme';
	const segmenter = () => {
		real ??= new Intl.Segmenter(locales, options);
		return real;
	};

	return {
		segment(input) {
			const text = String(input);
			return isGrapheme && isOneGraphemePerUnit(text) ? new UnitSegments(text) : segmenter().segment(text);
		},
		resolvedOptions() {
			return segmenter().resolvedOptions();
		},
	};
}
