import {Box, Text} from 'ink';
import {EmptyState} from '../components/empty-state.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {fit, formatTime, safeText} from '../format.js';
import {colors} from '../theme.js';

/** A netdash instance found on the subnet, as the Discovery pane shows it. */
export type DiscoveryPeer = {
	/** Its random instance id. */
	readonly id: string;
	/** The name it announces: peer-controlled, painted through toDisplayString. */
	readonly name: string;
	readonly address: string;
	/** TCP listener ports it offers. */
	readonly ports: readonly number[];
	readonly rttMs: number | undefined;
	readonly lastSeenAt: number;
	readonly state: 'fresh' | 'stale' | 'expired';
};

/** Props of {@link DiscoveryPane}. */
export type DiscoveryPaneProps = {
	/** Peers to show; empty until discovery runs. */
	readonly peers: readonly DiscoveryPeer[];
	readonly cursor: number;
	readonly isFocused: boolean;
	/** Keys go to this pane (focused, no prompt open). */
	readonly isActive: boolean;
	readonly width: number;
	readonly height: number;
	readonly onMove: (index: number) => void;
};

/** Pane 4: peers found by discovery, or how to start it. */
export function DiscoveryPane({peers, cursor, isFocused, isActive, width, height, onMove}: DiscoveryPaneProps) {
	const inner = width - 2;
	const bodyHeight = Math.max(0, height - 2);
	const position = clampCursor(cursor, peers.length);
	const {start, end} = useScrollWindow(position, peers.length, bodyHeight);
	useListKeys({isActive, count: peers.length, cursor, page: bodyHeight, onMove});
	const nameWidth = Math.max(8, Math.floor((inner - 2) / 3));
	return (
		<PaneFrame number={4} title="Discovery" detail={`(${peers.length} peers)`} isFocused={isFocused} width={width} height={height}>
			{peers.length === 0 ? (
				<EmptyState text="no peers yet — start discovery with :discover or --discover" />
			) : (
				<Box flexDirection="column">
					{peers.slice(start, end).map((peer, index) => (
						<Text key={peer.id} wrap="truncate-end" dimColor={peer.state !== 'fresh'} bold={isFocused && start + index === position}>
							{isFocused && start + index === position ? '› ' : '  '}
							{fit(safeText(peer.name, nameWidth), nameWidth)} {safeText(peer.address)} {peer.ports.join(',')}{' '}
							{peer.rttMs === undefined ? '' : `${peer.rttMs.toFixed(1)} ms `}
							{peer.state} {formatTime(peer.lastSeenAt).slice(0, 8)}
						</Text>
					))}
				</Box>
			)}
		</PaneFrame>
	);
}
