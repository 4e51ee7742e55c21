import {useCallback, useMemo} from 'react';
import {Box, Text, useApp, useInput, useWindowSize} from 'ink';
import type {ConnectionRow, Core, ListenerRow, Store} from '../core/index.js';
import {complete} from '../core/command-line.js';
import {ConfirmPrompt} from './components/confirm-prompt.js';
import {ErrorBoundary} from './components/error-boundary.js';
import {HelpOverlay} from './components/help-overlay.js';
import {KeyHint} from './components/key-hint.js';
import {NoticeLine} from './components/notice-line.js';
import {LineInput} from './components/line-input.js';
import {StatusBar} from './components/status-bar.js';
import {useCommands} from './hooks/use-commands.js';
import {paneNames, useDashboardState, type ConfirmAction, type PaneName} from './hooks/use-dashboard-state.js';
import {clampCursor} from './hooks/use-scroll-window.js';
import {filterConnections, filterListeners} from './row-filter.js';
import {formatEndpoint} from './format.js';
import {actionOf, typedKeys} from './keys.js';
import {layoutFor, minimumSize} from './layout.js';
import {ConnectionsPane} from './panes/connections-pane.js';
import {DiscoveryPane} from './panes/discovery-pane.js';
import {ListenersPane} from './panes/listeners-pane.js';
import {LogPane} from './panes/log-pane.js';
import {DashboardProvider, useCore, useSnapshot} from './store-context.js';

/** Props of {@link App}. */
export type AppProps = {
	readonly core: Core;
	readonly store: Store;
	/**
	 * Leave the dashboard (q confirmed, :quit, ctrl-c). The owner closes the
	 * sockets and restores the terminal. @default Ink's exit()
	 */
	readonly onQuit?: () => void;
	/** A rendering bug: the owner restores the terminal and prints one line. */
	readonly onCrash?: (error: unknown) => void;
};

/** The dashboard for a core and its store. Tests render it with ink-testing-library; run.tsx in the alternate screen. */
export function App({core, store, onQuit, onCrash}: AppProps) {
	return (
		<DashboardProvider core={core} store={store}>
			<ErrorBoundary onError={onCrash}>
				<Dashboard onQuit={onQuit} />
			</ErrorBoundary>
		</DashboardProvider>
	);
}

function describeSocket(id: string | undefined, listeners: readonly ListenerRow[], connections: readonly ConnectionRow[]): string {
	if (id === undefined) {
		return '';
	}

	const connection = connections.find((row) => row.id === id);
	if (connection) {
		return `${formatEndpoint(connection.local)} → ${formatEndpoint(connection.remote)} ${connection.state}`;
	}

	const listener = listeners.find((row) => row.id === id);
	return listener ? `${formatEndpoint(listener)} ${listener.state}` : '';
}

/** Ids of open sockets, for tab completion (built only when tab is pressed). */
function openIds(listeners: readonly ListenerRow[], connections: readonly ConnectionRow[]): string[] {
	const ids: string[] = [];
	for (const row of [...listeners, ...connections]) {
		if (row.closedAt === undefined) {
			ids.push(row.id);
		}
	}

	return ids;
}

const confirmQuestions: Record<ConfirmAction, (target: string | undefined, open: number) => string> = {
	reset: (target) => `reset ${target} with a RST? unsent bytes are dropped.`,
	close: (target) => (target?.startsWith('L') ? `stop listener ${target}?` : `close ${target}? (FIN after queued bytes)`),
	quit: (_, open) => `${open} socket${open === 1 ? ' is' : 's are'} open: close ${open === 1 ? 'it' : 'them'} and quit?`,
};

