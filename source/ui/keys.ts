import type {Key} from 'ink';

/**
 * Every key binding of the dashboard, once. Handlers ask {@link actionOf}
 * what a key means; the help overlay and the key hint render from
 * {@link keyBindings}, so what is shown is what works.
 */

/** What a key does. */
export type KeyAction =
	| 'focus-next'
	| 'focus-previous'
	| 'focus-pane'
	| 'move-down'
	| 'move-up'
	| 'page-down'
	| 'page-up'
	| 'move-first'
	| 'move-last'
	| 'select'
	| 'expand'
	| 'help'
	| 'command'
	| 'filter'
	| 'toggle-follow'
	| 'toggle-hex'
	| 'toggle-chart'
	| 'send'
	| 'shutdown'
	| 'reset'
	| 'close'
	| 'clear'
	| 'intercept'
	| 'throttle'
	| 'show-held'
	| 'held-forward'
	| 'held-edit'
	| 'held-edit-hex'
	| 'held-drop'
	| 'probe'
	// System pane (issue 14)
	| 'system-group'
	| 'system-sort'
	| 'system-process'
	| 'system-destroy'
	| 'system-forward'
	| 'system-slower'
	| 'system-faster'
	| 'quit'
	| 'force-quit'
	| 'open-entry'
	| 'copy'
	| 'history-previous'
	| 'history-next'
	| 'complete'
	| 'line-ending'
	| 'pick-previous'
	| 'pick-next'
	| 'submit'
	| 'cancel'
	| 'replay-pause'
	| 'replay-faster'
	| 'replay-slower'
	| 'seek-back'
	| 'seek-forward';

/**
 * Where a binding works: anywhere, in the focused list, on a socket, on a
 * relay, in the held chunks view (which takes the keys while open, as a
 * prompt line does), for discovery (from any pane), in the System pane, in a
 * prompt line, or in `netdash replay`.
 */
export type KeyScope = 'anywhere' | 'panes' | 'sockets' | 'relay' | 'held' | 'discovery' | 'system' | 'prompt' | 'replay';

/** One binding: the keys as shown, what they do, and how to recognise them. */
export type KeyBinding = {
	readonly action: KeyAction;
	/** The keys as a person reads them, e.g. `['j', '↓']`. */
	readonly keys: readonly string[];
	readonly description: string;
	readonly scope: KeyScope;
	/** A short word for the one-line key hint (key-hint.tsx chooses which bindings it shows, most needed first). */
	readonly hint?: string;
	/** True when `input`/`key` (as Ink's useInput reports them) is this binding. */
	readonly matches: (input: string, key: Key) => boolean;
};

const plain = (key: Key) => !key.ctrl && !key.meta;

