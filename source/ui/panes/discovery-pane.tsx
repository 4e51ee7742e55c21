import {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {DiscoveryView, PeerRow} from '../../core/index.js';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {fit, formatTime, safeText} from '../format.js';
import {colors} from '../theme.js';

/** Props of {@link DiscoveryPane}. */
export type DiscoveryPaneProps = {
	/** Peers from the snapshot; empty until discovery runs. */
	readonly peers: readonly PeerRow[];
	readonly discovery: DiscoveryView;
	/** Words that must all appear in a peer's name, address, ports or state. */
	readonly filter: string;
	readonly cursor: number;
	readonly isFocused: boolean;
	/** Keys go to this pane (focused, no prompt open). */
	readonly isActive: boolean;
	readonly width: number;
	readonly height: number;
	readonly onMove: (index: number) => void;
};

const peerStateGlyphs: Record<PeerRow['state'], string> = {fresh: '●', stale: '◌', expired: '○'};

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
			return `listening for peers on UDP port ${discovery.port ?? '?'} — none yet (:probe asks now)`;
		}

		case 'failed': {
			return `discovery failed: ${safeText(discovery.error?.message ?? 'unknown error', 200)}`;
		}

		default: {
			return 'no peers yet — start discovery with :discover or --discover';
		}
	}
}

/** Pane 4: netdash peers found on the subnet. Names are peer-controlled and painted through toDisplayString. */
export function DiscoveryPane({peers: allPeers, discovery, filter, cursor, isFocused, isActive, width, height, onMove}: DiscoveryPaneProps) {
	const peers = useMemo(() => filterPeers(allPeers, filter), [allPeers, filter]);
	const inner = width - 2;
	const bodyHeight = Math.max(0, height - 2);
	const position = clampCursor(cursor, peers.length);
	const {start, end} = useScrollWindow(position, peers.length, bodyHeight);
	useListKeys({isActive, count: peers.length, cursor, page: bodyHeight, onMove});
	const nameWidth = Math.max(8, Math.min(24, Math.floor((inner - 4) / 3)));
	const running = discovery.state === 'running' ? ` · :${discovery.port ?? '?'}` : '';
	return (
		<PaneFrame number={4} title="Discovery" detail={`(${allPeers.length} peers${running}${filter ? ` · /${filter} ${peers.length} match` : ''})`} isFocused={isFocused} width={width} height={height}>
			{peers.length === 0 ? (
				<EmptyState text={filter && allPeers.length > 0 ? 'no peer matches the filter' : emptyText(discovery)} />
			) : (
				<Box flexDirection="column">
					{peers.slice(start, end).map((peer, index) => {
						const isCursor = isFocused && start + index === position;
						return (
							<Text key={peer.instanceId} wrap="truncate-end" dimColor={peer.state !== 'fresh'} bold={isCursor}>
								{isCursor ? '› ' : '  '}
								<Text color={peer.state === 'fresh' ? 'green' : colors.muted}>{peerStateGlyphs[peer.state]} </Text>
								{fit(safeText(peer.name, nameWidth), nameWidth)} {safeText(peer.address)} tcp {peer.ports.length > 0 ? peer.ports.join(',') : '—'}
								{peer.rttMs === null ? '' : ` ${peer.rttMs.toFixed(1)} ms`} {peer.state} {formatTime(peer.lastSeen).slice(0, 8)}
							</Text>
						);
					})}
				</Box>
			)}
		</PaneFrame>
	);
}
