/**
 * On `connect`, opens `connections` loopback connections to `port` and
 * reports when it started (wall clock) and when all were connected. By
 * default all at once from 127.0.0.1; with `sources` each one is bound to
 * one of that many addresses of 127.0.0.0/8 (so 100,000 of them do not run
 * out of ephemeral ports), and with `inFlight` at most that many connects
 * wait for their handshake at a time. On `reset` it resets every one (RST:
 * no TIME_WAIT left to slow the next run, FACTS.md). It lives across runs.
 */
import net from 'node:net';
import {wallMs} from '../lib/clock.js';
import {command, report, runRole} from '../lib/role.js';

/** Source address `index` of the spread: 127.1.0.1, 127.1.0.2, … (last byte 1–250, so never .0 or .255). */
function sourceAddress(index: number): string {
	return `127.${1 + Math.floor(index / 64_000)}.${Math.floor(index / 250) % 256}.${(index % 250) + 1}`;
}

runRole(async () => {
	for (;;) {
		const job = await command('connect');
		const port = Number(job['port']);
		const count = Number(job['connections']);
		const sources = Number(job['sources'] ?? 0);
		const inFlight = Number(job['inFlight'] ?? 0) || count;
		const sockets: net.Socket[] = [];
		let connected = 0;
		let failed = 0;
		let started = 0;
		let firstError = '';
		const startedAt = wallMs();
		await new Promise<void>((resolve) => {
			const settle = () => {
				if (connected + failed === count) {
					resolve();
				} else {
					startMore();
				}
			};

			const startOne = (index: number) => {
				const socket = net.connect(sources > 0 ? {host: '127.0.0.1', port, localAddress: sourceAddress(index % sources)} : {host: '127.0.0.1', port});
				let isCounted = false;
				socket.on('error', (error) => {
					if (!isCounted) {
						isCounted = true;
						failed++;
						firstError ||= error.message;
						settle();
					}
				});
				socket.on('connect', () => {
					isCounted = true;
					connected++;
					settle();
				});
				sockets.push(socket);
			};

			// Keep at most inFlight handshakes outstanding; the next ones start as these finish.
			let isStarting = false;
			const startMore = () => {
				if (isStarting) {
					return;
				}

				isStarting = true;
				while (started < count && started - connected - failed < inFlight) {
					startOne(started++);
				}

				isStarting = false;
			};

			startMore();
		});
		report({type: 'connected', startedAt, connectedMs: wallMs() - startedAt, connected, failed, firstError});
		await command('reset');
		for (const socket of sockets) {
			if (!socket.destroyed) {
				socket.resetAndDestroy();
			}
		}

		// Let the RSTs leave before the harness kills the server.
		await new Promise((resolve) => setImmediate(resolve));
		report({type: 'reset-done'});
	}
});
