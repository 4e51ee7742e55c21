import {useCallback, useRef, useState} from 'react';
import type {RelayDirectionName} from '../../core/index.js';
import {nextLineEnding, type LineEnding} from '../send-text.js';
import {systemSorts, type SystemGrouping, type SystemSort} from '../system-rows.js';

/** The panes, numbered by index + 1; tab goes round the first four (System takes the whole screen, so only 5 opens it). */
export const paneNames = ['listeners', 'connections', 'log', 'discovery', 'system'] as const;

/** One of the panes. */
export type PaneName = (typeof paneNames)[number];

/** The panes tab and shift-tab go round. */
const tabOrder: readonly PaneName[] = ['listeners', 'connections', 'log', 'discovery'];

/** How the System pane shows the machine's sockets. */
export type SystemPaneState = {
	readonly grouping: SystemGrouping;
	readonly sort: SystemSort;
	/** The socket (its key) whose details are shown, in place of the list. */
	readonly detail: string | undefined;
	/** Milliseconds between refreshes while the pane is shown (`+` / `-`). */
	readonly intervalMs: number;
};

/** The refresh intervals `+` and `-` step through. */
export const systemIntervals: readonly number[] = [500, 1000, 2000, 5000, 10_000];

/** Panes whose rows have a cursor (the log keeps its own, by entry seq). */
export type ListPaneName = Exclude<PaneName, 'log'>;

/** A destructive action that waits for a yes. */
/** `connect`'s target is `host:port` (enter on a TCP service of the Discovery pane); `destroy`'s a System pane row's key. */
export type ConfirmAction = 'reset' | 'close' | 'connect' | 'quit' | 'destroy';

/** The prompt on the bottom line, when one is open. */
export type Prompt =
	| {readonly kind: 'command'; readonly initial: string}
	| {readonly kind: 'filter'; readonly pane: PaneName; readonly initial: string; readonly previous: string}
	/** `pasted`: a bracketed paste that opened the prompt (already as the line holds it). `direction`: a relay's, where the bytes are injected. */
	| {readonly kind: 'send'; readonly target: string; readonly initial: string; readonly pasted?: string; readonly direction?: RelayDirectionName}
	/** Which way through a relay a step acts on (i, s, t on a relay). */
	| {readonly kind: 'choose-direction'; readonly relay: string; readonly step: RelayStepName}
	/** A relay direction's pace in bytes/s (t). */
	| {readonly kind: 'throttle'; readonly relay: string; readonly direction: RelayDirectionName; readonly initial: string}
	/** A held chunk's bytes, as text with escapes or as hex, to forward in its place. */
	| {readonly kind: 'edit-held'; readonly relay: string; readonly chunk: number; readonly format: 'text' | 'hex'; readonly initial: string}
	| {readonly kind: 'confirm'; readonly action: ConfirmAction; readonly target: string | undefined; readonly question: string}
	/** Which of a peer's offered TCP ports to connect to (`name` is the peer's, escaped for display). */
	| {readonly kind: 'choose-port'; readonly name: string; readonly address: string; readonly ports: readonly number[]};

/** What a key does to a relay once a direction is chosen. */
export type RelayStepName = 'intercept' | 'inject' | 'throttle';

/** The chunks an intercepted relay holds, listed in place of the panes (h). */
export type HeldView = {
	readonly relay: string;
	/** Index of the chunk under the cursor. */
	readonly cursor: number;
};

/** A log entry read in full (Enter or v on it in the Log pane). */
export type EntryView = {
	readonly socket: string;
	/** The entry's seq and kind (one event may log two entries, so both together name it). */
	readonly seq: number;
	readonly kind: string;
	/** First line of the view shown. */
	readonly scroll: number;
};

/** Everything the dashboard remembers between frames (sockets live in the store, not here). */
export type DashboardState = {
	readonly focus: PaneName;
	readonly isHelpOpen: boolean;
	/** First line of the help shown (j/k, pages, g/G scroll it where it does not fit). */
	readonly helpScroll: number;
	readonly prompt: Prompt | undefined;
	/** Row index under the cursor of each list pane (clamped when drawn). */
	readonly cursors: Readonly<Record<ListPaneName, number>>;
	/** The socket the Log pane shows. */
	readonly selected: string | undefined;
	/** A socket the cursor should land on once its row appears (one the command line just opened). */
	readonly cursorTarget: string | undefined;
	readonly filters: Readonly<Record<PaneName, string>>;
	readonly logMode: 'text' | 'hex';
	/** The rate chart is drawn where the Log is (r). */
	readonly isChartShown: boolean;
	/** The log shows its newest entries as they come. */
	readonly isFollowing: boolean;
	/** While not following: the seq of the entry under the log's cursor. */
	readonly logCursor: number | undefined;
	/** Command lines run, oldest first. */
	readonly history: readonly string[];
	/** The log entry shown in full, in place of the panes. */
	readonly entryView: EntryView | undefined;
	/** Whether the user chose the selection (enter on a row): a new connection then does not take it. */
	readonly isSelectionChosen: boolean;
	/** What Enter adds after sent text (ctrl-t in the send prompt switches it). */
	readonly lineEnding: LineEnding;
	/** Seq of the newest notice shown when a key was last pressed: newer ones take the bottom line. */
	readonly seenNotice: number;
	/** Relays whose two halves are shown under their row (→). */
	readonly expanded: readonly string[];
	/** The held chunks of a relay, listed in place of the panes. */
	readonly heldView: HeldView | undefined;
	readonly system: SystemPaneState;
};

