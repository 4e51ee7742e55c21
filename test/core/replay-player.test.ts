import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest';
import {Bus} from '../../source/core/bus.js';
import type {BusEvent} from '../../source/core/events.js';
import {ReplayPlayer} from '../../source/core/replay/player.js';
import {Store} from '../../source/core/store/store.js';

/** Three recorded events: a listener at t0, a client 5 s later, its bytes a minute in. */
const t0 = Date.UTC(2026, 11, 3, 22, 0, 0);
function recording(): BusEvent[] {
	return [
		{type: 'listener-opened', listener: 'L1', address: '127.0.0.1', port: 4000, framing: 'raw', seq: 1, at: t0},
		{type: 'connection-opened', connection: 'C1', origin: 'accepted', listener: 'L1', local: {address: '127.0.0.1', port: 4000}, remote: {address: '127.0.0.1', port: 50_000}, framing: 'raw', isHalfOpen: false, seq: 2, at: t0 + 5000},
		{type: 'data-received', connection: 'C1', bytes: 3000, data: Buffer.alloc(3000, 0x61), seq: 3, at: t0 + 60_050},
	] as unknown as BusEvent[];
}

describe('a replay plays in recorded time', () => {
	beforeEach(() => {
		vi.useFakeTimers({toFake: ['setTimeout', 'setInterval', 'setImmediate', 'Date']});
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	function play(speed?: number): {seen: BusEvent[]; player: ReplayPlayer} {
		const bus = new Bus();
		const seen: BusEvent[] = [];
		bus.subscribe((event) => seen.push(event));
		const player = new ReplayPlayer(bus, recording(), speed === undefined ? {} : {speed});
		player.start();
		return {seen, player};
	}

	it('at 1× an event recorded 5 s after the first comes 5 s later, keeping its seq and at', async () => {
		const {seen, player} = play();
		await vi.advanceTimersByTimeAsync(1);
		expect(seen.map((event) => event.seq)).toEqual([1]);
		await vi.advanceTimersByTimeAsync(4900);
		expect(seen).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(200);
		expect(seen.map((event) => [event.seq, event.at])).toEqual([
			[1, t0],
			[2, t0 + 5000],
		]);
		expect(player.getState().isEnded).toBe(false);
		await vi.advanceTimersByTimeAsync(55_100);
		expect(seen).toHaveLength(3);
		expect(player.getState()).toMatchObject({isEnded: true, position: t0 + 60_050, delivered: 3});
		player.dispose();
	});

	it('at 10× the same minute takes 6 s, and + from there plays the rest at once', async () => {
		const {seen, player} = play(10);
		await vi.advanceTimersByTimeAsync(499);
		expect(seen).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(2);
		expect(seen).toHaveLength(2);
		player.faster();
		await vi.advanceTimersByTimeAsync(1);
		expect(seen).toHaveLength(3);
		expect(player.getState().speed).toBe(Number.POSITIVE_INFINITY);
		player.dispose();
	});

	it('paused, nothing comes however long it waits; played again, it goes on from where it stood', async () => {
		const {seen, player} = play();
		await vi.advanceTimersByTimeAsync(1000);
		player.togglePause();
		await vi.advanceTimersByTimeAsync(600_000);
		expect(seen).toHaveLength(1);
		expect(player.getState()).toMatchObject({isPaused: true, position: t0 + 1000});
		player.togglePause();
		await vi.advanceTimersByTimeAsync(3900);
		expect(seen).toHaveLength(1);
		await vi.advanceTimersByTimeAsync(200);
		expect(seen).toHaveLength(2);
		player.dispose();
	});

	it('rates are measured in recorded time: 3000 B in one recorded second is 3000 B/s at 10× too', async () => {
		const bus = new Bus();
		const player = new ReplayPlayer(bus, recording(), {speed: 10, rewind: () => store.reset()});
		const store = new Store(bus, {clock: player.now, sampleIntervalMs: 100});
		// The bytes come 60.05 s in: at 10× between the samples taken 6.0 s and 6.1 s of wall time in, 1 s of recorded time apart.
		player.start();
		await vi.advanceTimersByTimeAsync(6150);
		store.flush();
		expect(store.getSnapshot().totals.bytesIn).toBe(3000);
		expect(store.getSnapshot().totals.rateIn).toBeCloseTo(3000, -1);
		// Back to the start: the store is emptied and folded again up to there.
		player.seek(-600_000);
		store.flush();
		expect(store.getSnapshot().totals.bytesIn).toBe(0);
		expect(store.getSnapshot().connections).toEqual([]);
		expect(store.getSnapshot().listeners.map((row) => row.id)).toEqual(['L1']);
		player.dispose();
		store.dispose();
	});
});
