import {once} from 'node:events';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type BusEvent, type Core, type EventOf} from '../../source/core/index.js';
import {CONNECTION_LOST_CODES} from '../../source/core/errors.js';

/** Fixed so a failure can be replayed; printed with every figure. */
const seed = 0x5e_ed_00_05;
/** Clients at once: each costs two descriptors in this process; well inside even a 1024 `ulimit -n`. */
const batchSize = 100;

/** mulberry32: a small seeded PRNG, so the offsets are random but the same on every run. */
function prng(state: number): (below: number) => number {
	return (below) => {
		state = (state + 0x6d_2b_79_f5) | 0;
		let t = Math.imul(state ^ (state >>> 15), 1 | state);
		t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
		return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * below);
	};
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/** Counts errors that escape to the process (what would crash a user's netdash) while a test runs. */
function countUnhandled(): string[] {
	const seen: string[] = [];
	const onError = (error: unknown) => {
		seen.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
	};

	process.on('uncaughtException', onError);
	process.on('unhandledRejection', onError);
	cleanups.push(() => {
		process.off('uncaughtException', onError);
		process.off('unhandledRejection', onError);
	});
	return seen;
}

/**
 * What netdash reported, per connection, as it happened: accepted ids by the
 * client's port, bytes of `data-received`, every `connection-closed`. Waits
 * are woken by events, so a hundred clients can wait at once without polling.
 */
type Tracker = {
	/** Every connection netdash accepted. */
	readonly accepted: Set<string>;
	/** The accepted connection whose peer has this port, taken once: a later client may get the same port. */
	claim(clientPort: number): string | undefined;
	readonly received: Map<string, number>;
	/** Bytes of `data-sent` per connection. */
	readonly sent: Map<string, number>;
	readonly closed: Map<string, Array<EventOf<'connection-closed'>>>;
	readonly failed: Map<string, Array<EventOf<'socket-failed'>>>;
	readonly refused: number;
	when<T>(value: () => T | undefined, what: () => string, timeoutMs?: number): Promise<T>;
};

