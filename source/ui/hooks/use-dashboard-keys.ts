import {useInput, usePaste, type Key} from 'ink';
import type {LogView} from '../../core/index.js';
import {actionOf, keyOfChar, splitKeys} from '../keys.js';
import {pastedText} from '../send-text.js';
import type {PaneKeys, TypedKey} from './pane-keys.js';
import type {Commands} from './use-commands.js';
import {paneNames, type ConfirmAction, type DashboardState, type DashboardStore} from './use-dashboard-state.js';

/** What the dashboard's keys give back. */
export type DashboardKeys = {
	/** Keys typed after the enter that closed a prompt, in the same burst: handled in order, as if typed now. */
	readonly typeAhead: (text: string) => void;
};

/** The questions asked before a destructive key does its work. */
export const confirmQuestions: Record<ConfirmAction, (target: string | undefined, open: number) => string> = {
	reset: (target) => `reset ${target} with a RST? unsent bytes are dropped.`,
	close: (target) =>
		target?.startsWith('L')
			? `stop listener ${target}?`
			: target?.startsWith('U')
				? `close UDP socket ${target}?`
				: target?.startsWith('R')
					? `close relay ${target}, both halves? (FIN after queued bytes)`
					: `close ${target}? (FIN after queued bytes)`,
	connect: (target) => `connect to ${target}?`,
	// The System pane words its own question (the socket's ends and process); this is the fallback.
	destroy: (target) => `destroy socket ${target}? the kernel aborts it (RST to the peer).`,
	quit: (_, open) => `${open} socket${open === 1 ? ' is' : 's are'} open: close ${open === 1 ? 'it' : 'them'} and quit?`,
};

/** What the dashboard's own keys need to know and do. */
export type DashboardKeysOptions = {
	readonly store: DashboardStore;
	/** The panes' own keys (movement, enter), asked for each key while their pane has focus. */
	readonly paneKeys: PaneKeys;
	readonly commands: Commands;
	/**
	 * The socket a key acts on: the row under the cursor in Listeners or
	 * Connections, else the one whose log is shown; `connection` only
	 * accepts connections, `sender` connections and UDP sockets, `relay` a
	 * relay (the one a half under the cursor belongs to, too).
	 */
	readonly targetOf: (kind: 'connection' | 'sender' | 'socket' | 'relay', state: DashboardState) => string | undefined;
	/** The log shown, for pausing at its newest entry. */
	readonly logView: LogView | undefined;
	/** Sockets open now (q asks first when there are any). */
	readonly openSockets: () => number;
	/** The newest notice's seq: a key press moves it off the bottom line. */
	readonly lastNotice: number | undefined;
	readonly quit: () => void;
};

/**
 * The keys that are not a pane's own: focus, overlays and prompts, and the
 * socket verbs. Panes handle their movement keys themselves (useListKeys,
 * LogPane); prompts handle theirs while open, when this hook is inactive.
 */
