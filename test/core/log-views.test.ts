import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {emptyLogView, type LogView} from '../../source/core/store/log.js';
import {LogViews} from '../../source/core/store/log-views.js';

/**
 * A snapshot's log views share what did not change with the snapshot before
 * (an overlay per publish, flattened every 32). Checked against a plain Map
 * copied at every step, as the store did before: every version answers
 * get, has, size and iteration the same, long after later versions were made.
 */
describe('log views', () => {
	it('every version equals a copied map, across 200 changes and the flattenings between', () => {
		// Distinct view objects stand for the logs.
		const views = Array.from({length: 8}, () => Object.create(emptyLogView) as LogView);
		const change = fc.array(fc.tuple(fc.integer({min: 0, max: 40}), fc.integer({min: -1, max: 7})), {minLength: 1, maxLength: 4});
		fc.assert(fc.property(fc.array(change, {maxLength: 200}), (changes) => {
			let map = LogViews.empty;
			let reference = new Map<string, LogView>();
			const versions: Array<{map: LogViews; reference: Map<string, LogView>}> = [{map, reference}];
			for (const batch of changes) {
				const next = new Map<string, LogView | undefined>();
				reference = new Map(reference);
				for (const [socket, view] of batch) {
					const id = `C${socket}`;
					next.set(id, view < 0 ? undefined : views[view]);
					if (view < 0) {
						reference.delete(id);
					} else {
						reference.set(id, views[view]!);
					}
				}

				map = map.with(next);
				versions.push({map, reference});
			}

			for (const {map: version, reference: expected} of versions) {
				for (let socket = 0; socket <= 40; socket++) {
					expect(version.get(`C${socket}`)).toBe(expected.get(`C${socket}`));
					expect(version.has(`C${socket}`)).toBe(expected.has(`C${socket}`));
				}

				expect(version.size).toBe(expected.size);
				expect(new Map(version)).toEqual(expected);
			}
		}), {seed: 18, numRuns: 100});
	});
});