function track(core: Core): Tracker {
	const accepted = new Set<string>();
	const byClientPort = new Map<number, string>();
	const received = new Map<string, number>();
	const sent = new Map<string, number>();
	const closed = new Map<string, Array<EventOf<'connection-closed'>>>();
	const failed = new Map<string, Array<EventOf<'socket-failed'>>>();
	const checks = new Set<() => void>();
	let refused = 0;
	const unsubscribe = core.bus.subscribe((event: BusEvent) => {
		switch (event.type) {
			case 'connection-opened': {
				if (event.origin === 'accepted') {
					accepted.add(event.connection);
					byClientPort.set(event.remote.port, event.connection);
				}

				break;
			}

			case 'data-received': {
				received.set(event.connection, (received.get(event.connection) ?? 0) + event.bytes);
				break;
			}

			case 'data-sent': {
				sent.set(event.connection, (sent.get(event.connection) ?? 0) + event.bytes);
				break;
			}

			case 'connection-closed': {
				closed.set(event.connection, [...(closed.get(event.connection) ?? []), event]);
				break;
			}

			case 'socket-failed': {
				failed.set(event.target, [...(failed.get(event.target) ?? []), event]);
				break;
			}

			case 'connection-refused': {
				refused++;
				break;
			}

			default:
		}

		for (const check of checks) {
			check();
		}
	});
	cleanups.push(unsubscribe);

	return {
		accepted,
		claim(clientPort) {
			const id = byClientPort.get(clientPort);
			byClientPort.delete(clientPort);
			return id;
		},
		received,
		sent,
		closed,
		failed,
		get refused() {
			return refused;
		},
		async when(value, what, timeoutMs = 10_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = value();
					if (found !== undefined) {
						finish();
						resolve(found);
					}
				};

				const timer = setTimeout(() => {
					finish();
					reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`));
				}, timeoutMs);
				const finish = () => {
					clearTimeout(timer);
					checks.delete(check);
				};

				checks.add(check);
				check();
			});
		},
	};
}

async function listen(core: Core): Promise<number> {
	const opened = new Promise<number>((resolve) => {
		const stop = core.bus.subscribe((event) => {
			if (event.type === 'listener-opened') {
				stop();
				resolve(event.port);
			}
		});
	});
	core.listen('127.0.0.1', 0);
	return opened;
}

function setup(options: Parameters<typeof createCore>[0] = {}): Core {
	// Room for a whole batch (the default limit is 100 per listener) so no client is refused.
	const core = createCore({admission: {maxConnections: batchSize * 2}, ...options});
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return core;
}

/** A raw client whose errors are recorded, never thrown; the socket is destroyed after the test whatever happens. */
async function rawClient(port: number, clientErrors: string[]): Promise<net.Socket> {
	const socket = net.connect({port, host: '127.0.0.1'});
	socket.on('error', (error: NodeJS.ErrnoException) => {
		clientErrors.push(error.code ?? error.message);
	});
	cleanups.push(() => socket.destroy());
	await once(socket, 'connect');
	return socket;
}

async function inBatches(count: number, run: (index: number) => Promise<void>, size = batchSize): Promise<void> {
	for (let start = 0; start < count; start += size) {
		await Promise.all(Array.from({length: Math.min(size, count - start)}, async (_, offset) => run(start + offset)));
	}
}

function tally(values: Iterable<string>): string {
	const counts = new Map<string, number>();
	for (const value of values) {
		counts.set(value, (counts.get(value) ?? 0) + 1);
	}

	return [...counts].map(([value, count]) => `${value} ${count}`).join(', ');
}

describe('connections reset mid-transfer', () => {
	it('1,000 clients that send a random amount then RST: 0 unhandled errors, one close each, logged bytes equal to what each peer sent', async () => {
		const count = 1000;
		const unhandled = countUnhandled();
		const core = setup();
		const tracker = track(core);
		const port = await listen(core);
		const random = prng(seed);
		// Per client: a transfer of up to 128 KiB in writes of 1 B–16 KiB, cut by the RST at a random offset.
		const plans = Array.from({length: count}, () => {
			const planned = random(128 * 1024 + 1);
			const resetAt = random(planned + 1);
			const writes: number[] = [];
			for (let left = resetAt; left > 0; ) {
				const size = Math.min(left, 1 + random(16 * 1024));
				writes.push(size);
				left -= size;
			}

			return {planned, resetAt, writes};
		});
		const sentBy = new Map<string, number>();
		const clientErrors: string[] = [];
		const clientPorts = new Set<number>();
		const started = performance.now();

		await inBatches(count, async (index) => {
			const plan = plans[index]!;
			const socket = await rawClient(port, clientErrors);
			// Match the client to netdash's connection by the 4-tuple before anything else happens on it.
			clientPorts.add(socket.localPort!);
			const connection = await tracker.when(() => tracker.claim(socket.localPort!), () => `netdash to accept client ${index}`);
			for (const size of plan.writes) {
				socket.write(Buffer.alloc(size, index % 251));
			}

			// The kernel discards unread bytes when a RST arrives; wait until netdash has read every byte
			// we sent, so "bytes the peer sent before its RST" is exact, then cut the transfer there.
			await tracker.when(
				() => ((tracker.received.get(connection) ?? 0) >= plan.resetAt ? true : undefined),
				() => `${connection} to receive ${plan.resetAt} B (has ${tracker.received.get(connection) ?? 0})`,
			);
			socket.resetAndDestroy();
			sentBy.set(connection, plan.resetAt);
			await tracker.when(() => tracker.closed.get(connection), () => `${connection} to close after the RST`);
		});
		const elapsedMs = performance.now() - started;
		// Late duplicates would arrive after the last close: give the loop a turn before counting.
		await new Promise((resolve) => setImmediate(resolve));

		expect(unhandled).toEqual([]);
		expect(tracker.refused).toBe(0);
		expect(sentBy.size).toBe(count);
		expect(tracker.accepted.size).toBe(count);
		// Exactly one close per accepted socket: none missing, none twice, none for a socket never accepted.
		const {accepted} = tracker;
		expect([...tracker.closed.keys()].sort()).toEqual([...accepted].sort());
		const duplicates = [...tracker.closed].filter(([, events]) => events.length !== 1).map(([id]) => id);
		expect(duplicates).toEqual([]);

		const closes = [...tracker.closed.values()].map((events) => events[0]!);
		const wrongBytes = closes
			.filter((closed) => closed.bytesIn !== sentBy.get(closed.connection) || closed.bytesIn !== (tracker.received.get(closed.connection) ?? 0))
			.map((closed) => `${closed.connection}: logged ${closed.bytesIn}, data-received ${tracker.received.get(closed.connection) ?? 0}, peer sent ${sentBy.get(closed.connection)}`);
		expect(wrongBytes).toEqual([]);
		// Every one ended as a reset with its code kept, and a one-line message said so.
		expect(closes.filter((closed) => closed.reason !== 'reset' || !CONNECTION_LOST_CODES.has(closed.code ?? '')).map((closed) => `${closed.connection} ${closed.reason} ${closed.code}`)).toEqual([]);
		expect([...accepted].filter((id) => !/reset by the peer/.test(tracker.failed.get(id)?.[0]?.message ?? ''))).toEqual([]);
		expect(core.connectionIds()).toEqual([]);

		const bytes = closes.reduce((sum, closed) => sum + closed.bytesIn, 0);
		const cutEarly = plans.filter((plan) => plan.resetAt < plan.planned).length;
		console.log(
			`resets (seed ${seed.toString(16)}): ${count} connections in batches of ${batchSize}, ${cutEarly} cut before their planned end, ` +
				`${bytes} B logged = ${bytes} B sent by peers, ${closes.length} closes (${tally(closes.map((closed) => `${closed.reason}/${closed.code}`))}), ` +
				`0 duplicate, ${unhandled.length} unhandled, ${clientErrors.length} client errors, ${count - clientPorts.size} client ports reused, ${Math.round(elapsedMs)} ms`,
		);
	});

	it('200 peers that RST while netdash is sending to them: each is a reset with a code, counters add up, nothing crashes', async () => {
		const count = 200;
		const unhandled = countUnhandled();
		// A non-reading loopback peer lets the kernel take ~3.7 MiB; sends of 4–12 MiB keep netdash's own queue busy.
		const core = setup({maxQueuedBytes: 12 * 1024 * 1024});
		const tracker = track(core);
		const port = await listen(core);
		const random = prng(seed + 1);
		const queuedFor = new Map<string, number>();
		// One buffer for every send: netdash sends without copying and never changes it.
		const payload = Buffer.alloc(12 * 1024 * 1024, 0x2a);
		const readBy = new Map<string, number>();
		const clientErrors: string[] = [];

		await inBatches(count, async (index) => {
			// netdash queues 4–12 MiB; the peer reads a random part of it, then resets.
			const total = 4 * 1024 * 1024 + random(8 * 1024 * 1024);
			const resetAt = random(total);
			const socket = await rawClient(port, clientErrors);
			const connection = await tracker.when(() => tracker.claim(socket.localPort!), () => `netdash to accept client ${index}`);
			// The peer starts reading only once netdash holds a queue, so the RST finds netdash mid-send.
			expect(core.send(connection, payload.subarray(0, total))).toBe(true);
			queuedFor.set(connection, total);
			let read = 0;
			await new Promise<void>((resolve) => {
				socket.on('data', (chunk: Buffer) => {
					read += chunk.length;
					if (read >= resetAt && !socket.destroyed) {
						readBy.set(connection, read);
						socket.resetAndDestroy();
						resolve();
					}
				});
			});
			await tracker.when(() => tracker.closed.get(connection), () => `${connection} to close after the peer's RST (${read} of ${total} B read)`);
		}, 50);
		await new Promise((resolve) => setImmediate(resolve));

		expect(unhandled).toEqual([]);
		expect(tracker.closed.size).toBe(count);
		expect([...tracker.closed].filter(([, events]) => events.length !== 1).map(([id]) => id)).toEqual([]);
		const closes = [...tracker.closed.values()].map((events) => events[0]!);
		expect(closes.filter((closed) => closed.reason !== 'reset' || !CONNECTION_LOST_CODES.has(closed.code ?? '')).map((closed) => `${closed.connection} ${closed.reason} ${closed.code}`)).toEqual([]);
		// Nothing vanishes: what netdash handed the kernel plus what it reports unsent is what it was asked to send.
		// And bytesOut is exact to within the one piece in flight when the RST came (the kernel may have taken
		// part of it): before each piece was counted on its own, peers had read megabytes more than bytesOut.
		const inFlight = 64 * 1024;
		const badCounts = closes
			.filter((closed) => closed.bytesOut + closed.unsent !== queuedFor.get(closed.connection) || (readBy.get(closed.connection) ?? 0) > closed.bytesOut + inFlight)
			.map((closed) => `${closed.connection}: out ${closed.bytesOut} + unsent ${closed.unsent} vs ${queuedFor.get(closed.connection)}, peer read ${readBy.get(closed.connection)}`);
		expect(badCounts).toEqual([]);
		const messages = closes.map((closed) => tracker.failed.get(closed.connection)?.[0]?.message ?? '(none)');
		expect(messages.filter((message) => !/reset by the peer|broken pipe/.test(message))).toEqual([]);

		const unsent = closes.reduce((sum, closed) => sum + closed.unsent, 0);
		const beyond = Math.max(0, ...closes.map((closed) => (readBy.get(closed.connection) ?? 0) - closed.bytesOut));
		console.log(
			`peer resets while netdash sends (seed ${(seed + 1).toString(16)}): ${count} connections, ${tally(closes.map((closed) => `${closed.reason}/${closed.code}`))}, ` +
				`${closes.filter((closed) => closed.unsent > 0).length} with bytes left unsent (${unsent} B, all counted), ` +
				`peers read at most ${beyond} B past bytesOut (the piece in flight), ${unhandled.length} unhandled`,
		);
	});
	it('200 connections reset while data flows both ways (100 by the peer, 100 by netdash): one close each, bytes in the events equal to the counters, 0 unhandled errors', async () => {
		const count = 200;
		const unhandled = countUnhandled();
		const core = setup({maxQueuedBytes: 12 * 1024 * 1024});
		const tracker = track(core);
		const port = await listen(core);
		const random = prng(seed + 2);
		const payload = Buffer.alloc(12 * 1024 * 1024, 0x3c);
		const queuedFor = new Map<string, number>();
		const wroteBy = new Map<string, number>();
		const readBy = new Map<string, number>();
		const byPeer = new Set<string>();
		const clientErrors: string[] = [];

		await inBatches(count, async (index) => {
			// Both ways at once: netdash queues 8–12 MiB to the peer while the peer writes 256 KiB–2 MiB to netdash
			// without waiting, and the RST comes once the peer has read up to 2 MiB: at least 6 MiB of netdash's
			// stream are still queued (the kernel holds ~3.7 MiB for a loopback peer), so bytes are in flight both ways.
			const toPeer = 8 * 1024 * 1024 + random(4 * 1024 * 1024);
			const fromPeer = 256 * 1024 + random(1792 * 1024);
			const resetAt = random(2 * 1024 * 1024);
			const isPeerReset = index % 2 === 0;
			const socket = await rawClient(port, clientErrors);
			const connection = await tracker.when(() => tracker.claim(socket.localPort!), () => `netdash to accept client ${index}`);
			expect(core.send(connection, payload.subarray(0, toPeer))).toBe(true);
			queuedFor.set(connection, toPeer);
			for (let written = 0; written < fromPeer; ) {
				const size = Math.min(fromPeer - written, 1 + random(64 * 1024));
				socket.write(Buffer.alloc(size, index % 251));
				written += size;
			}

			wroteBy.set(connection, fromPeer);
			let read = 0;
			await new Promise<void>((resolve) => {
				socket.on('data', (chunk: Buffer) => {
					read += chunk.length;
					if (read >= resetAt && !readBy.has(connection)) {
						readBy.set(connection, read);
						if (isPeerReset) {
							byPeer.add(connection);
							socket.resetAndDestroy();
						} else {
							socket.pause();
							core.reset(connection);
						}

						resolve();
					}
				});
			});
			await tracker.when(() => tracker.closed.get(connection), () => `${connection} to close after the ${isPeerReset ? 'peer\'s' : 'netdash\'s'} RST (${read} of ${toPeer} B read)`);
		}, 50);
		await new Promise((resolve) => setImmediate(resolve));

		expect(unhandled).toEqual([]);
		expect(tracker.refused).toBe(0);
		expect(tracker.accepted.size).toBe(count);
		expect(byPeer.size).toBe(count / 2);
		// Exactly one close per accepted socket.
		expect([...tracker.closed.keys()].sort()).toEqual([...tracker.accepted].sort());
		expect([...tracker.closed].filter(([, events]) => events.length !== 1).map(([id]) => id)).toEqual([]);
		const closes = [...tracker.closed.values()].map((events) => events[0]!);
		// Every one a reset; the peer's with the code the kernel gave.
		expect(closes.filter((closed) => closed.reason !== 'reset' || (byPeer.has(closed.connection) && !CONNECTION_LOST_CODES.has(closed.code ?? ''))).map((closed) => `${closed.connection} ${closed.reason} ${closed.code}`)).toEqual([]);
		// What the events carried (what the log and --json show) is what the counters say, exactly, each way;
		// nothing vanishes from what netdash was asked to send; nobody got more than was sent to it.
		const inFlight = 64 * 1024;
		const badCounts = closes
			.filter((closed) =>
				closed.bytesIn !== (tracker.received.get(closed.connection) ?? 0)
				|| closed.bytesOut !== (tracker.sent.get(closed.connection) ?? 0)
				|| closed.bytesOut + closed.unsent !== queuedFor.get(closed.connection)
				|| closed.bytesIn > wroteBy.get(closed.connection)!
				|| readBy.get(closed.connection)! > closed.bytesOut + inFlight)
			.map((closed) => `${closed.connection}: in ${closed.bytesIn} (events ${tracker.received.get(closed.connection) ?? 0}, peer wrote ${wroteBy.get(closed.connection)}), out ${closed.bytesOut} (events ${tracker.sent.get(closed.connection) ?? 0}) + unsent ${closed.unsent} vs ${queuedFor.get(closed.connection)}, peer read ${readBy.get(closed.connection)}`);
		expect(badCounts).toEqual([]);
		expect(core.connectionIds()).toEqual([]);

		// In flight both ways: every connection had bytes netdash had not yet handed to the kernel; and peers had
		// written bytes netdash never read.
		const cutOut = closes.filter((closed) => closed.unsent > 0).length;
		const cutIn = closes.filter((closed) => closed.bytesIn < wroteBy.get(closed.connection)!).length;
		expect(cutOut).toBe(count);
		expect(cutIn).toBeGreaterThan(0);
		console.log(
			`resets with data both ways (seed ${(seed + 2).toString(16)}): ${count} connections (${byPeer.size} reset by the peer, ${count - byPeer.size} by netdash), ` +
				`${tally(closes.map((closed) => `${closed.reason}/${closed.code ?? '-'}`))}; ${cutOut} with bytes left unsent by netdash, ${cutIn} with peer bytes never read; ` +
				`in ${closes.reduce((sum, closed) => sum + closed.bytesIn, 0)} B and out ${closes.reduce((sum, closed) => sum + closed.bytesOut, 0)} B, equal to the events; ${unhandled.length} unhandled, ${clientErrors.length} client errors`,
		);
	});
});