/** What can happen to the dashboard state (kebab-case, as in ink-ui). */
export type DashboardAction =
	| {type: 'focus'; pane: PaneName}
	| {type: 'focus-next'}
	| {type: 'focus-previous'}
	| {type: 'move-cursor'; pane: ListPaneName; index: number}
	| {type: 'select'; id: string; isCursorMoved?: boolean; isChosen?: boolean}
	| {type: 'open-entry'; socket: string; seq: number; kind: string}
	| {type: 'scroll-entry'; scroll: number}
	| {type: 'close-entry'}
	| {type: 'next-line-ending'}
	| {type: 'toggle-help'}
	| {type: 'close-help'}
	| {type: 'scroll-help'; scroll: number}
	| {type: 'open-prompt'; prompt: Prompt}
	| {type: 'close-prompt'}
	| {type: 'set-filter'; pane: PaneName; text: string}
	| {type: 'toggle-hex'}
	| {type: 'toggle-chart'}
	| {type: 'follow'; isFollowing: boolean; cursor?: number | undefined}
	| {type: 'remember-command'; text: string}
	| {type: 'see-notices'; seq: number}
	| {type: 'expand'; relay: string; isExpanded: boolean}
	| {type: 'open-held'; relay: string}
	| {type: 'move-held'; cursor: number}
	| {type: 'close-held'}
	// System pane (issue 14)
	| {type: 'toggle-system-grouping'}
	| {type: 'next-system-sort'}
	| {type: 'show-system-detail'; key: string | undefined}
	| {type: 'show-process'; pid: number | null}
	| {type: 'step-system-interval'; step: 1 | -1};

/** Commands kept for up/down. */
const historyLength = 100;

/** The state a dashboard starts in. */
export const initialDashboardState: DashboardState = {
	focus: 'connections',
	isHelpOpen: false,
	helpScroll: 0,
	prompt: undefined,
	cursors: {listeners: 0, connections: 0, discovery: 0, system: 0},
	selected: undefined,
	cursorTarget: undefined,
	filters: {listeners: '', connections: '', log: '', discovery: '', system: ''},
	logMode: 'text',
	isChartShown: false,
	isFollowing: true,
	logCursor: undefined,
	history: [],
	entryView: undefined,
	isSelectionChosen: false,
	lineEnding: 'lf',
	seenNotice: 0,
	expanded: [],
	heldView: undefined,
	system: {grouping: 'socket', sort: 'rate', detail: undefined, intervalMs: 1000},
};

function shiftFocus(focus: PaneName, step: number): PaneName {
	// From System, tab comes back to the first pane and shift-tab to the last.
	const index = focus === 'system' ? (step > 0 ? -1 : tabOrder.length) : tabOrder.indexOf(focus);
	return tabOrder[(index + step + tabOrder.length) % tabOrder.length]!;
}

