import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import net from 'node:net';
import process from 'node:process';

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

/** A network namespace made for a scenario: its name, and how it was set up. */
export type BenchNamespace = {readonly name: string; readonly somaxconn: number; remove(): void};

/** More of a namespace's own settings. */
export type NamespaceOptions = {
	/** net.ipv4.ip_local_port_range: the ephemeral ports a client's connects (and binds to port 0) take. */
	portRange?: readonly [number, number];
};

/**
 * A fresh network namespace with loopback up and a deep accept queue
 * (net.core.somaxconn and tcp_max_syn_backlog are per namespace), or
 * undefined with the reason when it cannot be made (not root, no `ip`).
 * The host's own settings are left alone.
 */
export function makeNamespace(somaxconn: number, options: NamespaceOptions = {}): BenchNamespace | string {
	if (process.getuid?.() !== 0) {
		return 'not root';
	}

	if (!hasTool('ip') || !hasTool('sysctl')) {
		return 'no ip or sysctl (apt-get install iproute2 procps)';
	}

	const name = `netdash-bench-${process.pid}`;
	const run = (command: string, args: string[]) => {
		const result = spawnSync(command, args, {encoding: 'utf8'});
		if (result.status !== 0) {
			throw new Error(`${command} ${args.join(' ')}: ${result.stderr.trim()}`);
		}
	};

	try {
		run('ip', ['netns', 'add', name]);
		run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
		run('ip', ['netns', 'exec', name, 'sysctl', '-qw', `net.core.somaxconn=${somaxconn}`, `net.ipv4.tcp_max_syn_backlog=${somaxconn}`]);
		if (options.portRange) {
			run('ip', ['netns', 'exec', name, 'sysctl', '-qw', `net.ipv4.ip_local_port_range=${options.portRange[0]} ${options.portRange[1]}`]);
		}

		// Every address of 127.0.0.0/8 answers once lo is up; a client spread over them needs it up.
		const link = spawnSync('ip', ['-n', name, '-o', 'link', 'show', 'lo'], {encoding: 'utf8'}).stdout;
		if (!/[<,]UP[,>]/.test(link)) {
			throw new Error(`lo is not up in ${name}: ${link.trim()}`);
		}
	} catch (error) {
		spawnSync('ip', ['netns', 'delete', name]);
		return error instanceof Error ? error.message : String(error);
	}

	return {
		name,
		somaxconn,
		remove() {
			spawnSync('ip', ['netns', 'delete', name]);
		},
	};
}