function Dashboard({onQuit}: {readonly onQuit: (() => void) | undefined}) {
	const {exit} = useApp();
	const quit = onQuit ?? exit;
	const {columns, rows} = useWindowSize();
	const layout = layoutFor(columns, rows);
	const [state, dispatch] = useDashboardState();
	const commands = useCommands();
	const core = useCore();
	const listeners = useSnapshot((snapshot) => snapshot.listeners);
	const connections = useSnapshot((snapshot) => snapshot.connections);
	const totals = useSnapshot((snapshot) => snapshot.totals);
	const notices = useSnapshot((snapshot) => snapshot.notices);
	const peers = useSnapshot((snapshot) => snapshot.peers);
	const discovery = useSnapshot((snapshot) => snapshot.discovery);
	// A selection whose rows were cleared (C, :clear) is no selection.
	const selected = state.selected !== undefined && (listeners.some((row) => row.id === state.selected) || connections.some((row) => row.id === state.selected)) ? state.selected : undefined;
	const selectedView = useSnapshot((snapshot) => (selected === undefined ? undefined : snapshot.logs.get(selected)));
	const shownListeners = useMemo(() => filterListeners(listeners, state.filters.listeners), [listeners, state.filters.listeners]);
	const shownConnections = useMemo(() => filterConnections(connections, state.filters.connections), [connections, state.filters.connections]);
	const {prompt, focus} = state;

	/** The socket a key acts on: the row under the cursor in Listeners or Connections, else the one whose log is shown. */
	const targetOf = (kind: 'connection' | 'socket'): string | undefined => {
		if (focus === 'connections') {
			return shownConnections[clampCursor(state.cursors.connections, shownConnections.length)]?.id;
		}

		if (focus === 'listeners' && kind === 'socket') {
			return shownListeners[clampCursor(state.cursors.listeners, shownListeners.length)]?.id;
		}

		return kind === 'connection' && !selected?.startsWith('C') ? undefined : selected;
	};

	const withConnection = (verb: string, action: (id: string) => void) => {
		const id = targetOf('connection');
		if (id === undefined) {
			commands.complain('NO_SELECTION', `${verb}: no connection here — pick one in Connections (2) or select one with enter`);
		} else {
			action(id);
		}
	};

	const askToQuit = () => {
		if (core.openSockets > 0) {
			dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'quit', target: undefined, question: confirmQuestions.quit(undefined, core.openSockets)}});
		} else {
			quit();
		}
	};

	const lastNotice = notices.at(-1);
	const isNoticeFresh = lastNotice !== undefined && lastNotice.seq > state.seenNotice;

	// ctrl-c works everywhere, prompts included, and never asks. Any key
	// also moves a fresh notice off the bottom line (into the status bar).
	useInput((input, key) => {
		if (actionOf(input, key) === 'force-quit') {
			quit();
		}

		if (lastNotice !== undefined) {
			dispatch({type: 'see-notices', seq: lastNotice.seq});
		}
	});

	useInput(
		(input, key) => {
			if (state.isHelpOpen) {
				const action = actionOf(input, key);
				if (action === 'help' || action === 'cancel' || action === 'quit') {
					dispatch({type: 'close-help'});
				}

				return;
			}

			const {keys, rest} = typedKeys(input, key);
			for (const typed of keys) {
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

					case 'filter': {
						const previous = state.filters[focus];
						dispatch({type: 'open-prompt', prompt: {kind: 'filter', pane: focus, initial: previous + rest, previous}});
						break;
					}

					case 'toggle-hex': {
						dispatch({type: 'toggle-hex'});
						break;
					}

					case 'toggle-follow': {
						const last = selectedView && selectedView.length > 0 ? selectedView.at(selectedView.length - 1)!.seq : undefined;
						dispatch({type: 'follow', isFollowing: !state.isFollowing, cursor: last});
						break;
					}

					case 'send': {
						withConnection('send', (id) => {
							dispatch({type: 'open-prompt', prompt: {kind: 'send', target: id, initial: rest}});
						});
						break;
					}

					case 'shutdown': {
						withConnection('half-close', (id) => {
							commands.shutdown(id);
						});
						break;
					}

					case 'reset': {
						withConnection('reset', (id) => {
							dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'reset', target: id, question: confirmQuestions.reset(id, 0)}});
						});
						break;
					}

					case 'close': {
						const id = targetOf('socket');
						if (id === undefined) {
							commands.complain('NO_SELECTION', 'close: no socket here — pick one in Listeners (1) or Connections (2)');
						} else {
							dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'close', target: id, question: confirmQuestions.close(id, 0)}});
						}

						break;
					}

					case 'clear': {
						commands.clear();
						break;
					}

					case 'quit': {
						askToQuit();
						break;
					}

					default: {
						break;
					}
				}
			}
		},
		{isActive: prompt === undefined},
	);

	const closePrompt = useCallback(() => {
		dispatch({type: 'close-prompt'});
	}, [dispatch]);

	const onFollow = useCallback(
		(isFollowing: boolean, cursor?: number) => {
			dispatch({type: 'follow', isFollowing, cursor});
		},
		[dispatch],
	);

	const select = useCallback(
		(id: string) => {
			dispatch({type: 'select', id});
		},
		[dispatch],
	);

	const renderPrompt = () => {
		switch (prompt?.kind) {
			case 'command': {
				return (
					<LineInput
						key="command"
						label=":"
						width={columns}
						initial={prompt.initial}
						isActive
						history={state.history}
						complete={(text) => complete(text, openIds(listeners, connections))}
						help="tab completes · ↑↓ history · esc closes"
						onCancel={closePrompt}
						onSubmit={(text) => {
							dispatch({type: 'close-prompt'});
							dispatch({type: 'remember-command', text});
							if (text.trim() === '') {
								return;
							}

							const outcome = commands.runLine(text, selected);
							if (outcome.select !== undefined) {
								select(outcome.select);
							}

							if (outcome.isHelp) {
								dispatch({type: 'toggle-help'});
							}

							if (outcome.isQuit) {
								quit();
							}
						}}
					/>
				);
			}

			case 'filter': {
				const {pane, previous} = prompt;
				return (
					<LineInput
						key="filter"
						label={`/${pane} filter: `}
						width={columns}
						initial={prompt.initial}
						isActive
						help={pane === 'log' ? 'text, or in / out / note / error first · enter keeps · esc restores' : 'text · enter keeps · esc restores'}
						onChange={(text) => {
							dispatch({type: 'set-filter', pane, text});
						}}
						onCancel={() => {
							dispatch({type: 'set-filter', pane, text: previous});
							closePrompt();
						}}
						onSubmit={(text) => {
							dispatch({type: 'set-filter', pane, text: text.trim()});
							closePrompt();
						}}
					/>
				);
			}

			case 'send': {
				const {target} = prompt;
				return (
					<LineInput
						key="send"
						label={`send to ${target} › `}
						width={columns}
						initial={prompt.initial}
						isActive
						help="text with \r \n \t \xNN escapes · enter sends · esc closes"
						onCancel={closePrompt}
						onSubmit={(text) => {
							closePrompt();
							if (text !== '') {
								commands.send(target, text);
							}
						}}
					/>
				);
			}

			case 'confirm': {
				const {action, target} = prompt;
				return (
					<ConfirmPrompt
						key="confirm"
						question={prompt.question}
						width={columns}
						isActive
						onCancel={closePrompt}
						onConfirm={() => {
							closePrompt();
							if (action === 'quit') {
								quit();
							} else if (target !== undefined) {
								commands[action](target);
							}
						}}
					/>
				);
			}

			default: {
				return isNoticeFresh ? <NoticeLine notice={lastNotice} width={columns} /> : <KeyHint width={columns} />;
			}
		}
	};

	if (layout.isTooSmall) {
		return (
			<Box width={columns} height={Math.min(rows, 2)} flexDirection="column">
				<Text wrap="truncate-end">{`netdash needs at least ${minimumSize.columns}×${minimumSize.rows} (this is ${columns}×${rows})`}</Text>
				<Text wrap="truncate-end">q quits</Text>
			</Box>
		);
	}

	const isPaneActive = (pane: PaneName) => focus === pane && prompt === undefined && !state.isHelpOpen;
	return (
		<Box flexDirection="column" width={columns} height={rows}>
			{state.isHelpOpen ? (
				<HelpOverlay width={columns} height={layout.panes.height} />
			) : (
				<Box flexDirection="column" height={layout.panes.height}>
					<Box flexDirection="row">
						<ListenersPane
							rows={shownListeners}
							total={listeners.length}
							filter={state.filters.listeners}
							cursor={state.cursors.listeners}
							selected={selected}
							isFocused={focus === 'listeners'}
							isActive={isPaneActive('listeners')}
							width={layout.listeners.width}
							height={layout.listeners.height}
							onMove={(index) => {
								dispatch({type: 'move-cursor', pane: 'listeners', index});
							}}
							onSelect={select}
						/>
						<DiscoveryPane
							peers={peers}
							discovery={discovery}
							cursor={state.cursors.discovery}
							isFocused={focus === 'discovery'}
							isActive={isPaneActive('discovery')}
							width={layout.discovery.width}
							height={layout.discovery.height}
							onMove={(index) => {
								dispatch({type: 'move-cursor', pane: 'discovery', index});
							}}
						/>
					</Box>
					<ConnectionsPane
						rows={shownConnections}
						total={connections.length}
						open={totals.connections}
						filter={state.filters.connections}
						cursor={state.cursors.connections}
						selected={selected}
						isFocused={focus === 'connections'}
						isActive={isPaneActive('connections')}
						width={layout.connections.width}
						height={layout.connections.height}
						onMove={(index) => {
							dispatch({type: 'move-cursor', pane: 'connections', index});
						}}
						onSelect={select}
					/>
					<LogPane
						socket={selected}
						description={describeSocket(selected, listeners, connections)}
						mode={state.logMode}
						isFollowing={state.isFollowing}
						cursorSeq={state.logCursor}
						filter={state.filters.log}
						isFocused={focus === 'log'}
						isActive={isPaneActive('log')}
						width={layout.log.width}
						height={layout.log.height}
						onFollow={onFollow}
					/>
				</Box>
			)}
			<StatusBar totals={totals} notice={isNoticeFresh ? undefined : lastNotice} width={columns} />
			{renderPrompt()}
		</Box>
	);
}
