import {spawn} from 'node:child_process';
import dgram from 'node:dgram';
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterAll, afterEach, describe, expect, it} from 'vitest';
import {decode} from '../../source/core/discovery/codec.js';
import {cliPath} from '../helpers/cli.js';
import {until} from '../helpers/recorder.js';
import {freeUdpPort} from '../helpers/ports.js';
import {missingTool} from '../helpers/requires.js';
import {asAtATerminal, startInTmux} from '../helpers/tmux.js';

/**
 * Issue 5, graceful end: `q` in the dashboard, SIGINT and SIGTERM on
 * `--json` and on the dashboard. Each time: the listener and both
 * connections (one accepted, one dialed) closed with a FIN, discovery's
 * `bye` sent, the `--log` file flushed to its last event, the process gone
 * within 2 s, and its ports free to bind again.
 */


/** Why the dashboard cases cannot run here (they run the binary in tmux), or undefined. */
const noTmux = missingTool('tmux');

const cleanups: Array<() => Promise<void> | void> = [];
const figures: string[] = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

afterAll(() => {
	if (figures.length > 0) {
		console.log(['graceful end (time from the signal or key to the process gone; bound 2000 ms):', ...figures].join('\n'));
	}
});

type Ending = 'SIGINT' | 'SIGTERM' | 'q';

/** A TCP peer of netdash's, recording how its side of the connection ended. */
type Peer = {
	socket?: net.Socket;
	sawEnd: boolean;
	error: string | undefined;
	closed: boolean;
};

function watchPeer(socket: net.Socket, peer: Peer): void {
	peer.socket = socket;
	socket.on('data', () => {});
	socket.on('end', () => {
		peer.sawEnd = true;
	});
	socket.on('error', (error: NodeJS.ErrnoException) => {
		peer.error = error.code ?? error.message;
	});
	socket.on('close', () => {
		peer.closed = true;
	});
}


function readLog(file: string): Array<Record<string, any>> {
	if (!existsSync(file)) {
		return [];
	}

	return readFileSync(file, 'utf8')
		.split('\n')
		.filter((line) => line.trim() !== '')
		.map((line) => JSON.parse(line) as Record<string, any>)
		// The events only: the file also holds each run's session-started record and the commands given.
		.filter((record) => record['seq'] !== undefined);
}

/** The first child of `parent`, from /proc. */
function childOf(parent: number): number | undefined {
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) {
			continue;
		}

		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) {
				return Number(entry);
			}
		} catch {
			// Gone while we looked.
		}
	}

	return undefined;
}

/** The flooding client's connection: the third one accepted, if there was one. */
function flooderId(log: ReadonlyArray<Record<string, any>>): string | undefined {
	return log.filter((event) => event.type === 'connection-opened' && event['origin'] === 'accepted')[1]?.['connection'] as string | undefined;
}

/** A LISTEN socket on this TCP port in /proc/net/tcp (state 0A). */
function isListening(port: number): boolean {
	const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
	return readFileSync('/proc/net/tcp', 'utf8')
		.split('\n')
		.slice(1)
		.some((line) => {
			const fields = line.trim().split(/\s+/);
			return fields[1]?.endsWith(hexPort) === true && fields[3] === '0A';
		});
}

/** netdash as it runs for a person: `--json` on pipes, or the dashboard in a tmux pseudo-terminal. */
type Running = {
	pid: number;
	/** Signal it, or press q (and confirm). */
	end(ending: Ending): void;
	/** Resolves with the exit code. */
	exited(): Promise<number>;
	/** Events printed on stdout (`--json` only). */
	stdoutEvents: Array<Record<string, any>>;
	/** Lines of stdout that were not JSON (none, unless the reader stopped and the end cut a line). */
	badLines: string[];
	/** Stop reading its stdout, as a stuck consumer of `--json` would (`--json` only). */
	stopReading(): void;
};

function startJson(args: string[]): Running {
	const child = spawn(process.execPath, [cliPath, '--json', ...args], {stdio: 'pipe'});
	const stdoutEvents: Array<Record<string, any>> = [];
	const badLines: string[] = [];
	let errors = '';
	child.stderr.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	const lines = readline.createInterface({input: child.stdout});
	lines.on('line', (line) => {
		try {
			stdoutEvents.push(JSON.parse(line) as Record<string, any>);
		} catch {
			badLines.push(line.slice(0, 80));
		}
	});
	const exited = new Promise<number>((resolve, reject) => {
		child.on('exit', (code) => {
			if (errors) {
				reject(new Error(`netdash wrote to stderr: ${errors}`));
			}

			resolve(code ?? -1);
		});
	});
	cleanups.push(() => {
		child.kill('SIGKILL');
	});
	return {
		pid: child.pid!,
		end(ending) {
			if (ending === 'q') {
				child.stdin.write('{"cmd":"quit"}\n');
			} else {
				child.kill(ending);
			}
		},
		async exited() {
			let timer: NodeJS.Timeout | undefined;
			const late = new Promise<never>((_, reject) => {
				timer = setTimeout(() => {
					reject(new Error(`netdash still running 5 s after it was told to end; last events on stdout: ${stdoutEvents.slice(-3).map((event) => event.type).join(', ')}`));
				}, 5000);
			});
			try {
				return await Promise.race([exited, late]);
			} finally {
				clearTimeout(timer);
			}
		},
		stdoutEvents,
		badLines,
		stopReading() {
			lines.pause();
			child.stdout.pause();
		},
	};
}

