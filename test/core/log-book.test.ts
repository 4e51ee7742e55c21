import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {ENTRY_OVERHEAD, LogBook, type LogEntry, type LogView} from '../../source/core/store/log.js';

type Operation = {kind: 'data'; log: number; size: number; fill: number; isOut: boolean; peer: boolean} | {kind: 'note'; log: number; text: string; isError: boolean} | {kind: 'delete'; log: number} | {kind: 'view'; log: number};

const operation: fc.Arbitrary<Operation> = fc.oneof(
	{weight: 12, arbitrary: fc.record({kind: fc.constant('data' as const), log: fc.nat(3), size: fc.nat(700), fill: fc.nat(255), isOut: fc.boolean(), peer: fc.boolean()})},
	{weight: 3, arbitrary: fc.record({kind: fc.constant('note' as const), log: fc.nat(3), text: fc.string({maxLength: 40}), isError: fc.boolean()})},
	{weight: 1, arbitrary: fc.record({kind: fc.constant('delete' as const), log: fc.nat(3)})},
	{weight: 3, arbitrary: fc.record({kind: fc.constant('view' as const), log: fc.nat(3)})},
);

/** What an entry must read as, as long as it can be read at all. */
type Expected = {seq: number; data: Buffer | undefined; text: string | undefined; bytes: number; isError: boolean; direction: string};

function same(entry: LogEntry, expected: Expected): boolean {
	return entry.seq === expected.seq && entry.bytes === expected.bytes && entry.direction === expected.direction && Boolean(entry.isError) === expected.isError;
}

