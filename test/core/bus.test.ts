import {describe, expect, it} from 'vitest';
import {Bus, type BusEvent} from '../../source/core/index.js';

describe('bus', () => {
	it('numbers events 1, 2, 3 with no gaps and stamps the time', () => {
		const bus = new Bus();
		const seen: BusEvent[] = [];
		bus.subscribe((event) => seen.push(event));
		const before = Date.now();
		for (let index = 0; index < 100; index++) {
			bus.emit({type: 'command-failed', ref: null, code: 'X', message: String(index)});
		}

		expect(seen.map((event) => event.seq)).toEqual(Array.from({length: 100}, (_, index) => index + 1));
		expect(seen.every((event) => event.at >= before && event.at <= Date.now())).toBe(true);
		expect(bus.lastSeq).toBe(100);
	});

	it('a subscriber that throws is isolated: the others still get every event and the failure is reported', () => {
		const bus = new Bus();
		const good: string[] = [];
		bus.subscribe(() => {
			throw new Error('boom\nwith a second line');
		});
		bus.subscribe((event) => good.push(event.type));
		expect(() => bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0})).not.toThrow();
		expect(good).toEqual(['listener-closed', 'subscriber-failed']);
		// The failure report itself failed in the same subscriber: counted, not looped.
		expect(bus.unreportedFailures).toBe(1);
	});

	it('an event emitted from inside a subscriber is delivered after the current one, so every subscriber sees seq order', () => {
		const bus = new Bus();
		const first: number[] = [];
		const second: number[] = [];
		bus.subscribe((event) => {
			first.push(event.seq);
			if (event.seq === 1) {
				bus.emit({type: 'listener-closed', listener: 'L2', accepted: 0});
			}
		});
		bus.subscribe((event) => second.push(event.seq));
		bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0});
		expect(first).toEqual([1, 2]);
		expect(second).toEqual([1, 2]);
	});

	it('unsubscribe stops delivery', () => {
		const bus = new Bus();
		let count = 0;
		const stop = bus.subscribe(() => count++);
		bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0});
		stop();
		bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0});
		expect(count).toBe(1);
	});
});
