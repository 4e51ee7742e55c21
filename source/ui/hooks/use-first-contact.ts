import {useLayoutEffect, useRef} from 'react';
import type {ConnectionRow, UdpSocketRow} from '../../core/index.js';
import type {DashboardStore} from './use-dashboard-state.js';

/**
 * First contact: the first connection accepted or dialed, and the first UDP
 * socket dialed (-u HOST PORT) or heard from, is shown in the Log (and gets
 * the cursor) unless a connection or UDP socket is shown already or the person
 * chose what is; so `s` sends to it at once. Layout effects, as the cursor's
 * landing in the app: they run with the render that first shows the row, so
 * no key can come between them (a j typed then was undone by the move,
 * test/ui/scale). `isKnown` says whether a socket still has a row.
 */
export function useFirstContact(
	connections: readonly ConnectionRow[],
	udpSockets: readonly UdpSocketRow[],
	{current, dispatch}: Pick<DashboardStore, 'current' | 'dispatch'>,
	isKnown: (id: string) => boolean,
): void {
	/** Nothing the person chose, and no connection or UDP socket in the Log (a listener's log gives way). */
	const isOpenToContact = () => {
		const now = current();
		const isShowingSocket = now.selected !== undefined && !now.selected.startsWith('L') && isKnown(now.selected);
		return !isShowingSocket && !now.isSelectionChosen;
	};

	const newestSeen = useRef(0);
	useLayoutEffect(() => {
		const newest = connections.at(-1);
		const number = newest === undefined ? 0 : Number(newest.id.slice(1));
		if (number <= newestSeen.current) {
			return;
		}

		const first = connections.find((row) => Number(row.id.slice(1)) > newestSeen.current);
		newestSeen.current = number;
		if (first && isOpenToContact()) {
			// Half of a relay: the relay's log, both ways, is what there is to see.
			dispatch({type: 'select', id: first.relay ?? first.id, isCursorMoved: true});
		}
		// isOpenToContact reads the rows this effect runs for.
	}, [connections, current, dispatch]);

	// A UDP socket is its own conversation: it counts once it has a peer (dialed, or connected with
	// :udpconnect) or has heard a datagram; each socket is looked at once.
	const udpSeen = useRef(new Set<string>());
	useLayoutEffect(() => {
		const isInContact = (row: UdpSocketRow) => row.remote !== undefined || row.datagramsIn > 0;
		const first = udpSockets.find((row) => isInContact(row) && !udpSeen.current.has(row.id));
		if (first === undefined) {
			return;
		}

		for (const row of udpSockets) {
			if (isInContact(row)) {
				udpSeen.current.add(row.id);
			}
		}

		if (isOpenToContact()) {
			dispatch({type: 'select', id: first.id, isCursorMoved: true});
		}
		// isOpenToContact reads the rows this effect runs for.
	}, [udpSockets, current, dispatch]);
}
