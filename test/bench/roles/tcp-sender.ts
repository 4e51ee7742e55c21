/**
 * The one sender every TCP sink is measured with: raw `net`. On each `send`
 * command it connects to `port`, writes `bytes` (or for `seconds`) as fast
 * as flow control lets it, then FIN. Time runs from `connect` to `close`,
 * i.e. until the sink has read everything and closed its side, so ncat and
 * Node sinks are timed the same way from outside. It lives across runs, so
 * a run spawns only the sink it measures.
 */
import net from 'node:net';
import {performance} from 'node:perf_hooks';
import {runRole, serve} from '../lib/role.js';

/** Connect, retrying refusals for a while: ncat binds a few ms after it starts. */
async function connect(port: number, waitMs: number): Promise<net.Socket> {
	const deadline = performance.now() + waitMs;
	for (;;) {
		try {
			return await new Promise<net.Socket>((resolve, reject) => {
				const socket = net.connect({host: '127.0.0.1', port});
				socket.once('connect', () => {
					socket.removeAllListeners('error');
					resolve(socket);
				});
				socket.once('error', reject);
			});
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || performance.now() > deadline) {
				throw error;
			}

			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}
}

const chunk = Buffer.alloc(256 * 1024, 'netdash bench ');

runRole(async () => {
	await serve('send', async (job) => {
		const port = Number(job['port']);
		const seconds = Number(job['seconds'] ?? 0);
		const total = seconds > 0 ? Number.POSITIVE_INFINITY : Number(job['bytes']);
		const socket = await connect(port, 3000);
		const started = performance.now();
		const stopAt = seconds > 0 ? started + seconds * 1000 : Number.POSITIVE_INFINITY;
		let remaining = total;
		let written = 0;
		return new Promise((resolve, reject) => {
			socket.on('error', reject);
			socket.resume();
			const pump = () => {
				while (remaining > 0 && (seconds === 0 || performance.now() < stopAt)) {
					const size = Math.min(chunk.length, remaining);
					remaining -= size;
					written += size;
					if (!socket.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
						socket.once('drain', pump);
						return;
					}
				}

				socket.end();
			};

			socket.on('close', () => {
				resolve({type: 'sent', ms: performance.now() - started, bytes: written});
			});
			pump();
		});
	});
});
