import {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {DiscoveryView, ForeignRow, PeerRow} from '../../core/index.js';
import {formatAddress} from '../../core/index.js';
import {formatBytes, toDisplay} from '../../core/format/index.js';
import {columnsWidth, fitColumns, type Column, type FittedColumns} from '../columns.js';
import {EmptyState} from '../components/empty-state.js';
import {RowLine} from '../components/row-line.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {useNow} from '../hooks/use-now.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {fit, safeText} from '../format.js';
import {frameGlyphs} from '../terminal.js';
import {colors} from '../theme.js';
import type {ListPaneProps} from './list-pane.js';

/** Props of {@link DiscoveryPane}. */
/** The filter's words must all appear in a peer's name, address, ports or state. */
export type DiscoveryPaneProps = ListPaneProps & {
	/** Peers from the snapshot; empty until discovery runs. */
	readonly peers: readonly PeerRow[];
	/** Senders of datagrams on the discovery port that are not netdash's. */
	readonly foreign: readonly ForeignRow[];
	readonly discovery: DiscoveryView;
	/** Enter on a peer: connect to one of its offered ports. */
	readonly onSelect?: (peer: PeerRow) => void;
	/** Discovery is off: one line under the Listeners (layout.ts), saying how to start it. @default false */
	readonly isFolded?: boolean;
};

/** Columns of a peer row. */
export type PeerColumn = 'mark' | 'name' | 'address' | 'ports' | 'rtt' | 'age' | 'state';

const peerStateGlyphs: Record<PeerRow['state'], string> = {fresh: '●', stale: '◌', expired: '○'};

/** Name, address and offered ports first (what enter needs); round trip, age and the state word while they fit. */
const peerColumns = (addressWidth: number): ReadonlyArray<Column<PeerColumn>> => [
	{key: 'mark', width: 3, priority: 0},
	{key: 'name', width: 7, priority: 0, isFlexible: true, maxWidth: 32, grow: {width: 6, priority: 3}},
	{key: 'address', width: addressWidth + 1, priority: 0},
	{key: 'ports', width: 9, priority: 1, grow: {width: 12, priority: 6}},
	{key: 'rtt', width: 6, priority: 2},
	{key: 'age', width: 5, priority: 4},
	{key: 'state', width: 6, priority: 5},
];

const headings: Record<PeerColumn, string> = {mark: '', name: 'name', address: 'address', ports: 'tcp', rtt: 'rtt', age: 'age', state: 'state'};

/** Rows from which the pane spends one on column headings. */
const headingMinHeight = 5;

/** The peers whose name (as displayed), address, ports or state hold every word of `filter`. */
function filterPeers(peers: readonly PeerRow[], filter: string): readonly PeerRow[] {
	const words = filter.toLowerCase().split(/\s+/).filter((word) => word !== '');
	if (words.length === 0) {
		return peers;
	}

	return peers.filter((peer) => {
		const text = `${safeText(peer.name)} ${peer.address} ${peer.ports.join(' ')} ${peer.state}`.toLowerCase();
		return words.every((word) => text.includes(word));
	});
}

/** What the pane says with no peers: how to start discovery, or that it is listening. */
function emptyText(discovery: DiscoveryView): string {
	switch (discovery.state) {
		case 'running': {
			return `listening for peers on UDP port ${discovery.port ?? '?'} — none yet (p probes now)`;
		}

		case 'failed': {
			return `discovery failed: ${safeText(discovery.error?.message ?? 'unknown error', 200)}`;
		}

		case 'stopped': {
			return 'discovery stopped — :discover starts it again';
		}

		default: {
			return 'no peers yet — start discovery with :discover or --discover';
		}
	}
}

/** One line of counters: who we are, and what was dropped (a flood shows here first). */
function statusText(discovery: DiscoveryView): string {
	const counters = `dropped ${discovery.droppedTotal} · rate-limited ${discovery.rateLimited} · probes ${discovery.probes} · heard ${discovery.received}`;
	switch (discovery.state) {
		case 'running': {
			return ` me ${discovery.instanceId?.slice(0, 8) ?? '?'} · ${counters}`;
		}

		case 'failed': {
			return ` failed: ${safeText(discovery.error?.message ?? 'unknown error', 200)}`;
		}

		default: {
			return ` discovery ${discovery.state} · ${counters}`;
		}
	}
}

/** `8080,9090`, or `8080 +2` when they do not all fit; `—` for none. */
function portsText(ports: readonly number[], width: number): string {
	if (ports.length === 0) {
		return '—';
	}

	const all = ports.join(',');
	return all.length <= width || ports.length === 1 ? all : `${ports[0]} +${ports.length - 1}`;
}

/** `1.3ms`, `42ms`, `1.2s`; `—` before a probe was answered. */
function rttText(rttMs: number | null): string {
	if (rttMs === null) {
		return '—';
	}

	if (rttMs >= 1000) {
		return `${(rttMs / 1000).toFixed(1)}s`;
	}

	return rttMs < 10 ? `${rttMs.toFixed(1)}ms` : `${Math.round(rttMs)}ms`;
}

/** `3s`, `12m`, `5h` since `at`. */
function ageText(at: number, now: number): string {
	const seconds = Math.max(0, Math.floor((now - at) / 1000));
	if (seconds < 60) {
		return `${seconds}s`;
	}

	return seconds < 3600 ? `${Math.floor(seconds / 60)}m` : `${Math.floor(seconds / 3600)}h`;
}

function cell(columns: FittedColumns<PeerColumn>, key: PeerColumn, text: string): string {
	const width = columns.get(key);
	return width === undefined ? '' : `${fit(text, width - 1)} `;
}

function PeerLine({peer, columns, isCursor, now, fill}: {peer: PeerRow; columns: FittedColumns<PeerColumn>; isCursor: boolean; now: number; fill: number}) {
	const isFresh = peer.state === 'fresh';
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={!isFresh}>
			{isCursor ? '›' : ' '}
			<Text color={isFresh ? 'green' : colors.muted}>{`${peerStateGlyphs[peer.state]} `}</Text>
			{/* The name is the peer's own bytes: always through toDisplayString. */}
			{cell(columns, 'name', safeText(peer.name, 64))}
			{cell(columns, 'address', safeText(peer.address))}
			{cell(columns, 'ports', portsText(peer.ports, (columns.get('ports') ?? 1) - 1))}
			{cell(columns, 'rtt', rttText(peer.rttMs))}
			{cell(columns, 'age', ageText(peer.lastSeen, now))}
			{cell(columns, 'state', peer.state)}
		</RowLine>
	);
}

