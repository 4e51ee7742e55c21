import {useReducer} from 'react';

/** The four panes, in focus order (their numbers are index + 1). */
export const paneNames = ['listeners', 'connections', 'log', 'discovery'] as const;

/** One of the four panes. */
export type PaneName = (typeof paneNames)[number];

/** Panes whose rows have a cursor (the log keeps its own, by entry seq). */
export type ListPaneName = Exclude<PaneName, 'log'>;

/** A destructive action that waits for a yes. */
export type ConfirmAction = 'reset' | 'close' | 'quit';

/** The prompt on the bottom line, when one is open. */
export type Prompt =
	| {readonly kind: 'command'; readonly initial: string}
	| {readonly kind: 'filter'; readonly pane: PaneName; readonly initial: string; readonly previous: string}
	| {readonly kind: 'send'; readonly target: string; readonly initial: string}
	| {readonly kind: 'confirm'; readonly action: ConfirmAction; readonly target: string | undefined; readonly question: string}
	/** Which of a peer's offered TCP ports to connect to (`name` is the peer's, escaped for display). */
	| {readonly kind: 'choose-port'; readonly name: string; readonly address: string; readonly ports: readonly number[]};

/** Everything the dashboard remembers between frames (sockets live in the store, not here). */
export type DashboardState = {
	readonly focus: PaneName;
	readonly isHelpOpen: boolean;
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
	/** Seq of the newest notice shown when a key was last pressed: newer ones take the bottom line. */
	readonly seenNotice: number;
};

/** What can happen to the dashboard state (kebab-case, as in ink-ui). */
export type DashboardAction =
	| {type: 'focus'; pane: PaneName}
	| {type: 'focus-next'}
	| {type: 'focus-previous'}
	| {type: 'move-cursor'; pane: ListPaneName; index: number}
	| {type: 'select'; id: string; isCursorMoved?: boolean}
	| {type: 'toggle-help'}
	| {type: 'close-help'}
	| {type: 'open-prompt'; prompt: Prompt}
	| {type: 'close-prompt'}
	| {type: 'set-filter'; pane: PaneName; text: string}
	| {type: 'toggle-hex'}
	| {type: 'toggle-chart'}
	| {type: 'follow'; isFollowing: boolean; cursor?: number | undefined}
	| {type: 'remember-command'; text: string}
	| {type: 'see-notices'; seq: number};

/** Commands kept for up/down. */
const historyLength = 100;

/** The state a dashboard starts in. */
export const initialDashboardState: DashboardState = {
	focus: 'connections',
	isHelpOpen: false,
	prompt: undefined,
	cursors: {listeners: 0, connections: 0, discovery: 0},
	selected: undefined,
	cursorTarget: undefined,
	filters: {listeners: '', connections: '', log: '', discovery: ''},
	logMode: 'text',
	isChartShown: false,
	isFollowing: true,
	logCursor: undefined,
	history: [],
	seenNotice: 0,
};

function shiftFocus(focus: PaneName, step: number): PaneName {
	const index = paneNames.indexOf(focus);
	return paneNames[(index + step + paneNames.length) % paneNames.length]!;
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
			// A new socket's log starts at its newest entry.
			return action.id === state.selected ? {...state, cursorTarget} : {...state, selected: action.id, cursorTarget, isFollowing: true, logCursor: undefined};
		}

		case 'toggle-help': {
			return {...state, isHelpOpen: !state.isHelpOpen};
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

		case 'see-notices': {
			return action.seq === state.seenNotice ? state : {...state, seenNotice: action.seq};
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

/** The dashboard state and its dispatch. */
export function useDashboardState() {
	return useReducer(dashboardReducer, initialDashboardState);
}
