import {afterEach, describe, expect, it, vi} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import type {BusEvent} from '../../source/core/events.js';
import {Responder} from '../../source/core/respond/responder.js';

/**
 * Skips held back by the one-a-second limit must all be reported, even when
 * the timer that reports them fires a little before the second is up by the
 * wall clock (Node runs timers from the event loop's cached time). Driven
 * with fake timers and clock, so the early firing is exact.
 */
describe('auto-reply skips', () => {
	afterEach(() => {
		vi.useRealTimers();
	});

	it('a flood\'s skips are all reported when the report timer fires 5 ms early by the wall clock', () => {
		vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date']});
		const bus = new Bus();
		const events: BusEvent[] = [];
		bus.subscribe((event) => events.push(event));
		const sent: Buffer[] = [];
		const responder = new Responder(bus, {
			send() {},
			whenDrained: () => undefined,
			close() {},
			reset() {},
			sendTo(_, __, bytes) {
				sent.push(bytes);
			},
			describe: () => undefined,
		});
		responder.add({pattern: '.*', reply: 'ok'});
		const flood = 50;
		for (let index = 0; index < flood; index++) {
			bus.emit({type: 'datagram-received', socket: 'U1', from: {address: '127.0.0.1', port: 40_000}, bytes: 4, data: Buffer.from('ping')});
		}

		const skipped = flood - sent.length;
		const reported = () => events.filter((event) => event.type === 'rule-skipped').reduce((sum, event) => sum + (event.type === 'rule-skipped' ? event.count : 0), 0);
		expect(skipped).toBeGreaterThan(1);
		// The first skip at once, the rest held back for their second.
		expect(reported()).toBe(1);
		vi.setSystemTime(Date.now() - 5);
		vi.advanceTimersByTime(1000);
		vi.advanceTimersByTime(10);
		expect(reported()).toBe(skipped);
		responder.dispose();
	});
});
