import type {ConnectionRow, RelayRow} from '../core/index.js';

/**
 * One line of the Connections pane: a connection, or a relayed pair shown
 * as one row (issue 13) that expands to its two halves.
 */
export type ConnectionItem =
	| {readonly kind: 'connection'; readonly id: string; readonly row: ConnectionRow; readonly half?: 'client' | 'server'}
	| {
			readonly kind: 'relay';
			readonly id: string;
			readonly relay: RelayRow;
			readonly client: ConnectionRow | undefined;
			readonly server: ConnectionRow | undefined;
			readonly isExpanded: boolean;
	  };

/**
 * The pane's lines from the connections shown (already filtered): a relay
 * takes the place of its first half to appear, and its halves follow it
 * only when it is expanded. Connections of no known relay are as they are.
 */
export function connectionItems(rows: readonly ConnectionRow[], all: readonly ConnectionRow[], relays: readonly RelayRow[], expanded: readonly string[]): readonly ConnectionItem[] {
	if (relays.length === 0) {
		return rows.map((row) => ({kind: 'connection', id: row.id, row}));
	}

	const relayById = new Map(relays.map((relay) => [relay.id, relay]));
	const byId = new Map(all.map((row) => [row.id, row]));
	const shown = new Set<string>();
	const items: ConnectionItem[] = [];
	for (const row of rows) {
		const relay = row.relay === undefined ? undefined : relayById.get(row.relay);
		if (!relay) {
			items.push({kind: 'connection', id: row.id, row});
			continue;
		}

		if (shown.has(relay.id)) {
			continue;
		}

		shown.add(relay.id);
		const client = byId.get(relay.client);
		const server = byId.get(relay.server);
		const isExpanded = expanded.includes(relay.id);
		items.push({kind: 'relay', id: relay.id, relay, client, server, isExpanded});
		if (isExpanded) {
			if (client) {
				items.push({kind: 'connection', id: client.id, row: client, half: 'client'});
			}

			if (server) {
				items.push({kind: 'connection', id: server.id, row: server, half: 'server'});
			}
		}
	}

	return items;
}
