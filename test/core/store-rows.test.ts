import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {Bus, createStore} from '../../source/core/index.js';

/**
 * The Connections rows are grown between publishes (the rows that changed
 * replaced where they stand, new ones after them) instead of made again
 * from every connection. Checked against what the events say, publish by
 * publish, for random sequences of opens, data, closes and clear-closed:
 * the ids in order, each row's bytes and state, the open count, and that a
 * snapshot once published never changes.
 */
type Step = {kind: 'open'} | {kind: 'data'; pick: number; bytes: number} | {kind: 'close'; pick: number} | {kind: 'clear'} | {kind: 'publish'};

const step: fc.Arbitrary<Step> = fc.oneof(
	{arbitrary: fc.constant({kind: 'open'} as const), weight: 4},
	{arbitrary: fc.record({kind: fc.constant('data' as const), pick: fc.nat(), bytes: fc.integer({min: 1, max: 5000})}), weight: 4},
	{arbitrary: fc.record({kind: fc.constant('close' as const), pick: fc.nat()}), weight: 2},
	{arbitrary: fc.constant({kind: 'clear'} as const), weight: 1},
	{arbitrary: fc.constant({kind: 'publish'} as const), weight: 3},
);

describe('connection rows across publishes', () => {
	it('always match the events: order, bytes, state and open count, and published snapshots never change', () => {
		fc.assert(fc.property(fc.array(step, {maxLength: 80}), (steps) => {
			const bus = new Bus();
			const store = createStore(bus, {publishIntervalMs: 1_000_000});
			// What the events say: ids in the order opened, bytes in, closed or not.
			const expected = new Map<string, {bytesIn: number; isClosed: boolean}>();
			const published: Array<{snapshot: ReturnType<typeof store.getSnapshot>; rows: string}> = [];
			let next = 1;
			const pick = (index: number) => [...expected.keys()][index % Math.max(1, expected.size)];
			for (const each of [...steps, {kind: 'publish'} as const]) {
				switch (each.kind) {
					case 'open': {
						const connection = `C${next++}`;
						expected.set(connection, {bytesIn: 0, isClosed: false});
						bus.emit({type: 'connection-opened', connection, listener: null, origin: 'dialed', local: {address: '127.0.0.1', port: 1}, remote: {address: '127.0.0.1', port: 2}, framing: 'raw', isHalfOpen: false});
						break;
					}

					case 'data': {
						const connection = pick(each.pick);
						const state = connection === undefined ? undefined : expected.get(connection);
						if (connection && state && !state.isClosed) {
							state.bytesIn += each.bytes;
							bus.emit({type: 'data-received', connection, bytes: each.bytes, data: Buffer.alloc(Math.min(each.bytes, 64), 'x')});
						}

						break;
					}

					case 'close': {
						const connection = pick(each.pick);
						const state = connection === undefined ? undefined : expected.get(connection);
						if (connection && state && !state.isClosed) {
							state.isClosed = true;
							bus.emit({type: 'connection-closed', connection, reason: 'closed', bytesIn: state.bytesIn, bytesOut: 0, unsent: 0});
						}

						break;
					}

					case 'clear': {
						store.clearClosed();
						for (const [connection, state] of expected) {
							if (state.isClosed) {
								expected.delete(connection);
							}
						}

						break;
					}

					case 'publish': {
						store.flush();
						const snapshot = store.getSnapshot();
						const rows = snapshot.connections.map((row) => ({id: row.id, bytesIn: row.bytesIn, isClosed: row.closedAt !== undefined}));
						expect(rows).toEqual([...expected].map(([id, state]) => ({id, ...state})));
						expect(snapshot.totals.connections).toBe([...expected.values()].filter((state) => !state.isClosed).length);
						expect(Object.isFrozen(snapshot.connections)).toBe(true);
						published.push({snapshot, rows: JSON.stringify(snapshot.connections)});
						break;
					}
				}
			}

			for (const {snapshot, rows} of published) {
				expect(JSON.stringify(snapshot.connections)).toBe(rows);
			}

			store.dispose();
		}), {seed: 18, numRuns: 300});
	});
});
