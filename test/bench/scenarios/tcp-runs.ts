import {rmSync, statSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {startRole} from '../lib/child.js';
import {driver} from '../lib/drivers.js';
import {rate} from '../lib/stats.js';
import {freePort, hasTool, startExternal} from '../lib/tools.js';
import {MiB} from './context.js';

/** The sinks a TCP transfer can be measured into. */
export type TcpSink = 'raw' | 'raw-file' | 'raw-bytes-file' | 'netdash' | 'netdash-log' | 'netdash-pcap' | 'dashboard' | 'socat' | 'ncat-x';

/** One transfer, as the sender saw it and as the sink measured itself. */
export type TcpRun = {
	/** Throughput in MiB/s (sender's clock: connect → the sink's close). */
	mibps: number;
	ms: number;
	bytes: number;
	/** Sink's CPU time during the transfer (Node sinks only). */
	cpuMs?: number;
	/** Sink's peak RSS (Node sinks only). */
	peakRssKiB?: number;
	/** Size of the capture file, for sinks that write one. */
	fileBytes?: number;
	/** Whatever else the sink reported. */
	sink?: Record<string, unknown>;
};

/** Which external sinks are installed. */
export const externalTools = {socat: hasTool('socat'), ncat: hasTool('ncat'), iperf3: hasTool('iperf3')};

/**
 * Send `bytes` (or for `seconds`) from the raw Node sender into one sink and
 * measure it. Every process is fresh, so each run pays the same start-up and
 * JIT warm-up on both sides of a comparison.
 */
export async function runTcp(kind: TcpSink, options: {bytes: number; seconds?: number; tmpDir: string; stub?: boolean; keyIntervalMs?: number}): Promise<TcpRun> {
	const logPath = path.join(options.tmpDir, `capture-${kind}-${process.pid}.out`);
	rmSync(logPath, {force: true});
	const send = async (port: number) => {
		const sender = driver('tcp-sender');
		sender.send({type: 'send', port, bytes: options.bytes, seconds: options.seconds ?? 0});
		return sender.next<{type: string; ms: number; bytes: number}>('sent', 600_000);
	};

	try {
		if (kind === 'socat' || kind === 'ncat-x') {
			const port = await freePort();
			const external =
				kind === 'socat'
					? startExternal('socat', ['-u', `TCP4-LISTEN:${port},bind=127.0.0.1,reuseaddr`, 'OPEN:/dev/null'])
					: startExternal('ncat', ['-l', '--recv-only', '-x', logPath, '127.0.0.1', String(port)]);
			try {
				const sent = await send(port);
				await external.exited;
				return {mibps: rate(sent.bytes, sent.ms) / MiB, ms: sent.ms, bytes: sent.bytes, ...(kind === 'ncat-x' ? {fileBytes: statSync(logPath).size} : {})};
			} finally {
				external.kill();
			}
		}

		const sink =
			kind === 'dashboard'
				? startRole('dashboard', {mode: 'carry', stub: options.stub, 'key-interval-ms': options.keyIntervalMs}, {env: {NODE_ENV: 'production', FORCE_COLOR: '3'}})
				: startRole('tcp-sink', {
						kind: kind === 'raw' || kind === 'raw-file' || kind === 'raw-bytes-file' ? kind : 'netdash',
						log: kind === 'netdash-log' || kind === 'raw-file' || kind === 'raw-bytes-file' ? logPath : undefined,
						pcap: kind === 'netdash-pcap' ? logPath : undefined,
					});
		try {
			const ready = await sink.next<{type: string; port: number}>('ready');
			const sent = await send(ready.port);
			const measured = await sink.next<{type: string; bytes: number; cpuMs: number; peakRssKiB: number}>('done');
			if (measured.bytes !== sent.bytes) {
				throw new Error(`${kind} sink counted ${measured.bytes} bytes of ${sent.bytes} sent`);
			}

			return {
				mibps: rate(sent.bytes, sent.ms) / MiB,
				ms: sent.ms,
				bytes: sent.bytes,
				cpuMs: measured.cpuMs,
				peakRssKiB: measured.peakRssKiB,
				...(kind === 'netdash-log' || kind === 'netdash-pcap' || kind === 'raw-file' || kind === 'raw-bytes-file' ? {fileBytes: statSync(logPath).size} : {}),
				sink: measured,
			};
		} finally {
			await sink.kill();
		}
	} finally {
		rmSync(logPath, {force: true});
	}
}

/** iperf3's own client and server over loopback, MiB/s (a ceiling for orientation). */
export async function runIperf3(bytes: number): Promise<number> {
	const port = await freePort();
	const server = startExternal('iperf3', ['-s', '-1', '-B', '127.0.0.1', '-p', String(port)]);
	try {
		const {spawn} = await import('node:child_process');
		for (let attempt = 0; ; attempt++) {
			const output = await new Promise<{code: number | null; text: string}>((resolve) => {
				const client = spawn('iperf3', ['-c', '127.0.0.1', '-p', String(port), '-n', String(bytes), '-J'], {stdio: ['ignore', 'pipe', 'ignore']});
				let text = '';
				client.stdout.on('data', (chunk: Buffer) => {
					text += chunk.toString();
				});
				client.on('exit', (code) => {
					resolve({code, text});
				});
			});
			// A client that raced the server's start can exit 0 with a report
			// that has no receiver's sum: that is a failed attempt, not a figure.
			const received = output.code === 0 ? receivedSum(output.text) : undefined;
			if (received) {
				return rate(received.bytes, received.seconds * 1000) / MiB;
			}

			if (attempt > 50) {
				throw new Error(`iperf3 client failed: ${output.text.slice(0, 200)}`);
			}

			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	} finally {
		server.kill();
		await server.exited;
	}
}

function receivedSum(text: string): {bytes: number; seconds: number} | undefined {
	try {
		const sum = (JSON.parse(text) as {end?: {sum_received?: {bytes?: unknown; seconds?: unknown}}}).end?.sum_received;
		return typeof sum?.bytes === 'number' && typeof sum.seconds === 'number' && sum.seconds > 0 ? {bytes: sum.bytes, seconds: sum.seconds} : undefined;
	} catch {
		return undefined;
	}
}