/** The bindings, in the order the help lists them. */
export const keyBindings: readonly KeyBinding[] = [
	{action: 'focus-next', keys: ['tab'], description: 'focus the next pane', scope: 'panes', hint: 'pane', matches: (_, key) => key.tab && !key.shift},
	{action: 'focus-previous', keys: ['shift-tab'], description: 'focus the previous pane', scope: 'panes', matches: (_, key) => key.tab && key.shift},
	{action: 'focus-pane', keys: ['1', '2', '3', '4', '5'], description: 'focus pane 1–5 (5: System)', scope: 'panes', matches: (input, key) => plain(key) && /^[1-5]$/.test(input)},
	{action: 'move-down', keys: ['j', '↓'], description: 'move down', scope: 'panes', matches: (input, key) => key.downArrow || (plain(key) && input === 'j')},
	{action: 'move-up', keys: ['k', '↑'], description: 'move up', scope: 'panes', matches: (input, key) => key.upArrow || (plain(key) && input === 'k')},
	{action: 'page-down', keys: ['pgdn', 'ctrl-d'], description: 'page down', scope: 'panes', matches: (input, key) => key.pageDown || (key.ctrl && input === 'd')},
	{action: 'page-up', keys: ['pgup', 'ctrl-u'], description: 'page up', scope: 'panes', matches: (input, key) => key.pageUp || (key.ctrl && input === 'u')},
	{action: 'move-first', keys: ['g', 'home'], description: 'go to the first row', scope: 'panes', matches: (input, key) => key.home || (plain(key) && input === 'g')},
	{action: 'move-last', keys: ['G', 'end'], description: 'last row; log: follow', scope: 'panes', matches: (input, key) => key.end || (plain(key) && input === 'G')},
	{action: 'select', keys: ['enter'], description: 'log; peer, service: connect', scope: 'panes', hint: 'select', matches: (_, key) => key.return},
	{action: 'expand', keys: ['→', '←'], description: 'relay: show / hide its halves', scope: 'panes', matches: (_, key) => key.rightArrow || key.leftArrow},
	{action: 'filter', keys: ['/'], description: 'filter: text, /in, /out', scope: 'panes', hint: 'filter', matches: (input, key) => plain(key) && input === '/'},
	{action: 'toggle-follow', keys: ['space'], description: 'pause or resume log follow', scope: 'panes', hint: 'pause', matches: (input, key) => plain(key) && input === ' '},
	{action: 'toggle-hex', keys: ['x'], description: 'log as text or hex', scope: 'panes', hint: 'hex', matches: (input, key) => plain(key) && input === 'x'},
	{action: 'open-entry', keys: ['v'], description: 'log: whole entry (enter too)', scope: 'panes', matches: (input, key) => plain(key) && input === 'v'},
	{action: 'copy', keys: ['y'], description: 'log: copy the entry (OSC 52)', scope: 'panes', matches: (input, key) => plain(key) && input === 'y'},
	{action: 'toggle-chart', keys: ['r'], description: 'rate chart in place of log', scope: 'panes', hint: 'rates', matches: (input, key) => plain(key) && input === 'r'},
	{action: 'send', keys: ['s'], description: 'send text; relay: inject', scope: 'sockets', hint: 'send', matches: (input, key) => plain(key) && input === 's'},
	{action: 'shutdown', keys: ['e'], description: 'half-close: send FIN', scope: 'sockets', matches: (input, key) => plain(key) && input === 'e'},
	{action: 'reset', keys: ['R'], description: 'reset with a RST (confirm)', scope: 'sockets', matches: (input, key) => plain(key) && input === 'R'},
	{action: 'close', keys: ['d'], description: 'close the socket (confirm)', scope: 'sockets', matches: (input, key) => plain(key) && input === 'd'},
	{action: 'clear', keys: ['C'], description: 'remove closed rows', scope: 'sockets', matches: (input, key) => plain(key) && input === 'C'},
	{action: 'intercept', keys: ['i'], description: 'intercept a direction on or off', scope: 'relay', matches: (input, key) => plain(key) && input === 'i'},
	{action: 'show-held', keys: ['h'], description: 'the chunks intercept holds', scope: 'relay', matches: (input, key) => plain(key) && input === 'h'},
	{action: 'throttle', keys: ['t'], description: 'throttle a direction to N B/s', scope: 'relay', matches: (input, key) => plain(key) && input === 't'},
	{action: 'held-forward', keys: ['f'], description: 'forward the chunk as it is', scope: 'held', matches: (input, key) => plain(key) && input === 'f'},
	{action: 'held-edit', keys: ['e'], description: 'edit as text (escapes), then forward', scope: 'held', matches: (input, key) => plain(key) && input === 'e'},
	{action: 'held-edit-hex', keys: ['x'], description: 'edit as hex, then forward', scope: 'held', matches: (input, key) => plain(key) && input === 'x'},
	{action: 'held-drop', keys: ['d'], description: 'drop the chunk: never sent', scope: 'held', matches: (input, key) => plain(key) && input === 'd'},
	{action: 'probe', keys: ['p'], description: 'probe for peers now', scope: 'discovery', hint: 'probe', matches: (input, key) => plain(key) && input === 'p'},
	// System pane (issue 14): after p for probe, so p probes everywhere else.
	{action: 'system-group', keys: ['t'], description: 'per socket / totals per process', scope: 'system', matches: (input, key) => plain(key) && input === 't'},
	{action: 'system-sort', keys: ['o'], description: 'sort by rate, queue or age', scope: 'system', matches: (input, key) => plain(key) && input === 'o'},
	{action: 'system-process', keys: ['p'], description: 'all sockets of this process', scope: 'system', matches: (input, key) => plain(key) && input === 'p'},
	{action: 'system-destroy', keys: ['K'], description: 'destroy a TCP socket (ss -K, root)', scope: 'system', matches: (input, key) => plain(key) && input === 'K'},
	{action: 'system-forward', keys: ['f'], description: 'relay to this listener (free port)', scope: 'system', matches: (input, key) => plain(key) && input === 'f'},
	{action: 'system-slower', keys: ['+'], description: 'refresh less often (up to 10 s)', scope: 'system', matches: (input, key) => !key.ctrl && !key.meta && input === '+'},
	{action: 'system-faster', keys: ['-'], description: 'refresh more often (down to 0.5 s)', scope: 'system', matches: (input, key) => plain(key) && input === '-'},
	{action: 'help', keys: ['?'], description: 'show or hide this help', scope: 'anywhere', hint: 'help', matches: (input, key) => plain(key) && input === '?'},
	{action: 'command', keys: [':'], description: 'command line', scope: 'anywhere', hint: 'command', matches: (input, key) => plain(key) && input === ':'},
	{action: 'quit', keys: ['q'], description: 'quit; asks if sockets open', scope: 'anywhere', hint: 'quit', matches: (input, key) => plain(key) && input === 'q'},
	{action: 'force-quit', keys: ['ctrl-c'], description: 'quit now, closing all', scope: 'anywhere', matches: (input, key) => key.ctrl && input === 'c'},
	{action: 'history-previous', keys: ['↑'], description: 'previous command', scope: 'prompt', matches: (_, key) => key.upArrow},
	{action: 'history-next', keys: ['↓'], description: 'next command', scope: 'prompt', matches: (_, key) => key.downArrow},
	{action: 'complete', keys: ['tab'], description: 'complete name, id, framing', scope: 'prompt', matches: (_, key) => key.tab},
	{action: 'line-ending', keys: ['ctrl-t'], description: 'send: line ending LF/CRLF/none', scope: 'prompt', matches: (input, key) => key.ctrl && input === 't'},
	{action: 'pick-previous', keys: ['←'], description: 'previous choice (port)', scope: 'prompt', matches: (_, key) => key.leftArrow},
	{action: 'pick-next', keys: ['→'], description: 'next choice', scope: 'prompt', matches: (_, key) => key.rightArrow},
	{action: 'submit', keys: ['enter'], description: 'run, send or apply', scope: 'prompt', matches: (_, key) => key.return},
	{action: 'cancel', keys: ['esc'], description: 'close the prompt or help', scope: 'prompt', matches: (_, key) => key.escape},
	// Replay (netdash replay FILE): asked before the panes' keys, so space pauses the replay there, not the log.
	{action: 'replay-pause', keys: ['space'], description: 'pause or play the replay', scope: 'replay', matches: (input, key) => plain(key) && input === ' '},
	{action: 'replay-faster', keys: ['+'], description: 'faster: 1×, 10×, full speed', scope: 'replay', matches: (input, key) => !key.ctrl && !key.meta && (input === '+' || input === '=')},
	{action: 'replay-slower', keys: ['-'], description: 'slower', scope: 'replay', matches: (input, key) => plain(key) && input === '-'},
	{action: 'seek-back', keys: ['['], description: 'back 10 s of recorded time', scope: 'replay', matches: (input, key) => plain(key) && input === '['},
	{action: 'seek-forward', keys: [']'], description: 'forward 10 s', scope: 'replay', matches: (input, key) => plain(key) && input === ']'},
];

