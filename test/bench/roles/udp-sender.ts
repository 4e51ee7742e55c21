/**
 * The one UDP sender both receivers are measured with: raw `dgram`. On each
 * `send` command, datagrams of `size` bytes as fast as the kernel takes them
 * for `seconds`. Every send has a callback (without one node:dgram drops
 * EMSGSIZE silently, see FACTS.md); sends in flight are capped so memory
 * stays flat. It lives across runs.
 */
import dgram from 'node:dgram';
import {performance} from 'node:perf_hooks';
import {runRole, serve} from '../lib/role.js';

const BURST = 64;
const MAX_IN_FLIGHT = 2048;

runRole(async () => {
	await serve('send', async (job) => {
		const payload = Buffer.alloc(Number(job['size']), 'd');
		const socket = dgram.createSocket('udp4');
		// A connected socket hears ICMP port-unreachable as ECONNREFUSED: counted as failed sends.
		socket.on('error', () => {});
		await new Promise<void>((resolve) => {
			socket.connect(Number(job['port']), '127.0.0.1', resolve);
		});

		let sent = 0;
		let failed = 0;
		let inFlight = 0;
		const onSent = (error: Error | null) => {
			inFlight--;
			if (error) {
				failed++;
			} else {
				sent++;
			}
		};

		const started = performance.now();
		const deadline = started + Number(job['seconds']) * 1000;
		await new Promise<void>((resolve) => {
			const burst = () => {
				if (performance.now() >= deadline) {
					resolve();
					return;
				}

				for (let index = 0; index < BURST && inFlight < MAX_IN_FLIGHT; index++) {
					inFlight++;
					socket.send(payload, onSent);
				}

				setImmediate(burst);
			};

			burst();
		});
		const ms = performance.now() - started;
		while (inFlight > 0) {
			await new Promise((resolve) => setImmediate(resolve));
		}

		socket.close();
		return {type: 'sent', sent, failed, ms};
	});
});
