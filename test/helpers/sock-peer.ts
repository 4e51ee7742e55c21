import {execFileSync, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';
import {afterEach} from 'vitest';
import {missingTool} from './requires.js';

/*
 * Other programs for the machine's-sockets tests: test/fixtures/sock-peer.py
 * (a python listener, client or UDP socket driven by stdin), killed after
 * each test.
 */

const peerScript = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'sock-peer.py');

/** Why python3 cannot be used, or undefined. */
export const whyNoPython = missingTool('python3');

/** The real interpreter, not a pyenv shim: its pid and name are what the kernel shows. */
export const python = whyNoPython ? 'python3' : execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {encoding: 'utf8'}).trim();

/** /proc/PID/comm of the python peers: the file name, cut to 15 bytes by the kernel. */
export const pythonName = path.basename(python).slice(0, 15);

/** A running sock-peer.py. */
export type Peer = {child: ChildProcessWithoutNullStreams; lines: string[]; send(line: string): void; waitLine(pattern: RegExp, what: string): Promise<RegExpMatchArray>};

/** Start peers (and other children) that are killed after each test. Call once, at the top of the file. */
export function peersForEachTest(): {startPeer: (args: string[], prefix?: string[]) => Peer; children: Array<{kill(signal?: NodeJS.Signals): boolean}>} {
	const children: Array<{kill(signal?: NodeJS.Signals): boolean}> = [];
	afterEach(() => {
		for (const child of children.splice(0)) {
			child.kill('SIGKILL');
		}
	});

	function startPeer(args: string[], prefix: string[] = []): Peer {
		const [command, ...rest] = [...prefix, python, peerScript, ...args];
		const child = spawn(command!, rest, {stdio: 'pipe'});
		children.push(child);
		const lines: string[] = [];
		let errors = '';
		const wakers = new Set<() => void>();
		child.stderr.on('data', (chunk: Buffer) => {
			errors += chunk.toString();
		});
		readline.createInterface({input: child.stdout}).on('line', (line) => {
			lines.push(line);
			for (const wake of wakers) {
				wake();
			}
		});
		return {
			child,
			lines,
			send(line) {
				child.stdin.write(`${line}\n`);
			},
			async waitLine(pattern, what) {
				return new Promise((resolve, reject) => {
					const check = () => {
						for (const line of lines) {
							const match = pattern.exec(line);
							if (match) {
								wakers.delete(check);
								clearTimeout(timer);
								resolve(match);
								return;
							}
						}
					};

					const timer = setTimeout(() => {
						wakers.delete(check);
						reject(new Error(`peer ${args.join(' ')}: no ${what} within 15 s; stdout ${JSON.stringify(lines)} stderr ${errors}`));
					}, 15_000);
					wakers.add(check);
					check();
				});
			},
		};
	}

	return {startPeer, children};
}
