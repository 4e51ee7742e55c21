import {describe, expect, it} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import type {BusEvent} from '../../source/core/events.js';
import {RECOUNT_MS, ResourceWatch} from '../../source/core/resources.js';

/**
 * The open-files watch counts /proc/self/fd (O(open files), ~18 ms at 17,000
 * on the thread that reads the sockets) only when its estimate crosses a
 * share of the limit, or after RECOUNT_MS: not every second. Driven here
 * with an injected limit, count and clock, so the counts are exact.
 */
function watch(limit: number) {
	const bus = new Bus();
	const events: BusEvent[] = [];
	bus.subscribe((event) => events.push(event));
	let now = 0;
	let open = 0;
	let counts = 0;
	const resources = new ResourceWatch(bus, {
		limit,
		countOpenFiles() {
			counts++;
			return open;
		},
		now: () => now,
	});
	return {
		events,
		resources,
		counts: () => counts,
		/** `others` files besides `sockets` sockets are open; one watch tick a second later. */
		tick(sockets: number, others = 10) {
			open = sockets + others;
			now += 1000;
			resources.check(sockets);
		},
	};
}

describe('open files: counted on crossings, not every second', () => {
	it('counts once, then only when the estimate nears the limit or 30 s went by; warns at 90 % and re-arms below 75 %', () => {
		const limit = 1000;
		const {events, counts, tick} = watch(limit);
		tick(500);
		expect(counts()).toBe(1);
		// 500 → 880 of our sockets, 10 other files: below 90 %, no count for 29 s.
		for (let second = 1; second < RECOUNT_MS / 1000; second++) {
			tick(500 + (second * 10));
		}

		expect(counts()).toBe(1);
		tick(800);
		expect(counts()).toBe(2);
		// The estimate reaches 90 %: counted, and reported.
		tick(895);
		expect(counts()).toBe(3);
		expect(events.filter((event) => event.type === 'resource-exhausted')).toEqual([expect.objectContaining({used: 905, limit})]);
		// Warned: no count while it stays above 75 %, one at the crossing back, and it is re-armed.
		for (let second = 0; second < 10; second++) {
			tick(890 - (second * 10));
		}

		expect(counts()).toBe(3);
		tick(700);
		expect(counts()).toBe(4);
		tick(895);
		expect(counts()).toBe(5);
		expect(events.filter((event) => event.type === 'resource-exhausted')).toHaveLength(2);
		// Far below half the limit it is not counted at all, unless warned: then the fall re-arms it.
		tick(100);
		expect(counts()).toBe(6);
		tick(120);
		expect(counts()).toBe(6);
		tick(950);
		expect(events.filter((event) => event.type === 'resource-exhausted')).toHaveLength(3);
	});

	it('other files opened meanwhile are caught by the next count at the latest', () => {
		const {events, counts, tick} = watch(1000);
		tick(500);
		// Something else takes 420 files while our sockets stay at 500: the estimate does not see it, the recount does.
		for (let second = 1; second <= RECOUNT_MS / 1000; second++) {
			tick(500, 430);
		}

		expect(counts()).toBe(2);
		expect(events.filter((event) => event.type === 'resource-exhausted')).toEqual([expect.objectContaining({used: 930})]);
	});
});