/** One foreign sender: source, datagrams and last size, then the first bytes of the last one; compact: labelled, without the counts. */
function ForeignLine({row, sourceWidth, width, isCompact = false}: {row: ForeignRow; sourceWidth: number; width: number; isCompact?: boolean}) {
	const source = safeText(formatAddress(row.address, row.port));
	const head = isCompact ? ` ◇ foreign ${source}  ` : ` ◇ ${fit(source, sourceWidth)} ${`${row.datagrams}×`.padStart(4)} ${fit(formatBytes(row.lastBytes), 7, 'right')}  `;
	// The first bytes are the sender's: painted through toDisplay like any payload.
	const room = Math.max(0, width - head.length);
	const bytes = room > 0 ? toDisplay(row.data, {maxChars: room}) : '';
	return (
		<Text wrap="truncate-end" color={colors.muted}>
			{head}
			<Text>{bytes}</Text>
		</Text>
	);
}

/** The Discovery pane while discovery is off: `╶─ 4 Discovery off · :discover or --discover finds peers ───`. */
function FoldedLine({discovery, isFocused, width}: {discovery: DiscoveryView; isFocused: boolean; width: number}) {
	// Heavy when focused, as PaneFrame's; ASCII where the terminal needs it.
	const border = isFocused ? frameGlyphs().foldedFocused : frameGlyphs().foldedNormal;
	const color = isFocused ? colors.focus : colors.border;
	const name = '4 Discovery';
	const more = ` ${discovery.state === 'stopped' ? 'stopped' : 'off'} · :discover or --discover finds netdash peers`;
	const room = Math.max(0, width - 4 - name.length);
	const shown = more.slice(0, room);
	return (
		<Text wrap="truncate-end">
			<Text color={color}>{`${border.left} `}</Text>
			<Text bold={isFocused}>{name}</Text>
			<Text color={colors.muted}>{shown}</Text>
			<Text color={color}>{` ${border.line.repeat(Math.max(0, room - shown.length))}`}</Text>
		</Text>
	);
}

/**
 * Pane 4: discovery. A line of counters (our instance id, dropped and
 * rate-limited datagrams), the peers found (name, address, offered TCP
 * ports, round trip, age, state; enter connects to a port), and below them
 * the foreign senders on the discovery port. Names and foreign bytes are
 * peer-controlled and painted through toDisplayString / toDisplay.
 */
