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

	it('keeps a set\'s rules while delivering: one that leaves is not called again, one that joins is, a function subscribed twice is called once', () => {
		const bus = new Bus();
		const calls: string[] = [];
		const emitClosed = (listener: string) => bus.emit({type: 'listener-closed', listener, accepted: 0});
		let stopLate = () => {};
		const late = (event: {seq: number}) => calls.push(`late ${event.seq}`);
		// The first subscriber makes the third leave and a fourth join, during the first event.
		bus.subscribe((event) => {
			calls.push(`first ${event.seq}`);
			if (event.seq === 1) {
				stopThird();
				bus.subscribe((each) => calls.push(`joined ${each.seq}`));
			}
		});
		const twice = (event: {seq: number}) => calls.push(`twice ${event.seq}`);
		const stopTwice = bus.subscribe(twice);
		bus.subscribe(twice);
		const stopThird = bus.subscribe((event) => calls.push(`third ${event.seq}`));
		emitClosed('L1');
		stopLate = bus.subscribe(late);
		emitClosed('L2');
		stopTwice();
		stopTwice();
		stopLate();
		emitClosed('L3');
		expect(calls).toEqual(['first 1', 'twice 1', 'joined 1', 'first 2', 'twice 2', 'joined 2', 'late 2', 'first 3', 'joined 3']);
	});

	it('delivers events emitted by subscribers in order, at any depth, and leaves nothing queued for the next emit', () => {
		const bus = new Bus();
		const seen: number[] = [];
		bus.subscribe((event) => {
			seen.push(event.seq);
			if (event.seq < 5) {
				bus.emit({type: 'listener-closed', listener: `L${event.seq + 1}`, accepted: 0});
				bus.emit({type: 'listener-closed', listener: 'extra', accepted: 0});
			}
		});
		bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0});
		expect(seen).toEqual([...seen].sort((a, b) => a - b));
		const count = seen.length;
		bus.emit({type: 'listener-closed', listener: 'later', accepted: 0});
		expect(seen.length).toBe(count + 1);
	});

	it('lends received bytes only while every subscriber borrows them, counting each subscriber once', () => {
		const bus = new Bus();
		expect(bus.lendsReceivedBytes).toBe(true);
		const leaveBorrower = bus.subscribe(() => undefined, {borrows: true});
		expect(bus.lendsReceivedBytes).toBe(true);
		const keeper = () => undefined;
		const leaveKeeper = bus.subscribe(keeper);
		// Subscribed twice, it is one subscriber: one leave is enough.
		const leaveAgain = bus.subscribe(keeper);
		expect(bus.lendsReceivedBytes).toBe(false);
		leaveKeeper();
		expect(bus.lendsReceivedBytes).toBe(true);
		leaveAgain();
		leaveKeeper();
		expect(bus.lendsReceivedBytes).toBe(true);
		// A keeper leaving while an event is being delivered counts as gone at once.
		let leaveDuring = () => {};
		const states: boolean[] = [];
		leaveDuring = bus.subscribe(() => {
			leaveDuring();
			states.push(bus.lendsReceivedBytes);
		});
		expect(bus.lendsReceivedBytes).toBe(false);
		bus.emit({type: 'listener-closed', listener: 'L1', accepted: 0});
		expect(states).toEqual([true]);
		expect(bus.lendsReceivedBytes).toBe(true);
		leaveBorrower();
		expect(bus.lendsReceivedBytes).toBe(true);
		// A function subscribed as a borrower and again as a keeper keeps: it fails closed.
		const twice = () => undefined;
		bus.subscribe(twice, {borrows: true});
		const leaveTwice = bus.subscribe(twice);
		expect(bus.lendsReceivedBytes).toBe(false);
		leaveTwice();
		expect(bus.lendsReceivedBytes).toBe(true);
	});
});
