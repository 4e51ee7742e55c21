import type {HeldChunkRow, RelayDirectionName, RelayRow} from '../../core/index.js';
import {parseEscapedText} from '../../core/format/index.js';
import {editableText, editedBytes, parseRate} from '../relay-input.js';
import type {Commands} from './use-commands.js';
import type {DashboardAction, RelayStepName} from './use-dashboard-state.js';

/** What the relay keys need. */
export type RelayStepsOptions = {
	readonly relays: readonly RelayRow[];
	readonly commands: Commands;
	readonly dispatch: (action: DashboardAction) => void;
};

/** The prompts' and the held list's callbacks for steering a relay (issue 13: i, s, t, h). */
export type RelaySteps = {
	/** The send prompt: to a socket, or (with `direction`) injected into a relay. */
	readonly onSend: (target: string, text: string, direction?: RelayDirectionName) => void;
	readonly relayOf: (id: string) => RelayRow | undefined;
	/** A direction was chosen: i toggles intercept (and shows what it holds), s opens the inject prompt, t the pace prompt. */
	readonly onDirection: (relay: string, step: RelayStepName, direction: RelayDirectionName) => void;
	readonly onThrottle: (relay: string, direction: RelayDirectionName, text: string) => void;
	readonly onEditHeld: (relay: string, chunk: number, format: 'text' | 'hex', text: string) => void;
	/** The held list's actions on relay `id`. */
	readonly held: (id: string) => {
		onMove: (cursor: number) => void;
		onForward: (chunk: HeldChunkRow) => void;
		onEdit: (chunk: HeldChunkRow, format: 'text' | 'hex') => void;
		onDrop: (chunk: HeldChunkRow) => void;
		onClose: () => void;
	};
};

/** Steering a relay from the dashboard: every step goes to the core as the JSON commands do, and comes back as an event. */
export function useRelaySteps({relays, commands, dispatch}: RelayStepsOptions): RelaySteps {
	const relayOf = (id: string) => relays.find((row) => row.id === id);
	return {
		onSend(target, text, direction) {
			if (direction === undefined) {
				commands.send(target, text);
			} else {
				commands.steer(target, () => ({type: 'inject', direction, data: parseEscapedText(text)}));
			}
		},
		relayOf,
		onDirection(relay, step, direction) {
			const row = relayOf(relay);
			if (step === 'intercept') {
				const isOn = !(row?.intercept[direction] ?? false);
				commands.steer(relay, {type: 'intercept', direction, isOn});
				// What intercept holds is what one came to see.
				if (isOn) {
					dispatch({type: 'open-held', relay});
				}
			} else if (step === 'inject') {
				dispatch({type: 'open-prompt', prompt: {kind: 'send', target: relay, initial: '', direction}});
			} else {
				const pace = row?.throttle[direction] ?? 0;
				dispatch({type: 'open-prompt', prompt: {kind: 'throttle', relay, direction, initial: pace > 0 ? String(pace) : ''}});
			}
		},
		onThrottle(relay, direction, text) {
			commands.steer(relay, () => ({type: 'throttle', direction, bytesPerSecond: parseRate(text)}));
		},
		onEditHeld(relay, chunk, format, text) {
			commands.steer(relay, () => ({type: 'release', chunk, data: editedBytes(text, format)}));
		},
		held(id) {
			return {
				onMove(cursor) {
					dispatch({type: 'move-held', cursor});
				},
				onForward(chunk) {
					commands.steer(id, {type: 'release', chunk: chunk.chunk});
				},
				onEdit(chunk, format) {
					dispatch({type: 'open-prompt', prompt: {kind: 'edit-held', relay: id, chunk: chunk.chunk, format, initial: editableText(chunk.data, format)}});
				},
				onDrop(chunk) {
					commands.steer(id, {type: 'drop', chunk: chunk.chunk});
				},
				onClose() {
					dispatch({type: 'close-held'});
				},
			};
		},
	};
}
