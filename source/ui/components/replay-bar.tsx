import {useSyncExternalStore} from 'react';
import {Box, Text} from 'ink';
import type {ReplayPlayer, ReplayState} from '../../core/replay/player.js';
import {seekStepMs} from '../../core/replay/player.js';
import type {PaneKeyHandler} from '../hooks/pane-keys.js';
import {actionOf, type KeyAction} from '../keys.js';
import {formatTime} from '../format.js';
import {colors} from '../theme.js';

/** Props of {@link ReplayBar}. */
export type ReplayBarProps = {
	readonly replay: ReplayPlayer;
	readonly width: number;
};

const replayActions: ReadonlySet<KeyAction> = new Set(['replay-pause', 'replay-faster', 'replay-slower', 'seek-back', 'seek-forward']);

/** `01:02.345`: recorded time since the first event, to the millisecond (a short session lasts well under one). */
function offset(ms: number): string {
	const whole = Math.max(0, Math.floor(ms));
	const minutes = Math.floor(whole / 60_000);
	const seconds = (whole % 60_000) / 1000;
	return `${String(minutes).padStart(2, '0')}:${seconds.toFixed(3).padStart(6, '0')}`;
}

/** The replay's status as one line: where it is in recorded time, how fast, how far, and the lines it skipped. */
export function replayText(state: ReplayState): string {
	const mode = state.isEnded ? '■ end' : state.isPaused ? '⏸ paused' : '▶';
	const speed = Number.isFinite(state.speed) ? `${state.speed}×` : 'full speed';
	const bad = state.badLines[0];
	const skipped = bad === undefined ? '' : ` · skipped line ${state.badLines.map((each) => each.line).slice(0, 5).join(', ')}${state.badLines.length > 5 ? ', …' : ''}: ${bad.reason}`;
	return `replay ${mode} ${formatTime(state.position)} (${offset(state.position - state.start)} of ${offset(state.end - state.start)}) · ${speed} · ${state.delivered}/${state.total} events${skipped}`;
}

/** The replay's line above the status bar: the recorded time, speed and position (space, +, -, [, ] change them). */
export function ReplayBar({replay, width}: ReplayBarProps) {
	const state = useSyncExternalStore(replay.subscribe, replay.getState);
	return (
		<Box width={width} height={1}>
			<Text wrap="truncate-end" color={state.badLines.length > 0 ? colors.warning : colors.focus}>
				{replayText(state)}
			</Text>
		</Box>
	);
}

/** The replay's keys (keys.ts, scope replay), asked before the panes' own: true when the key was one of them. */
export function replayKeyHandler(replay: ReplayPlayer): PaneKeyHandler {
	return ({input, key}) => {
		switch (actionOf(input, key, replayActions)) {
			case 'replay-pause': {
				replay.togglePause();
				return true;
			}

			case 'replay-faster': {
				replay.faster();
				return true;
			}

			case 'replay-slower': {
				replay.slower();
				return true;
			}

			case 'seek-back': {
				replay.seek(-seekStepMs);
				return true;
			}

			case 'seek-forward': {
				replay.seek(seekStepMs);
				return true;
			}

			default: {
				return false;
			}
		}
	};
}
