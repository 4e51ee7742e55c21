import {spawn} from 'node:child_process';
import dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import {afterEach, describe, expect, it} from 'vitest';
import type {BusEvent, EventOf} from '../../source/core/index.js';
import {encode, randomInstanceId} from '../../source/core/discovery/codec.js';
import {defaultLimits} from '../../source/core/discovery/protocol.js';
import {ENTRY_OVERHEAD} from '../../source/core/store/log.js';
import {udpSocketDrops} from '../bench/lib/udp-drops.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';
import {until} from '../helpers/recorder.js';
import {boundUdpSocket} from '../helpers/ports.js';

/**
 * Issue 5, hostile input at volume: a UDP flood on a netdash socket, and a
 * flood of malformed datagrams and strangers' announces on the discovery
 * port, with the real dashboard rendered over the same core.
 */

const flooderPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'udp-flooder.ts');
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/** V8's gc(), exposed at run time (vitest gives its workers no --expose-gc). */
const gc: () => void = (() => {
	v8.setFlagsFromString('--expose-gc');
	return vm.runInNewContext('gc') as () => void;
})();

/** Heap plus ArrayBuffer memory (log payloads are Buffers) after a full collection. */
function liveBytes(): number {
	gc();
	const usage = process.memoryUsage();
	return usage.heapUsed + usage.arrayBuffers;
}

/** `/proc/net/snmp` Udp RcvbufErrors, read here independently of netdash's own reader. */
function rcvbufErrors(): number {
	const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
	const names = lines[0]!.trim().split(/\s+/);
	return Number(lines[1]!.trim().split(/\s+/)[names.indexOf('RcvbufErrors')]);
}

const MiB = 1024 * 1024;

async function dashboard(): Promise<Dashboard> {
	// Sample the kernel's drop counter every 100 ms instead of every second.
	const rendered = await renderDashboard({core: {watchIntervalMs: 100}});
	cleanups.push(async () => {
		await rendered.dispose();
		rendered.core.dispose();
	});
	return rendered;
}

/** Events of some types, as they come (a recorder of every event would hold 100,000 payloads itself). */
function watch<T extends BusEvent['type']>(view: Dashboard, types: readonly T[], onEvent: (event: EventOf<T>) => void): void {
	const unsubscribe = view.core.bus.subscribe((event) => {
		if ((types as readonly string[]).includes(event.type)) {
			onEvent(event as EventOf<T>);
		}
	});
	cleanups.push(unsubscribe);
}

