import {useEffect, useReducer, useRef} from 'react';
import {useInput, usePaste, type Key} from 'ink';
import type {Completion} from '../../core/command-line.js';
import {actionOf, noKey, type KeyAction} from '../keys.js';
import {lineInputReducer, startState, type LineInputAction, type LineInputState} from './use-line-input-state.js';

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
	/**
	 * A bracketed paste as the line should hold it (the send prompt keeps
	 * line breaks and TABs); without it a paste is inserted as typed text,
	 * its control characters dropped, and never submits the line.
	 */
	readonly fromPaste?: (text: string) => string;
	/** Text pasted before the line opened (already through fromPaste). */
	readonly pasted?: string;
	/** ctrl-t: switch the line ending (the send prompt). */
	readonly onLineEnding?: () => void;
	/** Keys typed after the enter that submitted the line, in the same burst: they belong to the dashboard again. */
	readonly onTypeAhead?: (rest: string) => void;
};

const promptActions: ReadonlySet<KeyAction> = new Set(['history-previous', 'history-next', 'complete', 'line-ending', 'submit', 'cancel']);

/** Keys of a prompt line: editing, history, completion, submit and cancel. */
export function useLineInput({initial = '', isActive, onSubmit, onCancel, onChange, history = [], complete, fromPaste, pasted = '', onLineEnding, onTypeAhead}: LineInputOptions): LineInputState {
	// The line lives in a ref so two keys handled before the next render both
	// see the latest text; the reducer below only asks for that render.
	const stateRef = useRef<LineInputState | undefined>(undefined);
	stateRef.current ??= startState(initial, pasted);
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
		const end = initial.indexOf('\r');
		if (end !== -1) {
			onSubmit(stateRef.current!.value);
			onTypeAhead?.(initial.slice(end + 1));
		}
		// Once, on mount: only the text the prompt opened with can carry a typed-ahead enter.
	}, []);

	// A bracketed paste arrives whole, on its own channel: its line breaks never submit the line.
	usePaste(
		(text) => {
			apply(fromPaste ? {type: 'insert', text: fromPaste(text), isRaw: true} : {type: 'insert', text});
		},
		{isActive},
	);

	/** One key; false once the line is submitted or cancelled (keys after it are not the line's). */
	const handleKey = (input: string, key: Key): boolean => {
		const action = actionOf(input, key, promptActions);
		switch (action) {
			case 'history-previous':
			case 'history-next': {
				if (history.length > 0) {
					apply({type: 'history', step: action === 'history-previous' ? -1 : 1, history});
				}

				return true;
			}

			case 'complete': {
				if (complete) {
					const completion = complete(stateRef.current!.value);
					apply({type: 'replace', value: completion.text, candidates: completion.candidates.length > 1 ? completion.candidates : []});
				}

				return true;
			}

			case 'line-ending': {
				onLineEnding?.();
				return true;
			}

			case 'submit': {
				onSubmit(stateRef.current!.value);
				return false;
			}

			case 'cancel': {
				onCancel();
				return false;
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
			apply({type: 'insert', text: input});
		}

		return true;
	};

	useInput(
		(input: string, key: Key) => {
			// A chunk typed faster than a frame (not a paste: that comes on its own channel) is keys in
			// order: text is inserted, a TAB completes, an enter submits and the rest goes back to the dashboard.
			const chunks = /[\r\t]/.test(input) && input.length > 1 ? input.split(/([\r\t])/).filter((part) => part !== '') : [input];
			for (const [index, chunk] of chunks.entries()) {
				const typed = chunks.length === 1 ? {input, key} : {input: chunk, key: chunk === '\r' ? {...noKey, return: true} : chunk === '\t' ? {...noKey, tab: true} : noKey};
				if (!handleKey(typed.input, typed.key)) {
					onTypeAhead?.(chunks.slice(index + 1).join(''));
					return;
				}
			}
		},
		{isActive},
	);

	return state;
}
