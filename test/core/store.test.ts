import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {Bus, createCore, createStore, type Core, type Store} from '../../source/core/index.js';
import {record, until} from '../helpers/recorder.js';

const disposers: Array<() => unknown> = [];
afterEach(async () => {
	for (const dispose of disposers.splice(0).reverse()) {
		await dispose();
	}
});

function track(core: Core, store: Store): void {
	disposers.push(async () => core.closeAll(100), () => store.dispose());
}

function fakeData(bus: Bus, connection: string, bytes: number): void {
	bus.emit({type: 'data-received', connection, bytes, data: Buffer.alloc(bytes, 'x')});
}

function open(bus: Bus, connection: string): void {
	bus.emit({
		type: 'connection-opened',
		connection,
		listener: null,
		origin: 'dialed',
		local: {address: '127.0.0.1', port: 1},
		remote: {address: '127.0.0.1', port: 2},
		framing: 'raw',
		isHalfOpen: false,
	});
}

describe('store', () => {
	it('publishes at most once per interval however many events arrive, with exact counters', async () => {
		const bus = new Bus();
		const store = createStore(bus, {publishIntervalMs: 50});
		disposers.push(() => store.dispose());
		let publishes = 0;
		store.subscribe(() => publishes++);
		open(bus, 'C1');
		const started = Date.now();
		let sent = 0;
		while (Date.now() - started < 300) {
			fakeData(bus, 'C1', 10);
			sent += 10;
			await new Promise((resolve) => setImmediate(resolve));
		}

		store.flush();
		const elapsed = Date.now() - started;
		// One publish per 50 ms window at most, plus the first and the flush.
		expect(publishes).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 2);
		expect(publishes).toBeGreaterThan(1);
		expect(store.getSnapshot().connections[0]!.bytesIn).toBe(sent);
		expect(store.getSnapshot().totals.bytesIn).toBe(sent);
		console.log(`${sent / 10} events in ${elapsed} ms → ${publishes} publishes`);
	});

	it('returns the same snapshot until the next publish and reuses unchanged rows by reference', () => {
		const bus = new Bus();
		const store = createStore(bus, {publishIntervalMs: 10_000});
		disposers.push(() => store.dispose());
		open(bus, 'C1');
		open(bus, 'C2');
		store.flush();
		const first = store.getSnapshot();
		expect(store.getSnapshot()).toBe(first);
		fakeData(bus, 'C2', 5);
		expect(store.getSnapshot()).toBe(first);
		store.flush();
		const second = store.getSnapshot();
		expect(second).not.toBe(first);
		expect(second.connections[0]).toBe(first.connections[0]);
		expect(second.connections[1]).not.toBe(first.connections[1]);
		expect(second.connections[1]!.bytesIn).toBe(5);
		expect(second.listeners).toBe(first.listeners);
		expect(Object.isFrozen(second)).toBe(true);
	});

	it('bounds logs in bytes, counts what it evicted, and keeps counters exact', () => {
		const bus = new Bus();
		const store = createStore(bus, {publishIntervalMs: 10_000, logBytes: 64 * 1024, logEntryBytes: 1024});
		disposers.push(() => store.dispose());
		open(bus, 'C1');
		open(bus, 'C2');
		for (let index = 0; index < 1000; index++) {
			fakeData(bus, index % 2 === 0 ? 'C1' : 'C2', 4096);
		}

		store.flush();
		const snapshot = store.getSnapshot();
		const c1 = snapshot.logs.get('C1')!;
		const c2 = snapshot.logs.get('C2')!;
		// Each entry keeps at most 1 KiB of its 4 KiB chunk, and the total stays under the budget.
		expect(c1.at(c1.length - 1)!.bytes).toBe(4096);
		expect(c1.at(c1.length - 1)!.data!.length).toBe(1024);
		expect((c1.length + c2.length) * 1024).toBeLessThanOrEqual(64 * 1024);
		expect(c1.evicted + c2.evicted).toBe(snapshot.totals.evictedEntries);
		expect(snapshot.totals.evictedEntries).toBeGreaterThan(900);
		// Eviction is oldest first across sockets; counters are untouched by it.
		expect(snapshot.connections[0]!.bytesIn).toBe(500 * 4096);
		expect(snapshot.totals.bytesIn).toBe(1000 * 4096);
		// The newest entries survive.
		expect(c2.at(c2.length - 1)!.seq).toBe(bus.lastSeq);
	});

	it('a published log view does not change when the log grows or evicts later', () => {
		const bus = new Bus();
		const store = createStore(bus, {publishIntervalMs: 10_000, logBytes: 10 * 1024, logEntryBytes: 512});
		disposers.push(() => store.dispose());
		open(bus, 'C1');
		for (let index = 0; index < 5; index++) {
			fakeData(bus, 'C1', 100);
		}

		store.flush();
		const view = store.getSnapshot().logs.get('C1')!;
		const before = view.slice().map((entry) => entry.seq);
		for (let index = 0; index < 5000; index++) {
			fakeData(bus, 'C1', 100);
		}

		store.flush();
		expect(view.slice().map((entry) => entry.seq)).toEqual(before);
		expect(store.getSnapshot().logs.get('C1')!.evicted).toBeGreaterThan(0);
	});

	it('folds a live connection: the peer\'s FIN, the close that follows by itself, and the socket log', async () => {
		const core = createCore();
		const store = createStore(core.bus, {publishIntervalMs: 20});
		track(core, store);
		const events = record(core.bus);
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			socket.end('hi');
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		disposers.push(async () => new Promise((resolve) => server.close(resolve)));
		const id = core.connect('127.0.0.1', (server.address() as net.AddressInfo).port)!;
		await events.waitFor('connection-half-closed', (event) => event.by === 'remote');
		// Nobody closes it: a peer's FIN closes the connection once its (empty) queue is sent.
		await events.waitFor('connection-closed');
		await until(() => store.getSnapshot().connections[0]?.state === 'closed', () => 'closed row');
		const row = store.getSnapshot().connections[0]!;
		expect(row).toMatchObject({bytesIn: 2, bytesOut: 0, closeReason: 'closed', queued: 0});
		const log = store.getSnapshot().logs.get(id)!.slice();
		expect(log.find((entry) => entry.direction === 'in')!.data!.toString()).toBe('hi');
		expect(log.some((entry) => entry.kind === 'note' && /peer sent FIN/.test(entry.text!))).toBe(true);
		store.clearClosed();
		store.flush();
		expect(store.getSnapshot().connections).toHaveLength(0);
		expect(store.getSnapshot().logs.has(id)).toBe(false);
	});

	it('failures become notices for the status area', async () => {
		const bus = new Bus();
		const store = createStore(bus, {publishIntervalMs: 10_000});
		disposers.push(() => store.dispose());
		bus.emit({type: 'socket-failed', target: 'C4', code: 'ECONNREFUSED', message: 'connection refused by 127.0.0.1:9 — nothing is listening there'});
		bus.emit({type: 'command-failed', ref: null, code: 'BAD_PORT', message: 'port 70000 is out of range'});
		store.flush();
		expect(store.getSnapshot().notices.map((notice) => notice.code)).toEqual(['ECONNREFUSED', 'BAD_PORT']);
		expect(store.getSnapshot().logs.get('C4')!.at(0)!.isError).toBe(true);
	});
});
