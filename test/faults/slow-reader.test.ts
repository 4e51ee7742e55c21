import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore} from '../../source/core/index.js';
import {record, until} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

describe('a slow but steady reader', () => {
	// Regression: Node used to hand the pieces queued behind a busy write to one writev whose
	// callbacks all fired at its end, so a peer reading steadily showed no progress for seconds.
	it('is never marked stalled, and data-sent keeps moving while it reads', async () => {
		const stallMs = 1000;
		const core = createCore({stallTimeoutMs: stallMs, watchIntervalMs: 50, maxQueuedBytes: 32 * 1024 * 1024});
		cleanups.push(async () => {
			await core.closeAll(100);
			core.dispose();
		});
		const events = record(core.bus);
		const total = 16 * 1024 * 1024;
		let read = 0;
		// The peer reads 64 KiB every 10 ms (~6 MiB/s): slower than netdash sends, never stopped.
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			socket.pause();
			const timer = setInterval(() => {
				const chunk = socket.read(64 * 1024) as Buffer | null;
				read += chunk?.length ?? 0;
			}, 10);
			socket.on('close', () => clearInterval(timer));
			cleanups.push(() => {
				clearInterval(timer);
				socket.destroy();
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		cleanups.push(async () => new Promise((resolve) => server.close(resolve)));

		const id = core.connect('127.0.0.1', (server.address() as net.AddressInfo).port)!;
		await events.waitFor('connection-opened');
		const startedAt = Date.now();
		expect(core.send(id, Buffer.alloc(total, 0x61))).toBe(true);
		await until(() => read >= total, () => `the peer to read ${total} B (has ${read})`, 20_000);

		const sent = events.of('data-sent');
		expect(sent.reduce((sum, event) => sum + event.bytes, 0)).toBe(total);
		const times = [startedAt, ...sent.map((event) => event.at)];
		const longestGap = Math.max(...times.slice(1).map((at, index) => at - times[index]!));
		expect(events.of('connection-stalled')).toEqual([]);
		expect(longestGap).toBeLessThan(stallMs);
		console.log(`slow reader: ${total} B read in ${Date.now() - startedAt} ms, ${sent.length} data-sent events, longest gap ${longestGap} ms, 0 stalled (stall timeout ${stallMs} ms)`);
	});
});
