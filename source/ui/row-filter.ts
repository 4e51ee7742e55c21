import type {ConnectionRow, ListenerRow, UdpSocketRow} from '../core/index.js';
import {formatEndpoint, framingLabel} from './format.js';

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

	return rows.filter((row) => matchesAll(`${row.id} ${formatEndpoint(row)} ${framingLabel(row.framing, row.isTls)} ${row.state}`.toLowerCase(), words));
}

/**
 * The text a connection's filter words are looked for in, kept per row: the
 * store reuses unchanged rows by reference, so with 100,000 rows each key
 * typed after the first looks through kept strings instead of formatting
 * every row again. A changed row is a new object, and gets its text anew.
 */
const connectionTexts = new WeakMap<ConnectionRow, string>();

function connectionText(row: ConnectionRow): string {
	let text = connectionTexts.get(row);
	if (text === undefined) {
		text = `${row.id} ${formatEndpoint(row.local)} ${formatEndpoint(row.remote)} ${row.origin} ${row.state} ${framingLabel(row.framing, row.tls)}`.toLowerCase();
		connectionTexts.set(row, text);
	}

	return text;
}

/** The connections that match `filter`: one pass, nothing made per row but its text the first time. */
export function filterConnections(rows: readonly ConnectionRow[], filter: string): readonly ConnectionRow[] {
	const words = wordsOf(filter);
	if (words.length === 0) {
		return rows;
	}

	const shown: ConnectionRow[] = [];
	for (const row of rows) {
		if (matchesAll(connectionText(row), words)) {
			shown.push(row);
		}
	}

	return shown;
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