async function startDashboard(args: string[]): Promise<Running> {
	const session = startInTmux(`${asAtATerminal} "${process.execPath}" "${cliPath}" ${args.map((arg) => `"${arg}"`).join(' ')}`, {columns: 120, rows: 36, name: 'netdash-graceful'});
	cleanups.push(() => {
		session.close();
	});
	const {tmux, screen, exitFile} = session;
	await until(() => screen().includes('4 Discovery'), () => `the dashboard; the screen:\n${screen()}`);
	const shell = Number(tmux('display', '-p', '#{pane_pid}').trim());
	const pid = childOf(shell)!;
	return {
		pid,
		end(ending) {
			if (ending === 'q') {
				tmux('send-keys', 'q');
				// Sockets are open, so it asks first.
				void until(() => screen().includes('close them and quit?') || screen().includes('close it and quit?'), () => `the quit question; the screen:\n${screen()}`, 2000).then(() => {
					tmux('send-keys', 'y');
				});
			} else {
				process.kill(pid, ending);
			}
		},
		async exited() {
			await until(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', () => `netdash to exit; the screen:\n${screen()}`);
			return Number(readFileSync(exitFile, 'utf8').trim());
		},
		stdoutEvents: [],
		badLines: [],
		stopReading() {
			throw new Error('the dashboard has no stdout to read');
		},
	};
}

const cases: Array<{mode: 'json' | 'dashboard'; ending: Ending; isReaderStuck?: boolean}> = [
	{mode: 'json', ending: 'SIGINT'},
	{mode: 'json', ending: 'SIGTERM'},
	// Whoever reads the JSON lines stopped reading (a stuck `| consumer`): netdash must still end.
	{mode: 'json', ending: 'SIGTERM', isReaderStuck: true},
	{mode: 'dashboard', ending: 'q'},
	{mode: 'dashboard', ending: 'SIGINT'},
	{mode: 'dashboard', ending: 'SIGTERM'},
];

describe('graceful end', () => {
	for (const {mode, ending, isReaderStuck = false} of cases) {
		it(`${ending === 'q' ? 'q then y' : ending} on the ${mode === 'json' ? `--json stream${isReaderStuck ? ' whose reader stopped reading' : ''}` : 'dashboard'}: FIN to both peers, bye to discovery, the log flushed, gone within 2 s, ports free`, async (context) => {
			if (mode === 'dashboard' && noTmux !== undefined) {
				context.skip(noTmux);
			}

			// Given: a peer netdash dials, a raw socket where discovery announces (and says bye), and a log file
			const dialedPeer: Peer = {sawEnd: false, error: undefined, closed: false};
			const server = net.createServer((socket) => {
				watchPeer(socket, dialedPeer);
				socket.write('hello from the dialed peer');
			});
			await new Promise<void>((resolve) => {
				server.listen(0, '127.0.0.1', resolve);
			});
			cleanups.push(() => {
				server.close();
			});
			const catcher = dgram.createSocket('udp4');
			const datagrams: Buffer[] = [];
			catcher.on('message', (message) => {
				datagrams.push(message);
			});
			await new Promise<void>((resolve) => {
				catcher.bind(0, '127.0.0.1', resolve);
			});
			cleanups.push(() => {
				catcher.close();
			});
			const discoveryPort = await freeUdpPort();
			const directory = mkdtempSync(path.join(tmpdir(), 'netdash-graceful-'));
			cleanups.push(() => {
				rmSync(directory, {recursive: true, force: true});
			});
			const logFile = path.join(directory, 'session.jsonl');
			const args = [
				'--listen', '0',
				'--connect', `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
				'--discover', String(discoveryPort), '--discover-interval', '0.5', '--broadcast-address', `127.0.0.1:${catcher.address().port}`,
				'--log', logFile,
			];
			const running = mode === 'json' ? startJson(args) : await startDashboard(args);

			// The listener, the dialed connection and discovery are up (read from the log file, for both modes)
			await until(() => {
				const types = new Set(readLog(logFile).map((event) => event.type));
				return types.has('listener-opened') && types.has('connection-opened') && types.has('discovery-started');
			}, () => `netdash up; the log so far: ${JSON.stringify(readLog(logFile).map((event) => event.type))}`);
			const opened = readLog(logFile);
			const listenPort = opened.find((event) => event.type === 'listener-opened')!['port'] as number;
			const {instanceId} = opened.find((event) => event.type === 'discovery-started')!;

			// A client connects and both peers exchange bytes with netdash
			const clientPeer: Peer = {sawEnd: false, error: undefined, closed: false};
			const client = net.connect(listenPort, '127.0.0.1');
			watchPeer(client, clientPeer);
			cleanups.push(() => {
				client.destroy();
			});
			await new Promise<void>((resolve) => client.once('connect', resolve));
			client.write('hello from the client');
			await until(() => readLog(logFile).filter((event) => event.type === 'data-received').length === 2, () => 'netdash received from both peers');

			let flooder: net.Socket | undefined;
			if (isReaderStuck) {
				// The reader stops; a third client sends until netdash's stdout pipe is full and it stops reading its peers.
				running.stopReading();
				flooder = net.connect(listenPort, '127.0.0.1');
				flooder.on('error', () => {});
				cleanups.push(() => {
					flooder?.destroy();
				});
				const chunk = Buffer.alloc(64 * 1024, 'z');
				const pump = () => {
					while (flooder!.writable && flooder!.write(chunk)) {
						// Until the kernel's buffers are full.
					}
				};

				flooder.on('connect', pump);
				flooder.on('drain', pump);
				const sizeAtStop = readFileSync(logFile).length;
				let size = sizeAtStop;
				let stillSince = performance.now();
				await until(() => {
					const now = readFileSync(logFile).length;
					if (now !== size) {
						size = now;
						stillSince = performance.now();
					}

					// More events since the reader stopped than a pipe holds (64 KiB), then nothing new for 300 ms: netdash holds reading for its stuck stdout.
					return size - sizeAtStop > 96 * 1024 && performance.now() - stillSince > 300;
				}, () => `netdash's stdout to fill (log ${size} bytes)`);
			}

			// When netdash is told to end
			const startedAt = performance.now();
			running.end(ending);
			const code = await running.exited();
			// The pid is gone (polled: the shell or this process reaps it at once).
			await until(() => !existsSync(`/proc/${running.pid}`), () => `process ${running.pid} gone`, 3000);
			const elapsedMs = Math.round(performance.now() - startedAt);

			// Then: exit code 0 within 2 s
			expect(code).toBe(0);
			expect(elapsedMs).toBeLessThan(2000);

			// Both peers saw a FIN (end), no RST
			await until(() => clientPeer.closed && dialedPeer.closed, () => `both peers closed (client ${JSON.stringify({...clientPeer, socket: undefined})}, dialed ${JSON.stringify({...dialedPeer, socket: undefined})})`);
			expect({client: [clientPeer.sawEnd, clientPeer.error], dialed: [dialedPeer.sawEnd, dialedPeer.error]}).toEqual({client: [true, undefined], dialed: [true, undefined]});

			// The bye went out, with this run's instance id
			const packets = datagrams.map((bytes) => decode(bytes)).flatMap((result) => (result.ok ? [result.packet] : []));
			expect(packets.some((packet) => packet.kind === 'bye' && packet.instanceId === instanceId)).toBe(true);

			// The log was flushed: complete JSON lines, seq 1..N without a gap, every socket's closing in it
			const log = readLog(logFile);
			expect(log.map((event) => event['seq'])).toEqual(log.map((_, index) => index + 1));
			const flooded = flooder === undefined ? undefined : flooderId(log);
			const closings = log.filter((event) => ['listener-closed', 'connection-closed', 'discovery-stopped'].includes(event.type) && (flooded === undefined || event['connection'] !== flooded));
			expect(closings.map((event) => `${event.type} ${event['reason'] ?? ''}`.trim()).sort()).toEqual(['connection-closed closed', 'connection-closed closed', 'discovery-stopped stopped', 'listener-closed']);
			if (mode === 'json' && !isReaderStuck) {
				// Its last line is the last event printed.
				expect(running.badLines).toEqual([]);
				expect(log.at(-1)).toEqual(running.stdoutEvents.at(-1));
			}

			// No socket left behind: nothing listens on the port, and both ports can be bound again
			expect(isListening(listenPort)).toBe(false);
			const again = net.createServer();
			await new Promise<void>((resolve, reject) => {
				again.once('error', reject);
				again.listen(listenPort, '127.0.0.1', resolve);
			});
			again.close();
			const udpAgain = dgram.createSocket('udp4');
			await new Promise<void>((resolve, reject) => {
				udpAgain.once('error', reject);
				udpAgain.bind(discoveryPort, '0.0.0.0', resolve);
			});
			udpAgain.close();
			figures.push(`  ${`${mode} ${ending}${isReaderStuck ? ' (stuck reader)' : ''}`.padEnd(33)} exit ${code} in ${String(elapsedMs).padStart(4)} ms; FIN to client and dialed peer; bye sent; log ${log.length} events, last ${log.at(-1)!.type} (seq ${log.at(-1)!['seq']})${isReaderStuck ? `, ${running.stdoutEvents.length} of them read from stdout before it stuck` : ''}; ports ${listenPort}/tcp and ${discoveryPort}/udp bound again`);
			await sleep(0);
		});
	}
});