/** The scopes in the order the help shows them, with their headings; `isAfterGlyphs` ones come after the glyph legend (so it stays on the help's first page at 100×30). */
export const keyScopes: ReadonlyArray<{scope: KeyScope; title: string; isAfterGlyphs?: boolean}> = [
	{scope: 'replay', title: 'Replay (netdash replay)'},
	{scope: 'panes', title: 'Panes'},
	{scope: 'sockets', title: 'Sockets'},
	{scope: 'relay', title: 'Relays (--forward)'},
	{scope: 'held', title: 'Held chunks (h)'},
	{scope: 'discovery', title: 'Discovery'},
	{scope: 'anywhere', title: 'Anywhere'},
	{scope: 'prompt', title: 'Prompt lines'},
	{scope: 'system', title: 'System pane (5)', isAfterGlyphs: true},
];

/**
 * The action a key means among `actions` (all of them when omitted): the
 * first binding that matches, so a table order settles any overlap.
 */
export function actionOf(input: string, key: Key, actions?: ReadonlySet<KeyAction>): KeyAction | undefined {
	for (const binding of keyBindings) {
		if ((actions === undefined || actions.has(binding.action)) && binding.matches(input, key)) {
			return binding.action;
		}
	}

	return undefined;
}

/** The binding of an action (every action has exactly one). */
export function bindingOf(action: KeyAction): KeyBinding {
	const binding = keyBindings.find((candidate) => candidate.action === action);
	if (!binding) {
		throw new Error(`no key binding for ${action}`);
	}

	return binding;
}

/** The keys of a binding as one label: `j/↓`, `1–5` for the pane digits. */
export function keyLabel(binding: KeyBinding): string {
	return binding.action === 'focus-pane' ? '1–5' : binding.keys.join('/');
}

/** A Key with nothing pressed, for feeding single characters of a typed-ahead chunk through {@link actionOf}. */
export const noKey: Key = {
	upArrow: false,
	downArrow: false,
	leftArrow: false,
	rightArrow: false,
	pageDown: false,
	pageUp: false,
	home: false,
	end: false,
	return: false,
	escape: false,
	ctrl: false,
	shift: false,
	tab: false,
	backspace: false,
	delete: false,
	meta: false,
	super: false,
	hyper: false,
	capsLock: false,
	numLock: false,
};

/**
 * Ink hands a chunk of typed-ahead text (`jjj`, or `2⏎1j⏎` when keys come
 * faster than frames, over SSH or from tmux) to useInput as one string.
 * This splits it into single keys, each as Ink would report it typed alone,
 * so each can act on the state the key before it produced. A chunk that is
 * one key (an arrow's escape sequence, say) comes back as it is.
 */
export function splitKeys(input: string, key: Key): Array<{input: string; key: Key}> {
	const chars = [...input];
	if (chars.length <= 1) {
		return [{input, key}];
	}

	return chars.map((char) => ({input: char, key: keyOfChar(char)}));
}

/** The Key Ink reports for one character typed alone: enter, tab, or a plain (maybe shifted) key. */
export function keyOfChar(char: string): Key {
	return char === '\r' ? {...noKey, return: true} : char === '\t' ? {...noKey, tab: true} : {...noKey, shift: /^[A-Z]$/.test(char)};
}
