import type {ConnectionRow, ListenerRow, RelayRow, UdpSocketRow} from '../core/index.js';
import {udpAddress} from './components/udp-socket-row.js';
import {formatEndpoint} from './format.js';

/**
 * Words about the dashboard's own sockets that app.tsx shows: the Log's title
 * for a selection, how to reach the first listener, the ids tab completes.
 */

/** One line about socket `id` (a relay, UDP socket, connection or listener), for the Log's title. */
export function describeSocket(id: string | undefined, listeners: readonly ListenerRow[], connections: readonly ConnectionRow[], udpSockets: readonly UdpSocketRow[], relays: readonly RelayRow[] = []): string {
	if (id === undefined) {
		return '';
	}

	const relay = relays.find((row) => row.id === id);
	if (relay) {
		const client = connections.find((row) => row.id === relay.client);
		return `${relay.client} ${formatEndpoint(client?.remote)} ↔ ${relay.server} ${formatEndpoint(relay.target)} ${relay.state}`;
	}

	const udp = udpSockets.find((row) => row.id === id);
	if (udp) {
		return `${udpAddress(udp)} ${udp.state} · broadcast ${udp.isBroadcast ? 'on' : 'off'} · ${udp.datagramsIn} in ${udp.datagramsOut} out`;
	}

	const connection = connections.find((row) => row.id === id);
	if (connection) {
		return `${formatEndpoint(connection.local)} → ${formatEndpoint(connection.remote)} ${connection.state}`;
	}

	const listener = listeners.find((row) => row.id === id);
	return listener ? `${formatEndpoint(listener)} ${listener.state}` : '';
}

/** `nc 127.0.0.1 8080` for the first open listener (a wildcard one is reached on loopback). */
export function howToConnect(listeners: readonly ListenerRow[]): string | undefined {
	const listener = listeners.find((row) => row.state === 'listening');
	if (!listener) {
		return undefined;
	}

	const host = listener.address === '0.0.0.0' ? '127.0.0.1' : listener.address === '::' ? '::1' : listener.address;
	return `nc ${host} ${listener.port}`;
}

/** Ids of open sockets, for tab completion (built only when tab is pressed). */
export function openIds(listeners: readonly ListenerRow[], connections: readonly ConnectionRow[], udpSockets: readonly UdpSocketRow[]): string[] {
	const ids: string[] = [];
	for (const row of [...listeners, ...connections, ...udpSockets]) {
		if (row.closedAt === undefined) {
			ids.push(row.id);
		}
	}

	return ids;
}
