import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core, type CoreOptions} from '../../source/core/index.js';
import {youngGenerationBytes} from '../../source/core/memory-return.js';
import {spawnJson} from '../helpers/cli.js';
import {record, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options: CoreOptions): {core: Core; events: Recorder} {
	const core = createCore(options);
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/**
 * What a burst of connections does to V8, without the sockets: objects that
 * live on, made fast, so most of each young collection survives and V8
 * grows its young generation. Kept alive for the rest of the test.
 */
function burst(): unknown[] {
	const kept: unknown[] = [];
	for (let index = 0; index < 1_500_000; index++) {
		kept.push({index, text: `C${index}`});
	}

	return kept;
}

const MiB = 1024 * 1024;

describe('memory a burst left taken is handed back once the bus is quiet', () => {
	it('after a quiet watch interval: one memory-returned, the young generation back under 16 MiB, and no second one within the interval', async () => {
		const {events} = setup({watchIntervalMs: 100});
		const kept = burst();
		// The premise: the burst grew V8's young generation past the threshold.
		expect(youngGenerationBytes()).toBeGreaterThan(16 * MiB);
		const returned = await events.waitFor('memory-returned', undefined, 5000);
		expect(returned.youngBefore).toBeGreaterThan(16 * MiB);
		expect(returned.youngAfter).toBeLessThan(returned.youngBefore);
		expect(returned.youngAfter).toBeLessThanOrEqual(16 * MiB);
		expect(returned.ms).toBeGreaterThanOrEqual(0);
		expect(kept).toHaveLength(1_500_000);
		// Grown again, but within 30 s of the last: left alone.
		const again = burst();
		await new Promise((resolve) => setTimeout(resolve, 500));
		expect(events.of('memory-returned')).toHaveLength(1);
		expect(again).toHaveLength(1_500_000);
	});

	it('not while events flow, and not when turned off', async () => {
		const {core, events} = setup({watchIntervalMs: 100});
		const kept = burst();
		// An event every 20 ms: the bus is never quiet for a watch interval.
		const timer = setInterval(() => {
			core.bus.emit({type: 'connection-unstalled', connection: 'C0'});
		}, 20);
		cleanups.push(() => {
			clearInterval(timer);
		});
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(events.of('memory-returned')).toHaveLength(0);

		const off = setup({watchIntervalMs: 100, returnMemory: false});
		clearInterval(timer);
		await new Promise((resolve) => setTimeout(resolve, 600));
		expect(off.events.of('memory-returned')).toHaveLength(0);
		// The first core, quiet now, does it.
		await events.waitFor('memory-returned', undefined, 5000);
		expect(kept).toHaveLength(1_500_000);
	});

	it('netdash --json, after 6,000 clients connect at once: the RSS falls, and every client is still connected', async () => {
		const netdash = spawnJson(['--listen', '0', '--max-conns', '10000']);
		cleanups.push(() => netdash.child.kill('SIGKILL'));
		const {port} = await netdash.waitFor((event) => event['type'] === 'listener-opened', 'the listener');
		const clients: net.Socket[] = [];
		cleanups.push(() => {
			for (const socket of clients) {
				socket.destroy();
			}
		});
		for (let index = 0; index < 6000; index++) {
			const socket = net.connect(port as number, '127.0.0.1');
			socket.on('error', () => {});
			clients.push(socket);
		}

		const deadline = Date.now() + 30_000;
		while (netdash.events.filter((event) => event['type'] === 'connection-opened').length < 6000) {
			expect(Date.now(), 'all 6,000 accepted within 30 s').toBeLessThan(deadline);
			await new Promise((resolve) => setTimeout(resolve, 50));
		}

		const returned = await netdash.waitFor((event) => event['type'] === 'memory-returned', 'memory-returned', 10_000);
		expect(returned['rssAfter']).toBeLessThan(returned['rssBefore']);
		expect(returned['youngAfter']).toBeLessThan(returned['youngBefore']);
		// The pause closed nothing.
		const last = clients.at(-1)!;
		const opened = netdash.events.find((event) => event['type'] === 'connection-opened' && event['remote'].port === last.localPort)!;
		netdash.send({cmd: 'send', connection: opened['connection'], text: 'still here'});
		const data = await new Promise<string>((resolve) => last.once('data', (chunk: Buffer) => resolve(chunk.toString())));
		expect(data).toBe('still here');
		expect(netdash.events.filter((event) => event['type'] === 'connection-closed')).toHaveLength(0);
	}, 60_000);
});
