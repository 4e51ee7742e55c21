/** The text of a prompt line and where its cursor is. */
export type LineInputState = {
	readonly value: string;
	/** Index into `value` (UTF-16), 0…value.length. */
	readonly cursor: number;
	/** Position in the history while browsing it; undefined while editing a new line. */
	readonly historyIndex: number | undefined;
	/** The line being typed before browsing the history began. */
	readonly draft: string;
	/** Completion candidates to show after an ambiguous tab. */
	readonly candidates: readonly string[];
};

/** Edits of a prompt line. */
export type LineInputAction =
	/** Typed text (control characters dropped), or with `isRaw` text already made safe for the line (a paste kept whole). */
	| {type: 'insert'; text: string; isRaw?: boolean}
	| {type: 'delete-back'}
	| {type: 'delete-word'}
	| {type: 'clear'}
	| {type: 'move'; to: 'left' | 'right' | 'start' | 'end'}
	| {type: 'replace'; value: string; candidates?: readonly string[]}
	| {type: 'history'; step: -1 | 1; history: readonly string[]};

/** Printable text only: a paste cannot put control characters in the line. */
export function printable(text: string): string {
	return text.replaceAll('\t', ' ').replaceAll(/[\p{Cc}]/gu, '');
}

/** The reducer of a prompt line. */
export function lineInputReducer(state: LineInputState, action: LineInputAction): LineInputState {
	const {value, cursor} = state;
	switch (action.type) {
		case 'insert': {
			const text = action.isRaw ? action.text : printable(action.text);
			return {...state, value: value.slice(0, cursor) + text + value.slice(cursor), cursor: cursor + text.length, candidates: []};
		}

		case 'delete-back': {
			if (cursor === 0) {
				return state;
			}

			// Delete a whole surrogate pair, not half of an emoji.
			const size = cursor >= 2 && /[\uDC00-\uDFFF]/.test(value[cursor - 1]!) && /[\uD800-\uDBFF]/.test(value[cursor - 2]!) ? 2 : 1;
			return {...state, value: value.slice(0, cursor - size) + value.slice(cursor), cursor: cursor - size, candidates: []};
		}

		case 'delete-word': {
			const start = value.slice(0, cursor).search(/\S*\s*$/);
			return {...state, value: value.slice(0, start) + value.slice(cursor), cursor: start, candidates: []};
		}

		case 'clear': {
			return {...state, value: '', cursor: 0, candidates: []};
		}

		case 'move': {
			const to = {left: Math.max(0, cursor - 1), right: Math.min(value.length, cursor + 1), start: 0, end: value.length}[action.to];
			return {...state, cursor: to};
		}

		case 'replace': {
			return {...state, value: action.value, cursor: action.value.length, candidates: action.candidates ?? []};
		}

		case 'history': {
			const {history, step} = action;
			if (history.length === 0) {
				return state;
			}

			const current = state.historyIndex ?? history.length;
			const next = Math.max(0, Math.min(history.length, current + step));
			const draft = state.historyIndex === undefined ? value : state.draft;
			const text = next === history.length ? draft : history[next]!;
			return {value: text, cursor: text.length, historyIndex: next === history.length ? undefined : next, draft, candidates: []};
		}
	}
}

/** The state a line starts in: `initial` up to any typed-ahead enter, then `pasted` (already made safe for the line) as it is. */
export function startState(initial: string, pasted = ''): LineInputState {
	const line = printable(initial.split('\r', 1)[0] ?? '') + pasted;
	return {value: line, cursor: line.length, historyIndex: undefined, draft: '', candidates: []};
}