describe('log book', () => {
	it('keeps the newest entries within the budget, exact bytes for every kept entry, and views that never change', () => {
		fc.assert(
			fc.property(fc.integer({min: 600, max: 8000}), fc.integer({min: 64, max: 512}), fc.array(operation, {minLength: 100, maxLength: 500, size: 'max'}), (budget, entryBytes, operations) => {
				const book = new LogBook(budget, entryBytes);
				const expected = new Map<number, Expected>();
				/** Live entries by log, in order (a model without a budget). */
				const live = new Map<string, number[]>();
				const views: Array<{view: LogView; seqs: number[]; read: Map<number, LogEntry>}> = [];
				let deleted = false;
				let appended = 0;
				let seq = 0;
				for (const op of operations) {
					const id = `L${op.log}`;
					if (op.kind === 'delete') {
						book.delete([id]);
						live.delete(id);
						deleted = true;
						continue;
					}

					if (op.kind === 'view') {
						const view = book.get(id)?.view();
						if (view) {
							// Read half the entries now (they must be exact: kept entries never lose bytes); the
							// rest are first read at the end, when the log and the ring have moved on.
							const read = new Map<number, LogEntry>();
							for (let index = 0; index < view.length; index += 2) {
								const entry = view.at(index)!;
								const want = expected.get(entry.seq)!;
								expect(want.data === undefined ? entry.data === undefined : entry.data?.equals(want.data)).toBe(true);
								read.set(index, entry);
							}

							// The seqs it must show, from the model (reading them all now would make them all early).
							const seqs = live.get(id)!;
							views.push({view, seqs: seqs.slice(seqs.length - view.length), read});
						}

						continue;
					}

					seq++;
					appended++;
					const changed = new Set<string>();
					if (op.kind === 'data') {
						const data = Buffer.alloc(op.size, op.fill);
						const peer = op.peer ? `10.0.0.${op.log}:${op.size}` : undefined;
						book.appendData(id, seq, seq * 10, op.isOut ? 'out' : 'in', op.peer ? 'datagram' : 'chunk', data, op.size, peer, changed);
						expected.set(seq, {seq, data: data.subarray(0, entryBytes), text: peer, bytes: op.size, isError: false, direction: op.isOut ? 'out' : 'in'});
					} else {
						book.appendNote(id, seq, seq * 10, op.text, op.isError, changed);
						expected.set(seq, {seq, data: undefined, text: op.text, bytes: 0, isError: op.isError, direction: 'note'});
					}

					expect(changed.has(id)).toBe(true);
					live.set(id, [...(live.get(id) ?? []), seq]);

					// The budget holds, and counts add up.
					expect(book.bytes).toBeLessThanOrEqual(budget);
					const kept = [...live.keys()].reduce((sum, logId) => sum + book.get(logId)!.view().length, 0);
					if (!deleted) {
						expect(book.evicted + kept).toBe(appended);
					}
				}

				// Kept entries are the newest, oldest first across logs, each read exactly as appended.
				let charged = 0;
				const keptSeqs: number[] = [];
				for (const [logId, seqs] of live) {
					const view = book.get(logId)!.view();
					expect(view.slice().map((entry) => entry.seq)).toEqual(seqs.slice(seqs.length - view.length));
					for (const entry of view.slice()) {
						const want = expected.get(entry.seq)!;
						expect(same(entry, want)).toBe(true);
						expect(entry.text).toBe(want.text);
						expect(want.data === undefined ? entry.data === undefined : entry.data?.equals(want.data)).toBe(true);
						charged += ENTRY_OVERHEAD + (entry.data?.length ?? 0) + (entry.text?.length ?? 0);
						keptSeqs.push(entry.seq);
					}
				}

				expect(charged).toBe(book.bytes);
				const keptSet = new Set(keptSeqs);
				const evictedSeqs = [...live.values()].flat().filter((each) => !keptSet.has(each));
				if (keptSeqs.length > 0 && evictedSeqs.length > 0) {
					expect(Math.max(...evictedSeqs)).toBeLessThan(Math.min(...keptSeqs));
				}

				// A view read late shows the same entries; an entry read early keeps its bytes; an entry
				// read late has its own bytes or says they are gone, never someone else's.
				for (const {view, seqs, read} of views) {
					expect(Array.from({length: view.length}, (_, index) => view.at(index)!.seq)).toEqual(seqs);
					for (let index = 0; index < view.length; index++) {
						const entry = view.at(index)!;
						const want = expected.get(entry.seq)!;
						expect(same(entry, want)).toBe(true);
						const early = read.get(index);
						if (early) {
							expect(entry).toBe(early);
						}

						if (want.data === undefined) {
							expect(entry.data).toBeUndefined();
						} else if (entry.data === undefined) {
							expect(early).toBeUndefined();
							expect(entry.text).toMatch(/evicted: its bytes are no longer kept/);
						} else {
							expect(entry.data.equals(want.data)).toBe(true);
						}
					}
				}
			}),
			// No shrinking: a failing case of hundreds of steps takes minutes to shrink; the first one found is reported.
			{numRuns: 200, endOnFailure: true},
		);
	});

	it('evicts an entry before its bytes are overwritten, even when deleted logs left room in the budget', () => {
		const book = new LogBook(10_000, 1000);
		const changed = new Set<string>();
		book.appendData('kept', 1, 0, 'in', 'chunk', Buffer.alloc(1000, 7), 1000, undefined, changed);
		// Traffic on short-lived sockets whose logs are deleted: the budget never fills, the ring wraps.
		let seq = 1;
		for (let round = 0; round < 10; round++) {
			for (let index = 0; index < 5; index++) {
				book.appendData(`short${round}`, ++seq, 0, 'in', 'chunk', Buffer.alloc(1000, round), 1000, undefined, changed);
			}

			book.delete([`short${round}`]);
			const view = book.get('kept')!.view();
			// The old entry is either kept with its own bytes, or evicted and counted: never someone else's bytes.
			if (view.length === 1) {
				expect(view.at(0)!.data!.equals(Buffer.alloc(1000, 7))).toBe(true);
			} else {
				expect(view.evicted).toBe(1);
			}
		}

		expect(book.get('kept')!.view().evicted).toBe(1);
		expect(book.evicted).toBe(1);
	});
});

