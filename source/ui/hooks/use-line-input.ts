import {useEffect, useReducer, useRef} from 'react';
import {useInput, type Key} from 'ink';
import type {Completion} from '../../core/command-line.js';
import {actionOf, type KeyAction} from '../keys.js';

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
	| {type: 'insert'; text: string}
	| {type: 'delete-back'}
	| {type: 'delete-word'}
	| {type: 'clear'}
	| {type: 'move'; to: 'left' | 'right' | 'start' | 'end'}
	| {type: 'replace'; value: string; candidates?: readonly string[]}
	| {type: 'history'; step: -1 | 1; history: readonly string[]};

/** Printable text only: a paste cannot put control characters in the line. */
function printable(text: string): string {
	return text.replaceAll('\t', ' ').replaceAll(/[\p{Cc}]/gu, '');
}

/** The reducer of a prompt line. */
export function lineInputReducer(state: LineInputState, action: LineInputAction): LineInputState {
	const {value, cursor} = state;
	switch (action.type) {
		case 'insert': {
			const text = printable(action.text);
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

/** Options of {@link useLineInput}. */
export type LineInputOptions = {
	/** Text the line starts with; a `\r` in it submits at once (keys typed ahead of the frame). */
	readonly initial?: string;
	readonly isActive: boolean;
	readonly onSubmit: (value: string) => void;
	readonly onCancel: () => void;
	/** Called after every edit, e.g. for a live filter. */
	readonly onChange?: (value: string) => void;
	/** Lines for up/down. */
	readonly history?: readonly string[];
	/** Tab completion. */
	readonly complete?: (value: string) => Completion;
};

const promptActions: ReadonlySet<KeyAction> = new Set(['history-previous', 'history-next', 'complete', 'submit', 'cancel']);

function startState(initial: string): LineInputState {
	const line = printable(initial.split('\r', 1)[0] ?? '');
	return {value: line, cursor: line.length, historyIndex: undefined, draft: '', candidates: []};
}

/** Keys of a prompt line: editing, history, completion, submit and cancel. */
export function useLineInput({initial = '', isActive, onSubmit, onCancel, onChange, history = [], complete}: LineInputOptions): LineInputState {
	// The line lives in a ref so two keys handled before the next render both
	// see the latest text; the reducer below only asks for that render.
	const stateRef = useRef<LineInputState | undefined>(undefined);
	stateRef.current ??= startState(initial);
	const [, rerender] = useReducer((count: number) => count + 1, 0);
	const state = stateRef.current;

	const apply = (action: LineInputAction): LineInputState => {
		const previous = stateRef.current!;
		const next = lineInputReducer(previous, action);
		stateRef.current = next;
		rerender();
		if (next.value !== previous.value) {
			onChange?.(next.value);
		}

		return next;
	};

	useEffect(() => {
		if (initial.includes('\r')) {
			onSubmit(stateRef.current!.value);
		}
		// Only the text the prompt opened with can carry a typed-ahead enter.
		// eslint-disable-next-line react-hooks/exhaustive-deps
	}, []);

	useInput(
		(input: string, key: Key) => {
			const action = actionOf(input, key, promptActions);
			switch (action) {
				case 'history-previous':
				case 'history-next': {
					if (history.length > 0) {
						apply({type: 'history', step: action === 'history-previous' ? -1 : 1, history});
					}

					return;
				}

				case 'complete': {
					if (complete) {
						const completion = complete(stateRef.current!.value);
						apply({type: 'replace', value: completion.text, candidates: completion.candidates.length > 1 ? completion.candidates : []});
					}

					return;
				}

				case 'submit': {
					onSubmit(stateRef.current!.value);
					return;
				}

				case 'cancel': {
					onCancel();
					return;
				}

				default: {
					break;
				}
			}

			if (key.backspace || key.delete) {
				apply({type: 'delete-back'});
			} else if (key.leftArrow) {
				apply({type: 'move', to: 'left'});
			} else if (key.rightArrow) {
				apply({type: 'move', to: 'right'});
			} else if (key.home || (key.ctrl && input === 'a')) {
				apply({type: 'move', to: 'start'});
			} else if (key.end || (key.ctrl && input === 'e')) {
				apply({type: 'move', to: 'end'});
			} else if (key.ctrl && input === 'u') {
				apply({type: 'clear'});
			} else if (key.ctrl && input === 'w') {
				apply({type: 'delete-word'});
			} else if (!key.ctrl && !key.meta && input !== '') {
				// A chunk typed or pasted faster than a frame: text, then maybe enter.
				const end = input.indexOf('\r');
				const next = apply({type: 'insert', text: end === -1 ? input : input.slice(0, end)});
				if (end !== -1) {
					onSubmit(next.value);
				}
			}
		},
		{isActive},
	);

	return state;
}
