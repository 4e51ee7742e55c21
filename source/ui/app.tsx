import {useCallback, useEffect, useMemo} from 'react';
import {Box, Text, useApp, useWindowSize} from 'ink';
import type {ConnectionRow, Core, ListenerRow, Store} from '../core/index.js';
import {complete} from '../core/command-line.js';
import {ErrorBoundary} from './components/error-boundary.js';
import {HelpOverlay} from './components/help-overlay.js';
import {PromptLine} from './components/prompt-line.js';
import {StatusBar} from './components/status-bar.js';
import {useCommands} from './hooks/use-commands.js';
import {useDashboardKeys} from './hooks/use-dashboard-keys.js';
import {useDashboardState, type ConfirmAction, type PaneName} from './hooks/use-dashboard-state.js';
import {clampCursor} from './hooks/use-scroll-window.js';
import {filterConnections, filterListeners} from './row-filter.js';
import {formatEndpoint} from './format.js';
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

/** The dashboard itself: layout, focus and selection; the verbs live in useCommands, the keys in useDashboardKeys. */
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
	const logView = useSnapshot((snapshot) => (selected === undefined ? undefined : snapshot.logs.get(selected)));
	const shownListeners = useMemo(() => filterListeners(listeners, state.filters.listeners), [listeners, state.filters.listeners]);
	const shownConnections = useMemo(() => filterConnections(connections, state.filters.connections), [connections, state.filters.connections]);
	const {prompt, focus} = state;
	const lastNotice = notices.at(-1);
	const freshNotice = lastNotice !== undefined && lastNotice.seq > state.seenNotice ? lastNotice : undefined;

	useDashboardKeys({
		state,
		dispatch,
		commands,
		targetOf(kind) {
			if (focus === 'connections') {
				return shownConnections[clampCursor(state.cursors.connections, shownConnections.length)]?.id;
			}

			if (focus === 'listeners' && kind === 'socket') {
				return shownListeners[clampCursor(state.cursors.listeners, shownListeners.length)]?.id;
			}

			return kind === 'connection' && !selected?.startsWith('C') ? undefined : selected;
		},
		logView,
		openSockets: () => core.openSockets,
		lastNotice: lastNotice?.seq,
		quit,
	});

	// The cursor lands on a socket the command line opened once its row is in the snapshot.
	const {cursorTarget} = state;
	useEffect(() => {
		if (cursorTarget === undefined) {
			return;
		}

		const connection = shownConnections.findIndex((row) => row.id === cursorTarget);
		const listener = shownListeners.findIndex((row) => row.id === cursorTarget);
		if (connection !== -1) {
			dispatch({type: 'move-cursor', pane: 'connections', index: connection});
		} else if (listener !== -1) {
			dispatch({type: 'move-cursor', pane: 'listeners', index: listener});
		}
	}, [cursorTarget, shownConnections, shownListeners, dispatch]);

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

	const onCommand = (text: string) => {
		dispatch({type: 'close-prompt'});
		dispatch({type: 'remember-command', text});
		if (text.trim() === '') {
			return;
		}

		const outcome = commands.runLine(text, selected);
		if (outcome.select !== undefined) {
			// What :listen or :connect opened is shown in the Log, and the cursor goes to it, so s, e, R act on it.
			dispatch({type: 'select', id: outcome.select, isCursorMoved: true});
		}

		if (outcome.isHelp) {
			dispatch({type: 'toggle-help'});
		}

		if (outcome.isQuit) {
			quit();
		}
	};

	const onConfirm = (action: ConfirmAction, target: string | undefined) => {
		if (action === 'quit') {
			quit();
		} else if (target !== undefined) {
			commands[action](target);
		}
	};

	const promptLine = (
		<PromptLine
			prompt={prompt}
			freshNotice={freshNotice}
			width={columns}
			history={state.history}
			complete={(text) => complete(text, openIds(listeners, connections))}
			onCommand={onCommand}
			onFilter={(pane, text) => {
				dispatch({type: 'set-filter', pane, text});
			}}
			onSend={commands.send}
			onConfirm={onConfirm}
			onClose={() => {
				dispatch({type: 'close-prompt'});
			}}
		/>
	);

	if (layout.isTooSmall) {
		// Keys still work here (q, :quit, ctrl-c), so the prompt line stays.
		return (
			<Box width={columns} height={Math.min(rows, 2)} flexDirection="column">
				<Text wrap="truncate-end">{`netdash needs at least ${minimumSize.columns}×${minimumSize.rows} (this is ${columns}×${rows})`}</Text>
				{promptLine}
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
							filter={state.filters.discovery}
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
			<StatusBar totals={totals} notice={freshNotice ? undefined : lastNotice} width={columns} />
			{promptLine}
		</Box>
	);
}
