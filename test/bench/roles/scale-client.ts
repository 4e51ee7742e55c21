/**
 * On `connect`, opens `connections` loopback connections to `port` at once
 * and reports when it started (wall clock) and when all were connected. On
 * `reset` it resets every one (RST: no TIME_WAIT left to slow the next run,
 * FACTS.md). It lives across runs.
 */
import net from 'node:net';
import {wallMs} from '../lib/clock.js';
import {command, report, runRole} from '../lib/role.js';

runRole(async () => {
	for (;;) {
		const job = await command('connect');
		const port = Number(job['port']);
		const count = Number(job['connections']);
		const sockets: net.Socket[] = [];
		let connected = 0;
		let failed = 0;
		const startedAt = wallMs();
		await new Promise<void>((resolve) => {
			const settle = () => {
				if (connected + failed === count) {
					resolve();
				}
			};

			for (let index = 0; index < count; index++) {
				const socket = net.connect({host: '127.0.0.1', port});
				let isCounted = false;
				socket.on('error', () => {
					if (!isCounted) {
						isCounted = true;
						failed++;
						settle();
					}
				});
				socket.on('connect', () => {
					isCounted = true;
					connected++;
					settle();
				});
				sockets.push(socket);
			}
		});
		report({type: 'connected', startedAt, connectedMs: wallMs() - startedAt, connected, failed});
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
