import {useEffect, useReducer, useRef} from 'react';
import {useInput, type Key} from 'ink';
import type {Completion} from '../../core/command-line.js';
import {actionOf, type KeyAction} from '../keys.js';
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
};

const promptActions: ReadonlySet<KeyAction> = new Set(['history-previous', 'history-next', 'complete', 'submit', 'cancel']);

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
		// Once, on mount: only the text the prompt opened with can carry a typed-ahead enter.
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
