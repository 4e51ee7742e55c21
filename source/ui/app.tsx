import {useCallback, useEffect, useLayoutEffect, useMemo, useState} from 'react';
import {Box, Text, useApp, useStdout, useWindowSize} from 'ink';
import {formatAddress, type Core, type LanServiceRow, type LogEntry, type Notice, type PeerRow, type Store} from '../core/index.js';
import type {ReplayPlayer} from '../core/replay/player.js';
import {hexDump} from '../core/format/index.js';
import {complete} from '../core/command-line.js';
import {workbenchAnswers} from '../core/store/workbench-notices.js';
import {completeDestination, entryOf} from './log-lookup.js';
import {ErrorBoundary} from './components/error-boundary.js';
import {HelpOverlay, helpKeyHandler} from './components/help-overlay.js';
import {LogEntryFull} from './components/log-entry-full.js';
import {HeldChunks} from './components/held-chunks.js';
import {useRelaySteps} from './hooks/use-relay-steps.js';
import {PromptLine} from './components/prompt-line.js';
import {ReplayBar, replayKeyHandler} from './components/replay-bar.js';
import {StatusBar} from './components/status-bar.js';
import {useCommands} from './hooks/use-commands.js';
import {useDashboardKeys} from './hooks/use-dashboard-keys.js';
import {useDashboardState, type ConfirmAction} from './hooks/use-dashboard-state.js';
import {useFirstContact} from './hooks/use-first-contact.js';
import {usePaneKeys} from './hooks/pane-keys.js';
import {clampCursor} from './hooks/use-scroll-window.js';
import {filterConnections, filterListeners, filterUdpSockets} from './row-filter.js';
import {connectionItems} from './connection-items.js';
import {safeText} from './format.js';
import {layoutFor, minimumSize} from './layout.js';
import {ConnectionsPane} from './panes/connections-pane.js';
import {DiscoveryPane} from './panes/discovery-pane.js';
import {listenerPaneId, ListenersPane} from './panes/listeners-pane.js';
import {LogPane} from './panes/log-pane.js';
import {SystemPane} from './panes/system-pane.js';
import {useSystemActions} from './hooks/use-system-actions.js';
import {describeSocket, howToConnect, openIds} from './socket-text.js';
import {RateChart} from './components/rate-chart.js';
import {RateSampler} from './rate-history.js';
import {DashboardProvider, useCore, useSnapshot, useStore} from './store-context.js';

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
	/** A recording played back (netdash replay): one more line shows where it is, and its keys work. */
	readonly replay?: ReplayPlayer;
};

/** The dashboard for a core and its store. Tests render it with ink-testing-library; run.tsx in the alternate screen. */
export function App({core, store, onQuit, onCrash, replay}: AppProps) {
	return (
		<DashboardProvider core={core} store={store}>
			<ErrorBoundary onError={onCrash}>
				<Dashboard onQuit={onQuit} replay={replay} />
			</ErrorBoundary>
		</DashboardProvider>
	);
}

/** How long a notice keeps the bottom line when no key is pressed. */
export const noticeFadeMs = 5000;