async function flood(port: number, count: number, size: number, sockets: number): Promise<{sent: number; failed: number; ms: number}> {
	const child = spawn(process.execPath, [flooderPath, String(port), String(count), String(size), String(sockets)], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	let errors = '';
	child.stdout.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
	if (code !== 0) {
		throw new Error(`flooder exited ${code}: ${errors}`);
	}

	return JSON.parse(output) as {sent: number; failed: number; ms: number};
}

async function udpSocket(address: string): Promise<dgram.Socket> {
	const socket = await boundUdpSocket(address);
	cleanups.push(() => {
		socket.close();
	});
	return socket;
}

/**
 * Send datagrams from their sockets in batches, each batch only once the
 * receiver (this process) has taken the previous one: the kernel drops
 * nothing, so every datagram can be accounted for by source.
 */
async function sendPaced(datagrams: ReadonlyArray<{socket: dgram.Socket; bytes: Buffer}>, port: number, taken: () => number, batch = 64): Promise<void> {
	for (let start = 0; start < datagrams.length; start += batch) {
		await Promise.all(
			datagrams.slice(start, start + batch).map(
				async ({socket, bytes}) =>
					new Promise<void>((resolve, reject) => {
						socket.send(bytes, port, '127.0.0.1', (error) => {
							if (error) {
								reject(error);
							} else {
								resolve();
							}
						});
					}),
			),
		);
		const target = Math.min(datagrams.length, start + batch);
		await until(() => taken() + (udpSocketDrops(port) ?? 0) >= target, () => `${taken()} of ${target} datagrams taken`);
	}
}

describe('UDP under flood', () => {
	it('110,000 datagrams on a netdash UDP socket: memory bounded, kernel drops shown, the dashboard renders and a normal datagram still gets through', async () => {
		const view = await dashboard();
		const {core, store} = view;
		let received = 0;
		let burstReceived = 0;
		let drops: EventOf<'kernel-drops-changed'> | undefined;
		let afterFlood: EventOf<'datagram-received'> | undefined;
		const marker = Buffer.from('a normal datagram after the flood');
		watch(view, ['datagram-received', 'kernel-drops-changed'], (event) => {
			if (event.type === 'kernel-drops-changed') {
				drops = event;
			} else if (event.data.equals(marker)) {
				afterFlood = event;
			} else if (event.socket === id) {
				received++;
			} else {
				burstReceived++;
			}
		});
		// The largest receive buffer the kernel allows (net.core.rmem_max caps it): the flood overruns it or not
		// depending on the machine's load; drops on purpose come from the small socket below.
		const id = core.udpBind('127.0.0.1', 0, {recvBufferSize: 4 * MiB})!;
		// A second socket with the smallest receive buffer the kernel allows (≈ 4 KiB asked, 8 KiB given): a few datagrams fill it.
		const smallId = core.udpBind('127.0.0.1', 0, {recvBufferSize: 4096})!;
		await until(() => store.getSnapshot().udpSockets.filter((row) => (row.id === id || row.id === smallId) && row.state === 'bound').length === 2, () => `${id} and ${smallId} bound`);
		const {port} = store.getSnapshot().udpSockets.find((row) => row.id === id)!;
		const smallPort = store.getSnapshot().udpSockets.find((row) => row.id === smallId)!.port;
		const snmpBefore = rcvbufErrors();
		const before = liveBytes();

		// Given a flood from another process, four sockets at once, faster than netdash can read them
		let peak = before;
		const sampler = setInterval(() => {
			const usage = process.memoryUsage();
			peak = Math.max(peak, usage.heapUsed + usage.arrayBuffers);
		}, 50);
		// 1,000-byte datagrams. How many of a flood netdash reads depends on the machine's load (a fifth on 2 cores
		// shared with a dozen busy processes); floods follow until it has read twice the log's 8 MiB budget.
		const size = 1000;
		const result = {sent: 0, failed: 0, ms: 0, floods: 0};
		while (received * size < 2 * 8 * MiB && result.floods < 8) {
			const one = await flood(port, 110_000, size, 4);
			result.sent += one.sent;
			result.failed += one.failed;
			result.ms += one.ms;
			result.floods++;
			// Then every datagram the kernel took is either delivered to netdash or counted as dropped at its socket
			await until(
				() => received + (udpSocketDrops(port) ?? 0) === result.sent,
				() => `${received} received + ${udpSocketDrops(port)} dropped of ${result.sent} sent`,
				20_000,
			);
		}

		clearInterval(sampler);
		const socketDrops = udpSocketDrops(port)!;
		expect(result.sent).toBe(110_000 * result.floods);
		expect(received * size).toBeGreaterThanOrEqual(2 * 8 * MiB);

		// Whether the flood overran the first socket depends on the machine's speed; drops happen on purpose at the
		// small one: a burst of 256 sent in one go from this process, whose event loop (netdash's) cannot read
		// before the last is sent. The kernel then takes a handful and drops the rest.
		const burst = 256;
		const burster = await udpSocket('127.0.0.1');
		const payload = Buffer.alloc(size, 'b');
		for (let index = 0; index < burst; index++) {
			burster.send(payload, smallPort, '127.0.0.1');
		}

		await until(() => burstReceived + (udpSocketDrops(smallPort) ?? 0) === burst, () => `${burstReceived} received + ${udpSocketDrops(smallPort)} dropped of the ${burst} of the burst`);
		const burstDrops = udpSocketDrops(smallPort)!;
		expect(burstDrops).toBeGreaterThan(0);
		await until(() => store.getSnapshot().udpSockets.find((row) => row.id === smallId)!.datagramsIn === burstReceived, () => `${smallId}'s row to count the ${burstReceived} received`);

		// Kernel drops are on the bus and in the status bar: exactly those at netdash's sockets (other programs'
		// drops in the namespace are not netdash's), and the namespace-wide counter beside them.
		const netdashDrops = socketDrops + burstDrops;
		expect(rcvbufErrors() - snmpBefore).toBeGreaterThanOrEqual(netdashDrops);
		await until(() => drops !== undefined && drops.socketDrops === netdashDrops && drops.sinceStart >= netdashDrops && drops.rcvbufErrors === rcvbufErrors(), () => `kernel-drops-changed ${JSON.stringify(drops)} vs RcvbufErrors ${rcvbufErrors()} and ${netdashDrops} at netdash's sockets`, 5000);
		await view.see((frame) => Number(/kernel drops (\d+)/.exec(frame)?.[1] ?? -1) === netdashDrops);

		// The dashboard drew a frame after the flood: the socket's counter in its row, the log's evictions in the status bar.
		const snapshot = store.getSnapshot();
		expect(snapshot.totals.evictedEntries).toBeGreaterThan(0);
		expect(snapshot.udpSockets.find((socket) => socket.id === id)!.datagramsIn).toBe(received);
		const frame = await view.see((text) => new RegExp(`${id}\\s.*\\b${received} in 0 out`).test(text) && Number(/evicted (\d+)/.exec(text)?.[1] ?? 0) > 0);

		// A normal datagram after the flood is received, counted and shown in the socket's log.
		await view.type('1');
		await view.type(keys.enter, new RegExp(`Log ${id}`));
		const sender = await udpSocket('127.0.0.1');
		sender.send(marker, port, '127.0.0.1');
		await until(() => afterFlood !== undefined, () => 'the datagram sent after the flood');
		const after = await view.see((text) => text.includes(marker.toString()) && new RegExp(`${id}\\s.*\\b${received + 1} in 0 out`).test(text));
		const log = store.getSnapshot().logs.get(id)!;
		expect(log.at(log.length - 1)?.data?.equals(marker)).toBe(true);

		// Memory: the log holds at most its byte budget; the rest is evicted and counted.
		let logBytes = 0;
		for (const entry of log.slice()) {
			logBytes += ENTRY_OVERHEAD + (entry.data?.length ?? 0) + (entry.text?.length ?? 0);
		}

		expect(logBytes).toBeLessThanOrEqual(8 * MiB);
		expect(log.evicted).toBeGreaterThan(0);
		const liveAfter = liveBytes();
		console.log([
			`UDP flood: ${result.sent} datagrams of ${size} B in ${result.floods} flood(s) of 110,000, sent in ${result.ms} ms (${Math.round(result.sent / (result.ms / 1000))}/s, ${result.failed} send failures) to ${id}`,
			`  received by netdash ${received}, dropped by the kernel at the socket ${socketDrops} (${((socketDrops / result.sent) * 100).toFixed(1)} %): ${received} + ${socketDrops} = ${result.sent} exactly`,
			`  a burst of ${burst} into ${smallId} (4 KiB receive buffer): ${burstReceived} received, ${burstDrops} dropped by the kernel; status bar: kernel drops ${netdashDrops}`,
			`  netdash kernel-drops-changed: sinceStart ${drops?.sinceStart ?? 0}, RcvbufErrors ${drops?.rcvbufErrors ?? 'unchanged'} = /proc/net/snmp ${rcvbufErrors()} (the namespace-wide counter: other sockets' drops count too)`,
			`  heap + buffers: ${(before / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB during the flood (rise ${((peak - before) / MiB).toFixed(1)} MiB, bound 128 MiB), ${(liveAfter / MiB).toFixed(1)} MiB after (growth ${((liveAfter - before) / MiB).toFixed(1)} MiB, bound 64 MiB)`,
			`  ${id}'s log: ${log.length} entries in ${(logBytes / MiB).toFixed(2)} MiB of the 8 MiB budget, ${log.evicted} evicted (${(log.evictedBytes / MiB).toFixed(1)} MiB); status bar: ${/evicted \d+/.exec(frame)?.[0]}`,
			`  ${id}'s row in the frame after the flood: ${frame.split(/[│┃\n]/).find((part) => part.includes(`${id} `))?.trim()}`,
			`  the datagram sent after the flood: received (seq ${afterFlood!.seq}), counted, and in ${id}'s Log pane: ${after.split(/[│┃\n]/).find((part) => part.includes(marker.toString()))?.trim()}`,
		].join('\n'));
		expect(liveAfter - before).toBeLessThan(64 * MiB);
		// The peak, sampled every 50 ms without a collection, holds garbage too: a rise of 35–41 MiB on 2 cores
		// under some load, 71 MiB with two dozen busy processes, when collections run late. A flood held
		// anywhere beyond the log's budget (110,000 datagrams of 1,000 B are 105 MiB of payload) passes it.
		expect(peak - before).toBeLessThan(128 * MiB);
	}, 180_000);

	it('the discovery port under a flood of malformed datagrams and strangers\' announces: counted exactly, rate-limited, reported once a second per reason, the peer table within its cap', async () => {
		const view = await dashboard();
		const {core, store} = view;
		const probe = dgram.createSocket('udp4');
		await new Promise<void>((resolve) => {
			probe.bind(0, '127.0.0.1', resolve);
		});
		const port = probe.address().port;
		probe.close();
		let peers = 0;
		let maxPeers = 0;
		const rateLimitReports = new Map<string, number>();
		watch(view, ['peer-discovered', 'peer-left', 'peer-expired', 'packet-dropped'], (event) => {
			if (event.type === 'packet-dropped') {
				if (event.reason === 'rate-limited') {
					rateLimitReports.set(event.from.address, (rateLimitReports.get(event.from.address) ?? 0) + 1);
				}

				return;
			}

			peers += event.type === 'peer-discovered' ? 1 : -1;
			maxPeers = Math.max(maxPeers, peers);
		});
		// Announces go to a port nobody reads, so the counters hold only what the test sent. A 60 s interval:
		// the strangers, each heard once, stay in the table (expiry is 3 intervals) however long a loaded
		// machine takes over the paced flood (with 1 s, they had expired before the frame was read; at load
		// 25 the flood took over a minute).
		core.startDiscovery({port, name: 'flooded', intervalMs: 60_000, broadcast: ['127.0.0.1:9']});
		await until(() => store.getSnapshot().discovery.state === 'running', () => 'discovery running');
		const startedAt = Date.now();

		// Given 40 sources announcing 8 instances each: 320 strangers for a table of 256
		const announcers = Array.from({length: 40}, (_, index) => `127.0.0.${30 + index}`);
		const perAnnouncer = defaultLimits.maxPeersPerAddress;
		const sent = new Map<string, number>();
		const datagrams: Array<{socket: dgram.Socket; bytes: Buffer}> = [];
		for (const address of announcers) {
			// One socket per instance: a new id from a known address and port would be taken for a restart.
			for (let index = 0; index < perAnnouncer; index++) {
				const socket = await udpSocket(address);
				datagrams.push({socket, bytes: encode({kind: 'announce', instanceId: randomInstanceId(), requestId: 0, name: `stranger ${address} #${index}`, ports: [8000 + index]})});
			}

			sent.set(address, perAnnouncer);
		}

		// And four sources sending 5,000 datagrams each that carry the magic and nothing valid after it, interleaved
		const malformedSources = ['127.0.0.21', '127.0.0.22', '127.0.0.23', '127.0.0.24'];
		const perSource = 5000;
		const sockets = await Promise.all(malformedSources.map(async (address) => udpSocket(address)));
		const garbage = (index: number) =>
			index % 3 === 0
				? Buffer.from('NDSH\u0001') // Too short for a packet.
				: Buffer.concat([Buffer.from('NDSH'), Buffer.from([index % 3 === 1 ? 9 : 1, 1, 0]), Buffer.alloc(14, index % 256), Buffer.from([200])]); // Bad version; or a name length past the end.
		for (let index = 0; index < perSource; index++) {
			for (const socket of sockets) {
				datagrams.push({socket, bytes: garbage(index)});
			}
		}

		for (const address of malformedSources) {
			sent.set(address, perSource);
		}

		await sendPaced(datagrams, port, () => core.discoveryStats!.received);
		const totalSent = datagrams.length;
		await until(() => core.discoveryStats!.received + (udpSocketDrops(port) ?? 0) === totalSent, () => `${core.discoveryStats!.received} received + ${udpSocketDrops(port)} dropped of ${totalSent}`, 10_000);
		const seconds = (Date.now() - startedAt) / 1000;
		const socketDrops = udpSocketDrops(port)!;
		const stats = core.discoveryStats!;

		// Then every datagram is accounted for, exactly (the pacing leaves the kernel nothing to drop)
		expect(socketDrops).toBe(0);
		expect(stats.received).toBe(stats.accepted + stats.own + stats.foreign + stats.droppedTotal);
		// The peer table never held more than its cap; the strangers over it were refused, not swapped in for fresh peers
		expect(maxPeers).toBeLessThanOrEqual(defaultLimits.maxPeers);
		expect(maxPeers).toBe(defaultLimits.maxPeers);
		expect(stats.dropped['table-full']).toBe(announcers.length * perAnnouncer - defaultLimits.maxPeers);
		expect(stats.peersEvicted).toBe(0);

		// Every malformed datagram dropped and counted (the store's counters, folded from the summed events),
		// and at most each source's burst plus its sustained rate got as far as the decoder
		const admittedMax = Math.ceil(defaultLimits.burst + (defaultLimits.perSecond * seconds)) + 1;
		await until(() => store.getSnapshot().discovery.droppedTotal === stats.droppedTotal, () => `the store counted ${store.getSnapshot().discovery.droppedTotal} drops of ${stats.droppedTotal}`);
		expect(stats.droppedTotal).toBe(malformedSources.length * perSource + stats.dropped['table-full']!);
		expect(stats.dropped['rate-limited']).toBeGreaterThanOrEqual(malformedSources.length * (perSource - admittedMax));
		// Rate-limited datagrams from all sources together are reported at most once a second, not once each.
		const rateLimitEvents = [...rateLimitReports.values()].reduce((sum, count) => sum + count, 0);
		expect(rateLimitEvents).toBeLessThanOrEqual(Math.ceil(seconds) + 2);

		// The dashboard shows the table at its cap
		await view.see(`(${defaultLimits.maxPeers} peers`);
		expect(store.getSnapshot().peers.length).toBeLessThanOrEqual(defaultLimits.maxPeers);
		console.log([
			`discovery port flood: ${totalSent} datagrams in ${seconds.toFixed(1)} s from ${malformedSources.length + announcers.length} loopback sources; kernel drops at the socket ${socketDrops}`,
			`  received ${stats.received} = accepted ${stats.accepted} + own ${stats.own} + foreign ${stats.foreign} + dropped ${stats.droppedTotal} (${Object.entries(stats.dropped).map(([reason, count]) => `${reason} ${count}`).join(', ')})`,
			`  ${malformedSources.length} malformed sources sent ${perSource} each; ${stats.dropped['rate-limited']} rate-limited in ${rateLimitEvents} events; at most ${admittedMax} per source could pass the limiter`,
			`  peer table: at most ${maxPeers} of cap ${defaultLimits.maxPeers}; ${stats.dropped['table-full']} strangers refused (table-full), ${stats.peersEvicted} evicted; the Discovery pane shows (${store.getSnapshot().peers.length} peers`,
		].join('\n'));
	}, 180_000);
});
