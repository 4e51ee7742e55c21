import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import net from 'node:net';

/** True when an external program is on PATH. */
export function hasTool(name: string): boolean {
	return spawnSync('sh', ['-c', `command -v ${name}`], {stdio: 'ignore'}).status === 0;
}

/** A loopback port free right now (for external sinks that cannot report theirs). */
export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = net.createServer();
		server.on('error', reject);
		server.listen({host: '127.0.0.1', port: 0}, () => {
			const {port} = server.address() as net.AddressInfo;
			server.close(() => {
				resolve(port);
			});
		});
	});
}

/** An external program run as a sink; `exited` resolves with its code. */
export type ExternalSink = {readonly process: ChildProcess; readonly exited: Promise<number | null>; kill(): void};

/**
 * Start an external sink. Its stdin is a pipe kept open: ncat treats EOF on
 * stdin as the end of the session, even with --recv-only.
 */
export function startExternal(command: string, args: string[]): ExternalSink {
	const child = spawn(command, args, {stdio: ['pipe', 'ignore', 'ignore']});
	const exited = new Promise<number | null>((resolve) => {
		child.on('exit', (code) => {
			resolve(code);
		});
	});
	return {
		process: child,
		exited,
		kill() {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill('SIGKILL');
			}
		},
	};
}
