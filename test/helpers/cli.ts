import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {existsSync} from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';

/** The CLI as installed (package.json `bin`: the bundle); `npm test` builds it before vitest runs. */
export const cliPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'bin', 'cli.js');

/** A netdash child process speaking JSON lines. */
export type JsonChild = {
	readonly child: ChildProcessWithoutNullStreams;
	/** Every event printed so far, parsed. */
	readonly events: Array<Record<string, any>>;
	/** Lines of stdout that were not JSON (there must be none). */
	readonly badLines: string[];
	send(command: Record<string, unknown> | string): void;
	waitFor(match: (event: Record<string, any>) => boolean, what: string, timeoutMs?: number): Promise<Record<string, any>>;
	/** Resolves with the exit code (or signal name). */
	readonly exited: Promise<number | string>;
	stderr(): string;
};

/** Options of spawnJson. */
export type SpawnJsonOptions = {
	env?: NodeJS.ProcessEnv;
	/** A command that runs node, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, so the child's pid is node's). */
	prefix?: string[];
	/** Run this instead of `node dist/bin/cli.js` (e.g. an installed `netdash`); ARGS follow it. */
	command?: string[];
};

/** Spawn `node dist/bin/cli.js ARGS` with Node 24 (the test runner's own node), optionally behind a `prefix` command. */
export function spawnJson(args: string[], options: SpawnJsonOptions = {}): JsonChild {
	if (options.command === undefined && !existsSync(cliPath)) {
		throw new Error(`${cliPath} is missing: run npm run build (npm test does it first)`);
	}

	const [command, ...commandArgs] = [...(options.prefix ?? []), ...(options.command ?? [process.execPath, cliPath])];
	const child = spawn(command!, [...commandArgs, ...args], {env: {...process.env, ...options.env}, stdio: 'pipe'});
	const events: Array<Record<string, any>> = [];
	const badLines: string[] = [];
	const wakers = new Set<() => void>();
	let errors = '';
	child.stderr.on('data', (chunk: Buffer) => {
		errors += chunk.toString();
	});
	readline.createInterface({input: child.stdout}).on('line', (line) => {
		try {
			events.push(JSON.parse(line) as Record<string, any>);
		} catch {
			badLines.push(line);
		}

		for (const wake of wakers) {
			wake();
		}
	});
	const exited = new Promise<number | string>((resolve) => {
		child.on('exit', (code, signal) => {
			resolve(code ?? signal ?? 'unknown');
			for (const wake of wakers) {
				wake();
			}
		});
	});

	return {
		child,
		events,
		badLines,
		send(command) {
			child.stdin.write((typeof command === 'string' ? command : JSON.stringify(command)) + '\n');
		},
		async waitFor(match, what, timeoutMs = 10_000) {
			return new Promise((resolve, reject) => {
				const check = () => {
					const found = events.find(match);
					if (found) {
						done();
						resolve(found);
					} else if (child.exitCode !== null) {
						done();
						reject(new Error(`netdash exited (${child.exitCode}) before ${what}; stderr: ${errors}\nevents: ${JSON.stringify(events.slice(-10))}`));
					}
				};

				const timer = setTimeout(() => {
					done();
					reject(new Error(`no ${what} within ${timeoutMs} ms; stderr: ${errors}\nlast events: ${JSON.stringify(events.slice(-10))}`));
				}, timeoutMs);
				const done = () => {
					clearTimeout(timer);
					wakers.delete(check);
				};

				wakers.add(check);
				check();
			});
		},
		exited,
		stderr: () => errors,
	};
}

/** Run the CLI to completion and return its exit code and output. */
export async function runCli(args: string[], input = ''): Promise<{code: number | null; stdout: string; stderr: string}> {
	const child = spawn(process.execPath, [cliPath, ...args], {stdio: 'pipe'});
	let stdout = '';
	let stderr = '';
	child.stdout.on('data', (chunk: Buffer) => {
		stdout += chunk.toString();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	child.stdin.end(input);
	const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
	return {code, stdout, stderr};
}