export function useDashboardKeys({store, paneKeys, commands, targetOf, logView, openSockets, lastNotice, quit}: DashboardKeysOptions): DashboardKeys {
	const {state, dispatch, current} = store;
	const withConnection = (state: DashboardState, verb: string, action: (id: string) => void) => {
		const id = targetOf('connection', state);
		const udp = id === undefined ? targetOf('sender', state) : undefined;
		if (id?.startsWith('R')) {
			// A relay is two connections: a FIN or RST goes to one half of it.
			commands.complain('NOT_A_CONNECTION', `${verb}: ${id} is a relay — show its halves with → and pick the client or the server`);
		} else if (udp?.startsWith('U')) {
			// UDP has no FIN or RST: there is nothing to half-close or reset.
			commands.complain('NOT_TCP', `${verb}: ${udp} is a UDP socket — only TCP connections have a FIN or RST (d closes it)`);
		} else if (id === undefined) {
			commands.complain('NO_SELECTION', `${verb}: no connection here — pick one in Connections (2) or select one with enter`);
		} else {
			action(id);
		}
	};

	// ctrl-c works everywhere, prompts included, and never asks. Any key
	// also moves a fresh notice off the bottom line (into the status bar).
	useInput((input, key) => {
		if (actionOf(input, key) === 'force-quit') {
			quit();
		}

		if (lastNotice !== undefined) {
			dispatch({type: 'see-notices', seq: lastNotice});
		}
	});

	/** One key, acting on the state the keys before it produced. `rest` is what came after it in the same burst: the start of a prompt it opens. */
	const handleKey = (typed: TypedKey, rest: string) => {
		const state = current();
		if (state.isHelpOpen) {
			const action = actionOf(typed.input, typed.key);
			if (action === 'help' || action === 'cancel' || action === 'quit') {
				dispatch({type: 'close-help'});
			} else {
				// j/k, pages, g/G scroll the help (help-overlay.tsx knows how far).
				paneKeys.current.help?.(typed, state);
			}

			return;
		}

		if (state.entryView) {
			paneKeys.current.entry?.(typed, state);
			return;
		}

		if (state.heldView) {
			paneKeys.current.held?.(typed, state);
			return;
		}

		// While the rate chart is where the Log was (r), the Log's keys (v, y, j/k on entries) have nothing to act on.
		const isLogHidden = state.focus === 'log' && state.isChartShown;
		if (paneKeys.current.replay?.(typed, state) || (!isLogHidden && paneKeys.current[state.focus]?.(typed, state))) {
			return;
		}

		switch (actionOf(typed.input, typed.key)) {
			case 'focus-next': {
				dispatch({type: 'focus-next'});
				break;
			}

			case 'focus-previous': {
				dispatch({type: 'focus-previous'});
				break;
			}

			case 'focus-pane': {
				dispatch({type: 'focus', pane: paneNames[Number(typed.input) - 1]!});
				break;
			}

			case 'help': {
				dispatch({type: 'toggle-help'});
				break;
			}

			case 'command': {
				dispatch({type: 'open-prompt', prompt: {kind: 'command', initial: rest}});
				break;
			}

			case 'toggle-chart': {
				dispatch({type: 'toggle-chart'});
				break;
			}

			case 'filter': {
				const previous = state.filters[state.focus];
				dispatch({type: 'open-prompt', prompt: {kind: 'filter', pane: state.focus, initial: previous + rest, previous}});
				break;
			}

			case 'toggle-hex': {
				dispatch({type: 'toggle-hex'});
				break;
			}

			case 'toggle-follow': {
				const last = logView && logView.length > 0 ? logView.at(logView.length - 1)!.seq : undefined;
				dispatch({type: 'follow', isFollowing: !state.isFollowing, cursor: last});
				break;
			}

			case 'send': {
				const id = targetOf('sender', state);
				// On a relay, s injects: first which way.
				const relay = id === undefined || id.startsWith('R') ? targetOf('relay', state) : undefined;
				if (relay !== undefined) {
					dispatch({type: 'open-prompt', prompt: {kind: 'choose-direction', relay, step: 'inject'}});
				} else if (id === undefined) {
					commands.complain('NO_SELECTION', 'send: no connection here — pick one in Connections (2), a UDP socket in Listeners (1), or select one with enter');
				} else {
					dispatch({type: 'open-prompt', prompt: {kind: 'send', target: id, initial: rest}});
				}

				break;
			}

			case 'shutdown': {
				withConnection(state, 'half-close', (id) => {
					commands.shutdown(id);
				});
				break;
			}

			case 'reset': {
				withConnection(state, 'reset', (id) => {
					dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'reset', target: id, question: confirmQuestions.reset(id, 0)}});
				});
				break;
			}

			case 'close': {
				const id = targetOf('socket', state);
				if (id === undefined) {
					commands.complain('NO_SELECTION', 'close: no socket here — pick one in Listeners (1, UDP too) or Connections (2)');
				} else {
					dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'close', target: id, question: confirmQuestions.close(id, 0)}});
				}

				break;
			}

			case 'clear': {
				commands.clear();
				break;
			}

			case 'intercept':
			case 'throttle':
			case 'show-held': {
				const relay = targetOf('relay', state);
				const action = actionOf(typed.input, typed.key);
				if (relay === undefined) {
					commands.complain('NO_RELAY', `${action === 'show-held' ? 'held chunks' : action}: no relay here — pick one (▸R1) in Connections (2), a client of a --forward`);
				} else if (action === 'show-held') {
					dispatch({type: 'open-held', relay});
				} else {
					dispatch({type: 'open-prompt', prompt: {kind: 'choose-direction', relay, step: action === 'intercept' ? 'intercept' : 'throttle'}});
				}

				break;
			}

			case 'probe': {
				commands.probe();
				break;
			}

			case 'quit': {
				const open = openSockets();
				if (open > 0) {
					dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'quit', target: undefined, question: confirmQuestions.quit(undefined, open)}});
				} else {
					quit();
				}

				break;
			}

			default: {
				break;
			}
		}
	};

	/** Keys of one burst, in order; once a key opens a prompt, the rest is typed into it. */
	const typeKeys = (input: string, key: Key) => {
		const typed = splitKeys(input, key);
		for (const [index, each] of typed.entries()) {
			if (current().prompt !== undefined) {
				break;
			}

			handleKey(each, typed.slice(index + 1).map((later) => later.input).join(''));
		}
	};

	useInput(typeKeys, {isActive: state.prompt === undefined});

	// A paste with no prompt open is never read as keys (a q or R in it would act): it opens the
	// send prompt with the text, not yet sent, or says why it cannot. Nor is a paste an answer
	// to a question (a y in it would confirm a reset): there it is dropped.
	usePaste(
		(text) => {
			const now = current();
			const prompt = now.prompt;
			if (prompt?.kind === 'send') {
				// The prompt opened by a key of the same burst has not rendered yet: the paste is its text.
				dispatch({type: 'open-prompt', prompt: {...prompt, pasted: (prompt.pasted ?? '') + pastedText(text)}});
			} else if (prompt?.kind === 'confirm' || prompt?.kind === 'choose-port') {
				commands.complain('PASTE_IGNORED', 'paste ignored: answer the question with a key');
			} else if (prompt === undefined) {
				const id = targetOf('sender', now);
				if (id === undefined) {
					commands.complain('NO_SELECTION', 'paste: no connection to send it to — select one, then paste (or press s)');
				} else if (id.startsWith('R')) {
					// Which side a paste would go to is the person's choice: s asks it.
					commands.complain('NO_SIDE', `paste: ${id} is a relay — press s and pick a side, then paste into the prompt`);
				} else {
					dispatch({type: 'open-prompt', prompt: {kind: 'send', target: id, initial: '', pasted: pastedText(text)}});
				}
			}
		},
		// Text prompts take a paste themselves (useLineInput).
		{isActive: state.prompt === undefined || state.prompt.kind === 'confirm' || state.prompt.kind === 'choose-port'},
	);

	return {
		typeAhead(text) {
			if (text !== '') {
				typeKeys(text, keyOfChar(text));
			}
		},
	};
}
