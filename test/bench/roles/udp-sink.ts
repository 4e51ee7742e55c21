/**
 * A UDP receiver, measured until the harness says `stop`: `--kind=raw` is
 * a bare `dgram` socket that counts datagrams; `--kind=netdash` is a core
 * UDP socket (`core.udpBind`) with a store publishing snapshots. Both get the
 * same `--recv-buffer` (SO_RCVBUF) so the software, not the buffer, is
 * compared; the kernel's drop counter of each socket is reported.
 *
 * Two layers between them, for the breakdown of where a datagram's CPU goes:
 * `--kind=bus` is the bare socket emitting one `datagram-received` event per
 * datagram on a netdash Bus (the least anything built on the bus does, and
 * what `--json` streams), and `--kind=core` is a core UDP socket with no store.
 */
import dgram from 'node:dgram';
import {constants, type PerformanceEntry, PerformanceObserver} from 'node:perf_hooks';
import process from 'node:process';
import {Bus, createCore, createStore} from '../../../source/core/index.js';
import {udpSocketDrops} from '../lib/udp-drops.js';
import {command, cpuMsSince, fail, finish, monotonicUs, numberArg, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

runRole(async () => {
	const args = roleArgs();
	const recvBufferSize = numberArg(args, 'recv-buffer');
	let start = process.cpuUsage();
	let received = 0;
	let port = 0;
	const kind = args.get('kind');
	if (kind === 'raw') {
		const socket = dgram.createSocket({type: 'udp4', recvBufferSize});
		socket.on('error', fail);
		socket.on('message', () => {
			received++;
		});
		await new Promise<void>((resolve) => {
			socket.bind({address: '127.0.0.1', port: 0}, resolve);
		});
		port = socket.address().port;
	} else if (kind === 'bus') {
		const bus = new Bus();
		bus.subscribe((event) => {
			if (event.type === 'datagram-received') {
				received++;
			}
		}, {borrows: true});
		const socket = dgram.createSocket({type: 'udp4', recvBufferSize});
		socket.on('error', fail);
		socket.on('message', (data, rinfo) => {
			bus.emit({type: 'datagram-received', socket: 'U1', from: {address: rinfo.address, port: rinfo.port}, bytes: data.length, data});
		});
		await new Promise<void>((resolve) => {
			socket.bind({address: '127.0.0.1', port: 0}, resolve);
		});
		port = socket.address().port;
	} else if (kind === 'netdash' || kind === 'core') {
		const core = createCore({});
		if (kind === 'netdash') {
			const store = createStore(core.bus);
			store.subscribe(() => store.getSnapshot());
		}

		port = await new Promise<number>((resolve) => {
			core.bus.subscribe((event) => {
				if (event.type === 'datagram-received') {
					received++;
				} else if (event.type === 'udp-bound') {
					resolve(event.port);
				} else if (event.type === 'socket-failed' || event.type === 'command-failed') {
					fail(new Error(`${event.type}: ${event.message}`));
				}
			}, {borrows: true});
			core.udpBind('127.0.0.1', 0, {recvBufferSize});
		});
	} else {
		throw new Error(`--kind must be raw, bus, core or netdash, not ${kind}`);
	}

	const dropsAtStart = udpSocketDrops(port) ?? 0;
	// Minor page faults: the first touch of memory (netdash's log ring), costly on a virtual machine.
	const faultsAtStart = process.resourceUsage().minorPageFault;
	// Full (mark-compact) collections while it receives: what the store's garbage costs beyond a
	// minor collection's (issue 18: a flood's log chunks, promoted, once set off one every ~100 ms).
	let fullCollections = 0;
	const collections = new PerformanceObserver((list) => {
		for (const entry of list.getEntries()) {
			if ((entry as PerformanceEntry & {detail?: {kind?: number}}).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
				fullCollections++;
			}
		}
	});
	collections.observe({entryTypes: ['gc']});
	start = process.cpuUsage();
	report({type: 'ready', port, atUs: monotonicUs()});
	await command('stop');
	const drops = udpSocketDrops(port);
	collections.disconnect();
	finish({type: 'done', atUs: monotonicUs(), received, drops: drops === undefined ? null : drops - dropsAtStart, cpuMs: cpuMsSince(start), minorFaults: process.resourceUsage().minorPageFault - faultsAtStart, fullCollections, peakRssKiB: statusKiB('VmHWM')});
});
