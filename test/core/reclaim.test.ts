import v8 from 'node:v8';
import vm from 'node:vm';
import {describe, expect, it} from 'vitest';
import {Reclaimer} from '../../source/core/reclaim.js';
import {until} from '../helpers/recorder.js';

/*
 * What the reclaimer decides is exact: how many minor collections it asks of
 * V8 for so many bytes read, and how it backs off while they free nothing.
 * What V8 then does (its own minor and full collections, the peak of array
 * buffer memory, with and without the reclaimer) depends on V8 and the
 * machine: `npm run bench -- --only=steadiness` reports those figures.
 */

const MiB = 1024 * 1024;
const read = 64 * 1024;

const gc: () => void = (() => {
	v8.setFlagsFromString('--expose-gc');
	return vm.runInNewContext('gc') as () => void;
})();

/**
 * Full collections until array buffer memory holds only what is live: V8 frees array buffers in the
 * background, so the level can keep falling after a collection (earlier test files left garbage too).
 */
async function settle(): Promise<void> {
	let last = Number.POSITIVE_INFINITY;
	await until(() => {
		gc();
		const level = process.memoryUsage().arrayBuffers;
		const isSettled = Math.abs(last - level) < 64 * 1024;
		last = level;
		return isSettled;
	}, () => `array buffer memory to settle (${last} B)`);
}

/** Feed `bytes` in reads of 64 KiB; `onRead` runs after each; returns the collection count after each MiB. */
function feed(reclaimer: Reclaimer, bytes: number, onRead: () => void = () => {}): number[] {
	const perMiB: number[] = [];
	for (let done = 0; done < bytes; done += read) {
		reclaimer.received(read);
		onRead();
		if ((done + read) % MiB === 0) {
			perMiB.push(reclaimer.collections);
		}
	}

	return perMiB;
}

/** The MiB marks (1-based) at which the count went up. */
function collectedAt(perMiB: number[]): number[] {
	return perMiB.flatMap((count, index) => (count > (perMiB[index - 1] ?? 0) ? [index + 1] : []));
}

describe('reclaiming read buffers', () => {
	it('asks V8 for one minor collection per 16 MiB read: 32 for 512 MiB', () => {
		const reclaimer = new Reclaimer(16 * MiB);
		feed(reclaimer, 512 * MiB);
		expect(reclaimer.collections).toBe(32);
	});

	it('turned off (0 bytes), it never asks', () => {
		const reclaimer = new Reclaimer(0);
		feed(reclaimer, 64 * MiB);
		expect(reclaimer.collections).toBe(0);
	});

	it('while collections free nothing it backs off, doubling the wait after two futile ones in a row, and comes back once they free again', async () => {
		await settle();
		const reclaimer = new Reclaimer(MiB);
		// Every read leaves twice its size reachable: array buffer memory rises by 2 MiB per MiB read, far past the
		// ½ MiB that counts as freeing nothing, so no collection frees any.
		let kept: Buffer[] = [];
		const held = collectedAt(feed(reclaimer, 32 * MiB, () => kept.push(Buffer.alloc(read), Buffer.alloc(read))));
		// At 1 MiB (the first: nothing to compare with), 2 (futile once: same interval), then 3, 5, 9, 17 (doubling).
		expect(held).toEqual([1, 2, 3, 5, 9, 17]);
		expect(reclaimer.collections).toBe(6);

		// The reads are let go and freed: the next collection (due at 33 MiB) finds the level fallen, and every MiB is collected again.
		const levelHeld = process.memoryUsage().arrayBuffers;
		kept = [];
		await settle();
		expect(levelHeld - process.memoryUsage().arrayBuffers).toBeGreaterThan(48 * MiB);
		const perMiB = feed(reclaimer, 16 * MiB);
		expect(perMiB[0]).toBe(7);
		expect(reclaimer.collections).toBe(6 + 16);
	});
});
