/**
 * A TCP sink, measured: `--kind=raw` is a bare `net` server that counts
 * bytes; `--kind=raw-file --log=FILE` is the same server writing each chunk
 * as base64 to FILE through a write stream (what capture costs in plain
 * Node, file system included); `--kind=raw-bytes-file --log=FILE` writes
 * the chunks as they are (what `--pcap` is compared with); `--kind=netdash` is the headless core with a store publishing
 * snapshots (defaults of the CLI: bounded logs, exact counters) and, with
 * `--log=FILE`, the `--log` capture, with `--pcap=FILE` the pcapng capture. Either one closes its side when the
 * peer's FIN has come (and the log is flushed), which stops the sender's clock.
 */
import {createWriteStream} from 'node:fs';
import net from 'node:net';
import process from 'node:process';
import {createCore, createStore} from '../../../source/core/index.js';
import {openLogFile} from '../../../source/core/capture/log-file.js';
import {openPcapFile} from '../../../source/core/capture/pcap-file.js';
import {cpuMsSince, fail, finish, monotonicUs, report, roleArgs, runRole, statusKiB} from '../lib/role.js';

runRole(async () => {
	const args = roleArgs();
	const kind = args.get('kind');
	if (kind === 'raw') {
		await rawSink();
	} else if (kind === 'raw-file' || kind === 'raw-bytes-file') {
		await rawFileSink(args.get('log')!, kind === 'raw-file');
	} else if (kind === 'netdash') {
		await netdashSink(args.get('log'), args.get('pcap'));
	} else {
		throw new Error(`--kind must be raw, raw-file, raw-bytes-file or netdash, not ${kind}`);
	}
});

async function rawSink(): Promise<void> {
	let start = process.cpuUsage();
	let bytes = 0;
	const server = net.createServer((socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
		});
		// allowHalfOpen is off: Node ends our side when the peer's FIN comes.
		socket.on('close', () => {
			finish({type: 'done', bytes, cpuMs: cpuMsSince(start), peakRssKiB: statusKiB('VmHWM')});
		});
	});
	server.listen({host: '127.0.0.1', port: 0}, () => {
		start = process.cpuUsage();
		report({type: 'ready', port: (server.address() as net.AddressInfo).port});
	});
}

async function rawFileSink(logPath: string, isBase64: boolean): Promise<void> {
	let start = process.cpuUsage();
	let bytes = 0;
	const file = createWriteStream(logPath, {flags: 'a'});
	// Half-open, so our side ends (and the sender's clock stops) only once the file is flushed.
	const server = net.createServer({allowHalfOpen: true}, (socket) => {
		socket.on('error', () => {});
		socket.on('data', (chunk: Buffer) => {
			bytes += chunk.length;
			// Reading waits while the disk is behind, as netdash's --log does.
			if (!file.write(isBase64 ? chunk.toString('base64') : chunk)) {
				socket.pause();
				file.once('drain', () => socket.resume());
			}
		});
		socket.on('end', () => {
			file.end(() => {
				socket.end();
			});
		});
		socket.on('close', () => {
			finish({type: 'done', bytes, cpuMs: cpuMsSince(start), peakRssKiB: statusKiB('VmHWM')});
		});
	});
	server.listen({host: '127.0.0.1', port: 0}, () => {
		start = process.cpuUsage();
		report({type: 'ready', port: (server.address() as net.AddressInfo).port});
	});
}

async function netdashSink(logPath: string | undefined, pcapPath: string | undefined): Promise<void> {
	let start = process.cpuUsage();
	const core = createCore({});
	const store = createStore(core.bus);
	let publishes = 0;
	// Something reads every snapshot, as the dashboard would.
	store.subscribe(() => {
		publishes++;
		store.getSnapshot();
	});
	const log = logPath === undefined ? undefined : openLogFile(core, logPath);
	const pcap = pcapPath === undefined ? undefined : openPcapFile(core, pcapPath);
	core.bus.subscribe((event) => {
		if (event.type === 'listener-opened') {
			start = process.cpuUsage();
			report({type: 'ready', port: event.port, atUs: monotonicUs()});
		} else if (event.type === 'connection-half-closed' && event.by === 'remote') {
			void (async () => {
				await Promise.all([log?.close(), pcap?.close()]);
				core.close(event.connection);
			})();
		} else if (event.type === 'connection-closed') {
			store.flush();
			const {totals} = store.getSnapshot();
			finish({
				type: 'done',
				bytes: event.bytesIn,
				storeBytes: totals.bytesIn,
				events: totals.events,
				publishes,
				evictedEntries: totals.evictedEntries,
				cpuMs: cpuMsSince(start),
				peakRssKiB: statusKiB('VmHWM'),
				atUs: monotonicUs(),
			});
		} else if (event.type === 'socket-failed' || event.type === 'command-failed' || event.type === 'log-file-failed' || event.type === 'pcap-file-failed' || event.type === 'subscriber-failed') {
			fail(new Error(`${event.type}: ${event.message}`));
		}
	}, {borrows: true});
	core.listen('127.0.0.1', 0);
}