/** The dashboard's reducer: named transitions, nothing else changes state. */
export function dashboardReducer(state: DashboardState, action: DashboardAction): DashboardState {
	switch (action.type) {
		case 'focus': {
			return {...state, focus: action.pane};
		}

		case 'focus-next': {
			return {...state, focus: shiftFocus(state.focus, 1)};
		}

		case 'focus-previous': {
			return {...state, focus: shiftFocus(state.focus, -1)};
		}

		case 'move-cursor': {
			return {...state, cursors: {...state.cursors, [action.pane]: Math.max(0, action.index)}, cursorTarget: undefined};
		}

		case 'select': {
			const cursorTarget = action.isCursorMoved ? action.id : state.cursorTarget;
			const isSelectionChosen = action.isChosen ?? false;
			// A new socket's log starts at its newest entry.
			return action.id === state.selected
				? {...state, cursorTarget, isSelectionChosen}
				: {...state, selected: action.id, cursorTarget, isSelectionChosen, isFollowing: true, logCursor: undefined};
		}

		case 'open-entry': {
			return {...state, entryView: {socket: action.socket, seq: action.seq, kind: action.kind, scroll: 0}, isHelpOpen: false};
		}

		case 'scroll-entry': {
			return state.entryView ? {...state, entryView: {...state.entryView, scroll: Math.max(0, action.scroll)}} : state;
		}

		case 'close-entry': {
			return {...state, entryView: undefined};
		}

		case 'next-line-ending': {
			return {...state, lineEnding: nextLineEnding(state.lineEnding)};
		}

		case 'toggle-help': {
			// The help opens at its top.
			return {...state, isHelpOpen: !state.isHelpOpen, helpScroll: 0};
		}

		case 'scroll-help': {
			return {...state, helpScroll: Math.max(0, action.scroll)};
		}

		case 'close-help': {
			return {...state, isHelpOpen: false};
		}

		case 'open-prompt': {
			return {...state, prompt: action.prompt, isHelpOpen: false};
		}

		case 'close-prompt': {
			return {...state, prompt: undefined};
		}

		case 'set-filter': {
			return {...state, filters: {...state.filters, [action.pane]: action.text}};
		}

		case 'toggle-hex': {
			return {...state, logMode: state.logMode === 'text' ? 'hex' : 'text'};
		}

		case 'toggle-chart': {
			return {...state, isChartShown: !state.isChartShown};
		}

		case 'follow': {
			return {...state, isFollowing: action.isFollowing, logCursor: action.isFollowing ? undefined : action.cursor};
		}

		case 'expand': {
			const isExpanded = state.expanded.includes(action.relay);
			if (isExpanded === action.isExpanded) {
				return state;
			}

			return {...state, expanded: action.isExpanded ? [...state.expanded, action.relay] : state.expanded.filter((id) => id !== action.relay)};
		}

		case 'open-held': {
			return {...state, heldView: {relay: action.relay, cursor: 0}, isHelpOpen: false, entryView: undefined};
		}

		case 'move-held': {
			return state.heldView ? {...state, heldView: {...state.heldView, cursor: Math.max(0, action.cursor)}} : state;
		}

		case 'close-held': {
			return {...state, heldView: undefined};
		}

		case 'see-notices': {
			return action.seq === state.seenNotice ? state : {...state, seenNotice: action.seq};
		}

		case 'toggle-system-grouping': {
			return {...state, system: {...state.system, grouping: state.system.grouping === 'socket' ? 'process' : 'socket', detail: undefined}, cursors: {...state.cursors, system: 0}};
		}

		case 'next-system-sort': {
			const next = systemSorts[(systemSorts.indexOf(state.system.sort) + 1) % systemSorts.length]!;
			return {...state, system: {...state.system, sort: next}};
		}

		case 'step-system-interval': {
			const index = Math.max(0, systemIntervals.indexOf(state.system.intervalMs));
			const next = systemIntervals[Math.min(systemIntervals.length - 1, Math.max(0, index + action.step))]!;
			return {...state, system: {...state.system, intervalMs: next}};
		}

		case 'show-system-detail': {
			return {...state, system: {...state.system, detail: action.key}};
		}

		case 'show-process': {
			// Every socket of one process, listed per socket, the cursor on the first.
			return {
				...state,
				system: {...state.system, grouping: 'socket', detail: undefined},
				filters: {...state.filters, system: `pid:${action.pid ?? '?'}`},
				cursors: {...state.cursors, system: 0},
			};
		}

		case 'remember-command': {
			const text = action.text.trim();
			if (text === '' || state.history.at(-1) === text) {
				return state;
			}

			return {...state, history: [...state.history.slice(1 - historyLength), text]};
		}
	}
}

/** The dashboard state as rendered, its dispatch, and the state after every action dispatched so far. */
export type DashboardStore = {
	readonly state: DashboardState;
	readonly dispatch: (action: DashboardAction) => void;
	/**
	 * The state the last dispatched action produced, before React renders it:
	 * keys of one burst (`2⏎1j⏎` from tmux or SSH) each act on what the key
	 * before them did, not on the state of the last frame.
	 */
	readonly current: () => DashboardState;
};

/** The dashboard state: a reducer applied at once, so each key sees the state the key before it produced. */
export function useDashboardState(initial: DashboardState = initialDashboardState): DashboardStore {
	const ref = useRef(initial);
	const [state, setState] = useState(initial);
	const dispatch = useCallback((action: DashboardAction) => {
		ref.current = dashboardReducer(ref.current, action);
		setState(ref.current);
	}, []);
	const current = useCallback(() => ref.current, []);
	return {state, dispatch, current};
}