/** The dashboard itself: layout, focus and selection; the verbs live in useCommands, the keys in useDashboardKeys. */
function Dashboard({onQuit, replay}: {readonly onQuit: (() => void) | undefined; readonly replay: ReplayPlayer | undefined}) {
	const {exit} = useApp();
	const quit = onQuit ?? exit;
	const {columns, rows: windowRows} = useWindowSize();
	// The replay's line takes one row from the panes.
	const rows = windowRows - (replay ? 1 : 0);
	const dashboard = useDashboardState();
	const {state, dispatch} = dashboard;
	const paneKeys = usePaneKeys();
	const {stdout} = useStdout();
	const commands = useCommands();
	const core = useCore();
	const store = useStore();
	const listeners = useSnapshot((snapshot) => snapshot.listeners);
	const connections = useSnapshot((snapshot) => snapshot.connections);
	const totals = useSnapshot((snapshot) => snapshot.totals);
	const notices = useSnapshot((snapshot) => snapshot.notices);
	const udpSockets = useSnapshot((snapshot) => snapshot.udpSockets);
	const rules = useSnapshot((snapshot) => snapshot.rules);
	const relays = useSnapshot((snapshot) => snapshot.relays);
	const peers = useSnapshot((snapshot) => snapshot.peers);
	const foreign = useSnapshot((snapshot) => snapshot.foreign);
	const discovery = useSnapshot((snapshot) => snapshot.discovery);
	const hosts = useSnapshot((snapshot) => snapshot.hosts);
	const lanHistory = useSnapshot((snapshot) => snapshot.lanHistory);
	const lanBrowsing = useSnapshot((snapshot) => snapshot.lanBrowsing);
	const probes = useSnapshot((snapshot) => snapshot.probes);
	// Gone services alone (browsing stopped) do not keep the pane open.
	const isDiscoveryFolded = (discovery.state === 'off' || discovery.state === 'stopped') && lanBrowsing.length === 0 && peers.length === 0 && foreign.length === 0 && probes.length === 0 && hosts.every((host) => host.state === 'gone');
	const system = useSnapshot((snapshot) => snapshot.system);
	const layout = layoutFor(columns, rows, {isDiscoveryFolded});
	// A selection whose rows were cleared (C, :clear) is no selection.
	const isKnown = (id: string) =>
		listeners.some((row) => row.id === id) || connections.some((row) => row.id === id) || udpSockets.some((row) => row.id === id) || relays.some((row) => row.id === id);
	const selected = state.selected !== undefined && isKnown(state.selected) ? state.selected : undefined;
	const logView = useSnapshot((snapshot) => (selected === undefined ? undefined : snapshot.logs.get(selected)));
	// Two minutes of rates for r, sampled from the store once a second whether shown or not.
	const sampler = useMemo(() => new RateSampler(store), [store]);
	useEffect(() => {
		sampler.start();
		return () => {
			sampler.stop();
		};
	}, [sampler]);
	useEffect(() => {
		sampler.select(selected);
	}, [sampler, selected]);
	const shownListeners = useMemo(() => filterListeners(listeners, state.filters.listeners), [listeners, state.filters.listeners]);
	const shownConnections = useMemo(() => filterConnections(connections, state.filters.connections), [connections, state.filters.connections]);
	// A relayed pair is one line that expands to its halves (issue 13).
	const connectionLines = useMemo(() => connectionItems(shownConnections, connections, relays, state.expanded), [shownConnections, connections, relays, state.expanded]);
	// UDP sockets share the Listeners pane, its filter and its cursor.
	const shownUdp = useMemo(() => filterUdpSockets(udpSockets, state.filters.listeners), [udpSockets, state.filters.listeners]);
	const udpOpen = useMemo(() => udpSockets.filter((row) => row.state !== 'closed').length, [udpSockets]);
	const {prompt, focus} = state;
	const lastNotice = notices.at(-1);
	const freshNotice = lastNotice !== undefined && lastNotice.seq > state.seenNotice ? lastNotice : undefined;

	const {typeAhead} = useDashboardKeys({
		store: dashboard,
		paneKeys,
		commands,
		targetOf(kind, {focus, cursors}) {
			if (kind === 'relay') {
				// The relay under the cursor (or whose half is), else the one whose log is shown.
				const line = focus === 'connections' && connectionLines.length > 0 ? connectionLines[clampCursor(cursors.connections, connectionLines.length)] : undefined;
				if (line) {
					return line.kind === 'relay' ? line.id : line.row.relay;
				}

				return selected?.startsWith('R') ? selected : undefined;
			}

			// An empty Connections pane has no row to act on: the socket in the Log is meant (`:udp 0`, then s).
			if (focus === 'connections' && connectionLines.length > 0) {
				return connectionLines[clampCursor(cursors.connections, connectionLines.length)]?.id;
			}

			if (focus === 'listeners' && kind !== 'connection') {
				const id = listenerPaneId(shownListeners, shownUdp, clampCursor(cursors.listeners, shownListeners.length + shownUdp.length));
				if (kind === 'socket' || id?.startsWith('U')) {
					return id;
				}
			}

			if (kind === 'connection') {
				return selected?.startsWith('C') ? selected : undefined;
			}

			return kind === 'sender' && !(selected?.startsWith('C') || selected?.startsWith('U')) ? undefined : selected;
		},
		logView,
		openSockets: () => core.openSockets,
		lastNotice: lastNotice?.seq,
		quit,
	});

	paneKeys.current.replay = replay && replayKeyHandler(replay);
	// The help's scroll keys, known before the help is first drawn (`?j` in one burst scrolls it).
	paneKeys.current.help = helpKeyHandler(columns, layout.panes.height, (scroll) => {
		dispatch({type: 'scroll-help', scroll});
	}, replay !== undefined);

	// The cursor lands on a socket the command line opened once its row is in the snapshot.
	const {cursorTarget} = state;
	useLayoutEffect(() => {
		if (cursorTarget === undefined) {
			return;
		}

		const connection = connectionLines.findIndex((row) => row.id === cursorTarget);
		const listener = shownListeners.findIndex((row) => row.id === cursorTarget);
		const udp = shownUdp.findIndex((row) => row.id === cursorTarget);
		if (connection !== -1) {
			dispatch({type: 'move-cursor', pane: 'connections', index: connection});
		} else if (listener !== -1) {
			dispatch({type: 'move-cursor', pane: 'listeners', index: listener});
		} else if (udp !== -1) {
			dispatch({type: 'move-cursor', pane: 'listeners', index: shownListeners.length + udp});
		}
	}, [cursorTarget, connectionLines, shownListeners, shownUdp, dispatch]);

	const onFollow = useCallback(
		(isFollowing: boolean, cursor?: number) => {
			dispatch({type: 'follow', isFollowing, cursor});
		},
		[dispatch],
	);

	const select = useCallback(
		(id: string) => {
			dispatch({type: 'select', id, isChosen: true});
		},
		[dispatch],
	);

	useFirstContact(connections, udpSockets, dashboard, isKnown);

	// A line of our own on the bottom line (a command that worked, a copy): shown like a fresh notice.
	const [flash, setFlash] = useState<Notice | undefined>(undefined);
	const say = useCallback((message: string) => {
		setFlash({seq: -1, at: Date.now(), level: 'info', target: undefined, code: undefined, message});
	}, []);

	/** y: the entry's bytes to the clipboard with OSC 52 (as text, or as its hex dump in the hex view). */
	const copy = (entry: LogEntry) => {
		if (!entry.data) {
			const text = Buffer.from(entry.text ?? '');
			stdout.write(`\u001B]52;c;${text.toString('base64')}\u0007`);
			say(`copied the note (${text.length} B) to the clipboard (OSC 52)`);
			return;
		}

		const isHex = dashboard.current().logMode === 'hex';
		const payload = isHex ? Buffer.from(hexDump(entry.data).join('\n') + '\n') : entry.data;
		stdout.write(`\u001B]52;c;${payload.toString('base64')}\u0007`);
		const cut = entry.bytes > entry.data.length ? ` (the first ${entry.data.length} of ${entry.bytes} B the log kept)` : '';
		say(`copied ${entry.data.length} B${isHex ? ' as hex' : ''} to the clipboard (OSC 52)${cut}`);
	};

	const onCommand = (text: string) => {
		dispatch({type: 'close-prompt'});
		dispatch({type: 'remember-command', text});
		if (text.trim() === '') {
			return;
		}

		// A failure is reported on the bus as the line runs (synchronously); anything else worked, and says so.
		let hasFailed = false;
		let hasAnswer = false;
		const unsubscribe = core.bus.subscribe((event) => {
			if (event.type === 'command-failed' || event.type === 'socket-failed') {
				hasFailed = true;
			}

			hasAnswer ||= workbenchAnswers.has(event.type);
		}, {borrows: true});
		const outcome = commands.runLine(text, selected);
		unsubscribe();
		if (!hasFailed && !hasAnswer && !outcome.isHelp && !outcome.isQuit) {
			say(`✓ :${safeText(text.trim(), 60)}${outcome.select === undefined ? '' : ` → ${outcome.select}`}`);
		}

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

	/** Dial a peer's port; the new connection is shown in the Log and gets the cursor. */
	const connectTo = (host: string, port: number) => {
		const id = commands.connect(host, port);
		if (id !== undefined) {
			dispatch({type: 'select', id, isCursorMoved: true});
		}
	};

	/** Enter on a peer: its one offered port at once, a choice when it offers several, a line when none. */
	const onPeer = (peer: PeerRow) => {
		const name = safeText(peer.name, 40);
		const [first] = peer.ports;
		if (first === undefined) {
			commands.complain('NO_PORTS', `${name} at ${peer.address} offers no TCP port — a netdash peer offers its listeners on 0.0.0.0 or a LAN address`);
		} else if (peer.ports.length === 1) {
			connectTo(peer.address, first);
		} else {
			dispatch({type: 'open-prompt', prompt: {kind: 'choose-port', name, address: peer.address, ports: peer.ports}});
		}
	};

	/** Enter on a service: a peer as above; a TCP service after a confirm (it is a stranger's); anything else says why not. */
	const onService = (service: LanServiceRow) => {
		const name = safeText(service.name, 40);
		const peer = service.protocol === 'netdash' ? peers.find((row) => row.instanceId === service.key) : undefined;
		const [port] = service.ports;
		if (peer) {
			onPeer(peer);
		} else if (service.isTcp && port !== undefined && service.state !== 'gone') {
			const target = formatAddress(service.address, port);
			dispatch({type: 'open-prompt', prompt: {kind: 'confirm', action: 'connect', target, question: `connect to ${name} (${safeText(service.serviceType, 40)}) at ${target}?`}});
		} else {
			commands.complain('NOT_TCP', `${name} (${service.protocol}${service.state === 'gone' ? ', gone' : ''}) offers no TCP port to connect to`);
		}
	};

	const systemActions = useSystemActions(dispatch, commands, say);
	const onConfirm = (action: ConfirmAction, target: string | undefined) => {
		if (action === 'quit') {
			quit();
		} else if (action === 'connect') {
			// `host:port`, `[v6]:port`: the port follows the last colon.
			const cut = target?.lastIndexOf(':') ?? -1;
			if (target !== undefined && cut > 0) {
				connectTo(target.slice(0, cut).replace(/^\[(.*)\]$/, '$1'), Number(target.slice(cut + 1)));
			}
		} else if (action === 'destroy') {
			systemActions.destroy(target);
		} else if (target !== undefined) {
			commands[action](target);
		}
	};

	// The bottom line shows the newest of a fresh notice and our own line, for 5 s or until a key.
	const shownNotice = flash !== undefined && (freshNotice === undefined || flash.at >= freshNotice.at) ? flash : freshNotice;
	// Each fades on its own clock, so one that was covered by a newer one never comes back later.
	useEffect(() => {
		if (flash === undefined) {
			return;
		}

		const timer = setTimeout(() => {
			setFlash(undefined);
		}, noticeFadeMs);
		return () => {
			clearTimeout(timer);
		};
	}, [flash]);
	useEffect(() => {
		if (freshNotice === undefined) {
			return;
		}

		const timer = setTimeout(() => {
			dispatch({type: 'see-notices', seq: freshNotice.seq});
		}, noticeFadeMs);
		return () => {
			clearTimeout(timer);
		};
	}, [freshNotice, dispatch]);

	const relaySteps = useRelaySteps({relays, commands, dispatch});
	const promptLine = (
		<PromptLine
			prompt={prompt}
			freshNotice={shownNotice}
			width={columns}
			history={state.history}
			complete={(text) => complete(text, openIds(listeners, connections, udpSockets))}
			onCommand={onCommand}
			onFilter={(pane, text) => {
				dispatch({type: 'set-filter', pane, text});
			}}
			onSend={relaySteps.onSend}
			relayOf={relaySteps.relayOf}
			onDirection={relaySteps.onDirection}
			onThrottle={relaySteps.onThrottle}
			onEditHeld={relaySteps.onEditHeld}
			onConfirm={onConfirm}
			onConnect={connectTo}
			onClose={() => {
				dispatch({type: 'close-prompt'});
			}}
			lineEnding={state.lineEnding}
			onLineEnding={() => {
				dispatch({type: 'next-line-ending'});
			}}
			framingOf={(target) => connections.find((row) => row.id === target)?.framing}
			completeSend={(target, text) => (target.startsWith('U') ? completeDestination(text, store.getSnapshot().logs.get(target)) : {text, candidates: []})}
			onTypeAhead={typeAhead}
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

	const {entryView, heldView} = state;
	const discoveryPane = (
		<DiscoveryPane
			peers={peers}
			foreign={foreign}
			discovery={discovery}
			filter={state.filters.discovery}
			cursor={state.cursors.discovery}
			isFocused={focus === 'discovery'}
			keys={paneKeys}
			width={layout.discovery.width}
			height={layout.discovery.height}
			isFolded={isDiscoveryFolded}
			onMove={(index) => {
				dispatch({type: 'move-cursor', pane: 'discovery', index});
			}}
			hosts={hosts}
			history={lanHistory}
			browsing={lanBrowsing}
			probe={probes.at(-1)}
			onSelect={onService}
		/>
	);
	return (
		<Box flexDirection="column" width={columns} height={windowRows}>
			{state.isHelpOpen ? (
				<HelpOverlay width={columns} height={layout.panes.height} scroll={state.helpScroll} isReplay={replay !== undefined} />
			) : entryView ? (
				<LogEntryFull
					entry={entryOf(logView, entryView.seq, entryView.kind)}
					socket={entryView.socket}
					framing={connections.find((row) => row.id === entryView.socket)?.framing}
					width={columns}
					height={layout.panes.height}
					scroll={entryView.scroll}
					keys={paneKeys}
					onScroll={(scroll) => {
						dispatch({type: 'scroll-entry', scroll});
					}}
					onClose={() => {
						dispatch({type: 'close-entry'});
					}}
					onCopy={copy}
					onToggleHex={() => {
						dispatch({type: 'toggle-hex'});
					}}
				/>
			) : heldView ? (
				<HeldChunks
					relay={relays.find((row) => row.id === heldView.relay)}
					id={heldView.relay}
					cursor={heldView.cursor}
					width={columns}
					height={layout.panes.height}
					keys={paneKeys}
					{...relaySteps.held(heldView.relay)}
				/>
			) : focus === 'system' ? (
				<SystemPane
					view={system}
					state={state.system}
					filter={state.filters.system}
					cursor={state.cursors.system}
					isFocused
					keys={paneKeys}
					width={columns}
					height={layout.panes.height}
					onMove={(index) => {
						dispatch({type: 'move-cursor', pane: 'system', index});
					}}
					onToggleGrouping={() => {
						dispatch({type: 'toggle-system-grouping'});
					}}
					onNextSort={() => {
						dispatch({type: 'next-system-sort'});
					}}
					onDetail={(key) => {
						dispatch({type: 'show-system-detail', key});
					}}
					onProcess={(pid) => {
						dispatch({type: 'show-process', pid});
					}}
					onDestroy={systemActions.askDestroy}
					onForward={systemActions.forward}
					onStepInterval={(step) => {
						dispatch({type: 'step-system-interval', step});
					}}
					intervalMs={state.system.intervalMs}
					onComplain={commands.complain}
				/>
			) : (
				<Box flexDirection="column" height={layout.panes.height}>
					<Box flexDirection="row">
						<ListenersPane
							rows={shownListeners}
							udpRows={shownUdp}
							rules={rules}
							total={listeners.length + udpSockets.length}
							filter={state.filters.listeners}
							cursor={state.cursors.listeners}
							selected={selected}
							isFocused={focus === 'listeners'}
							keys={paneKeys}
							width={layout.listeners.width}
							height={layout.listeners.height}
							onMove={(index) => {
								dispatch({type: 'move-cursor', pane: 'listeners', index});
							}}
							onSelect={select}
						/>
						{isDiscoveryFolded ? null : discoveryPane}
					</Box>
					{isDiscoveryFolded ? discoveryPane : null}
					<ConnectionsPane
						rows={connectionLines}
						total={connections.length}
						open={totals.connections}
						filter={state.filters.connections}
						cursor={state.cursors.connections}
						selected={selected}
						isFocused={focus === 'connections'}
						keys={paneKeys}
						width={layout.connections.width}
						height={layout.connections.height}
						onMove={(index) => {
							dispatch({type: 'move-cursor', pane: 'connections', index});
						}}
						onSelect={select}
						onExpand={(relay, isExpanded) => {
							dispatch({type: 'expand', relay, isExpanded});
						}}
						howToConnect={howToConnect(listeners)}
					/>
					{state.isChartShown ? (
						<RateChart
							sampler={sampler}
							description={describeSocket(selected, listeners, connections, udpSockets, relays)}
							isFocused={focus === 'log'}
							width={layout.log.width}
							height={layout.log.height}
						/>
					) : (
						<LogPane
							socket={selected}
							description={describeSocket(selected, listeners, connections, udpSockets, relays)}
							framing={connections.find((row) => row.id === selected)?.framing}
							mode={state.logMode}
							isFollowing={state.isFollowing}
							cursorSeq={state.logCursor}
							filter={state.filters.log}
							isFocused={focus === 'log'}
							keys={paneKeys}
							width={layout.log.width}
							height={layout.log.height}
							onFollow={onFollow}
							onOpen={(entry) => {
								if (selected !== undefined) {
									dispatch({type: 'open-entry', socket: selected, seq: entry.seq, kind: entry.kind});
								}
							}}
							onCopy={copy}
						/>
					)}
				</Box>
			)}
			{replay ? <ReplayBar replay={replay} width={columns} /> : null}
			<StatusBar totals={totals} udpOpen={udpOpen} notice={freshNotice ? undefined : lastNotice} width={columns} />
			{promptLine}
		</Box>
	);
}
