import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {emptyLogView, type LogView} from '../../source/core/store/log.js';
import {LogViews} from '../../source/core/store/log-views.js';
import {gcCollector} from '../../source/core/reclaim.js';

/** Every version of a map made from these batches (ids C0…C`ids`) answers exactly as a copied Map does. */
function checkVersions(ids: number, batchSize: number, runs: number): void {
	// Distinct view objects stand for the logs.
	const views = Array.from({length: 8}, () => Object.create(emptyLogView) as LogView);
	const change = fc.array(fc.tuple(fc.integer({min: 0, max: ids}), fc.integer({min: -1, max: 7})), {minLength: 1, maxLength: batchSize});
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
			for (let socket = 0; socket <= ids; socket++) {
				expect(version.get(`C${socket}`)).toBe(expected.get(`C${socket}`));
				expect(version.has(`C${socket}`)).toBe(expected.has(`C${socket}`));
			}

			expect(version.size).toBe(expected.size);
			expect(new Map(version)).toEqual(expected);
		}
	}), {seed: 18, numRuns: runs});
}

/**
 * A snapshot's log views share what did not change with the snapshot before
 * (a small overlay takes the next changes into a copy of itself, larger ones
 * stack, flattened every 32). Checked against a plain Map
 * copied at every step, as the store did before: every version answers
 * get, has, size and iteration the same, long after later versions were made.
 */
describe('log views', () => {
	it('every version equals a copied map, across 200 changes and the flattenings between', () => {
		// Few sockets: the map stays small and takes each change into a copy of itself.
		checkVersions(40, 4, 100);
	});

	it('every version equals a copied map when overlays are large (many sockets change at once)', () => {
		// Up to 1,201 sockets, up to 400 changed a publish: overlays of more than 256 views, chains, flattenings.
		checkVersions(1200, 400, 20);
	});

	it('holds no view that a later one replaced: a flood into one socket does not keep every view of its log alive', async () => {
		const collect = gcCollector();
		expect(collect, 'V8 gc() for the check').toBeTruthy();
		// 2,000 other sockets, so the map is a base with overlays over it, not one small map.
		let map = LogViews.empty.with(new Map(Array.from({length: 2000}, (_, index) => [`C${index}`, Object.create(emptyLogView) as LogView])));
		const replaced: Array<WeakRef<LogView>> = [];
		for (let publish = 0; publish < 20; publish++) {
			const view = Object.create(emptyLogView) as LogView;
			replaced.push(new WeakRef(view));
			map = map.with(new Map([['flood', view]]));
		}

		const latest = replaced.pop()!;
		// Collected in a later turn (WeakRef targets live to the end of the turn that made them).
		await new Promise((resolve) => setImmediate(resolve));
		collect!({type: 'major', flavor: 'last-resort'});
		expect(replaced.filter((reference) => reference.deref() !== undefined)).toHaveLength(0);
		expect(map.get('flood')).toBe(latest.deref());
		expect(map.size).toBe(2001);
	});
});