export function DiscoveryPane({peers: allPeers, foreign, discovery, filter, cursor, isFocused, keys, width, height, onMove, onSelect, isFolded = false}: DiscoveryPaneProps) {
	const peers = useMemo(() => filterPeers(allPeers, filter), [allPeers, filter]);
	const inner = width - 2;
	const body = Math.max(0, height - 2);
	const addressWidth = useMemo(() => Math.max(7, ...peers.map((peer) => peer.address.length)), [peers]);
	const columns = useMemo(() => fitColumns(inner, peerColumns(addressWidth)), [inner, addressWidth]);
	const hasHeading = body >= headingMinHeight && peers.length > 0;
	const rest = Math.max(0, body - 1 - (hasHeading ? 1 : 0));
	// Foreign senders get up to half of what is left (a heading and at least one row), peers the rest;
	// with two lines left, the newest foreign sender takes one, labelled instead of headed.
	const foreignLines = foreign.length === 0 || rest < 2 ? 0 : rest === 2 ? 1 : Math.min(1 + foreign.length, Math.max(2, Math.floor(rest / 2)));
	const isForeignCompact = foreignLines === 1;
	const peerLines = Math.max(1, rest - foreignLines);
	const position = clampCursor(cursor, peers.length);
	const {start, end} = useScrollWindow(position, peers.length, peerLines);
	const now = useNow(1000, allPeers.length > 0);
	useListKeys({
		pane: 'discovery',
		keys,
		count: peers.length,
		cursor,
		page: peerLines,
		onMove,
		onSelect(index) {
			const peer = peers[index];
			if (peer) {
				onSelect?.(peer);
			}
		},
	});
	const shownForeign = foreign.slice(-Math.max(0, isForeignCompact ? 1 : foreignLines - 1)).reverse();
	const sourceWidth = Math.min(21, Math.max(9, ...shownForeign.map((row) => formatAddress(row.address, row.port).length)));
	const running = discovery.state === 'running' ? ` · :${discovery.port ?? '?'}` : '';
	const detail = `(${allPeers.length} peer${allPeers.length === 1 ? '' : 's'}${foreign.length > 0 ? ` · ${foreign.length} foreign` : ''}${running}${filter ? ` · /${filter} ${peers.length} match` : ''})`;
	const isIdle = discovery.state === 'off' && allPeers.length === 0 && foreign.length === 0;
	const heading = [...columns].map(([key, size]) => headings[key].padEnd(size).slice(0, size)).join('');
	const hasDrops = discovery.droppedTotal > 0;
	const fill = Math.max(0, inner - columnsWidth(columns));
	if (isFolded) {
		return <FoldedLine discovery={discovery} isFocused={isFocused} width={width} />;
	}

	return (
		<PaneFrame number={4} title="Discovery" detail={detail} isFocused={isFocused} width={width} height={height}>
			{isIdle ? (
				<EmptyState text={emptyText(discovery)} />
			) : (
				<Box flexDirection="column">
					<Text wrap="truncate-end" color={discovery.state === 'failed' ? colors.error : hasDrops ? colors.warning : colors.muted}>
						{statusText(discovery)}
					</Text>
					{hasHeading ? (
						<Text wrap="truncate-end" color={colors.muted}>
							{heading}
						</Text>
					) : null}
					{peers.length === 0 ? (
						<Box height={peerLines}>
							<Text wrap="truncate-end" color={colors.muted}>
								{` ${filter && allPeers.length > 0 ? 'no peer matches the filter' : emptyText(discovery)}`}
							</Text>
						</Box>
					) : (
						<Box flexDirection="column" height={peerLines}>
							{peers.slice(start, end).map((peer, index) => (
								<PeerLine key={peer.instanceId} peer={peer} columns={columns} isCursor={isFocused && start + index === position} now={now} fill={fill} />
							))}
						</Box>
					)}
					{isForeignCompact ? (
						<ForeignLine isCompact row={shownForeign[0]!} sourceWidth={sourceWidth} width={inner} />
					) : foreignLines > 0 ? (
						<Box flexDirection="column">
							<Text wrap="truncate-end" color={colors.muted}>
								{` foreign senders (not netdash): ${foreign.length}${foreign.length > shownForeign.length ? `, newest ${shownForeign.length}` : ''}`}
							</Text>
							{shownForeign.map((row) => (
								<ForeignLine key={`${row.address}:${row.port}`} row={row} sourceWidth={sourceWidth} width={inner} />
							))}
						</Box>
					) : null}
				</Box>
			)}
		</PaneFrame>
	);
}
