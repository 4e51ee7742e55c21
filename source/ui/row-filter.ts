import type {ConnectionRow, ListenerRow, UdpSocketRow} from '../core/index.js';
import {formatEndpoint} from './format.js';

/**
 * Filters for the Listeners and Connections panes: every word typed must
 * appear (case-insensitively) in the row's id, addresses, state, origin or
 * framing (a UDP socket: `udp`, `broadcast` when on, its peer). An empty filter returns the same array, so nothing re-renders.
 */

function wordsOf(filter: string): string[] {
	return filter.toLowerCase().split(/\s+/).filter((word) => word !== '');
}

function matchesAll(text: string, words: readonly string[]): boolean {
	return words.every((word) => text.includes(word));
}

/** The listeners that match `filter`. */
export function filterListeners(rows: readonly ListenerRow[], filter: string): readonly ListenerRow[] {
	const words = wordsOf(filter);
	if (words.length === 0) {
		return rows;
	}

	return rows.filter((row) => matchesAll(`${row.id} ${formatEndpoint(row)} ${row.framing} ${row.state}`.toLowerCase(), words));
}

/** The connections that match `filter`. */
export function filterConnections(rows: readonly ConnectionRow[], filter: string): readonly ConnectionRow[] {
	const words = wordsOf(filter);
	if (words.length === 0) {
		return rows;
	}

	return rows.filter((row) =>
		matchesAll(`${row.id} ${formatEndpoint(row.local)} ${formatEndpoint(row.remote)} ${row.origin} ${row.state} ${row.framing}`.toLowerCase(), words),
	);
}

/** The UDP sockets that match `filter` (they share the Listeners pane, and its filter). */
export function filterUdpSockets(rows: readonly UdpSocketRow[], filter: string): readonly UdpSocketRow[] {
	const words = wordsOf(filter);
	if (words.length === 0) {
		return rows;
	}

	return rows.filter((row) =>
		matchesAll(`${row.id} ${formatEndpoint(row)} udp ${row.remote ? formatEndpoint(row.remote) : ''} ${row.state} ${row.isBroadcast ? 'broadcast' : ''}`.toLowerCase(), words),
	);
}
