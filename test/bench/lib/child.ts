import {spawn, spawnSync, type ChildProcess} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import type {RoleMessage} from './role.js';

const benchDir = path.resolve(import.meta.dirname, '..');
const hooksPath = path.join(benchDir, 'hooks.ts');

/** A role (a measured process) started by the harness. */
export type RoleChild = {
	readonly process: ChildProcess;
	/** The next message of this type (earlier ones of other types are kept for later). */
	next<T extends RoleMessage = RoleMessage>(type: string, timeoutMs?: number): Promise<T>;
	send(message: RoleMessage): void;
	/** Resolves when the process has exited. */
	readonly exited: Promise<void>;
	/** Kill it (SIGKILL) and wait for the exit. */
	kill(): Promise<void>;
	stderr(): string;
};

/** How a role is started. */
export type RoleOptions = {
	env?: NodeJS.ProcessEnv;
	/** Extra Node flags, e.g. `--expose-gc`, `--cpu-prof`. */
	nodeFlags?: string[];
	/** Raise the open-files limit for this process (through prlimit). */
	nofile?: number;
	/** Run it in this network namespace (`ip netns exec`; needs root). */
	netns?: string;
};

let hasPrlimit: boolean | undefined;

/** This process's open-files limits (soft, hard), or undefined off Linux. */
export function nofileLimits(): {soft: number; hard: number} | undefined {
	try {
		const match = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
		const value = (text: string) => (text === 'unlimited' ? Number.POSITIVE_INFINITY : Number(text));
		return match ? {soft: value(match[1]!), hard: value(match[2]!)} : undefined;
	} catch {
		return undefined;
	}
}

/** The kernel's ceiling for any process's open-files limit (fs.nr_open), or undefined off Linux. */
function nrOpen(): number | undefined {
	try {
		return Number(readFileSync('/proc/sys/fs/nr_open', 'utf8').trim());
	} catch {
		return undefined;
	}
}

/** CAP_SYS_RESOURCE: what raising a hard limit takes (root in a container may lack it). */
const CAP_SYS_RESOURCE = 24n;

/** True when this process may raise its hard limits (it holds CAP_SYS_RESOURCE). */
function canRaiseHardLimits(): boolean {
	try {
		const match = /^CapEff:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
		return match !== null && ((BigInt(`0x${match[1]!}`) >> CAP_SYS_RESOURCE) & 1n) === 1n;
	} catch {
		return false;
	}
}

/**
 * The open-files limit a child can be given: up to the hard limit, or with
 * CAP_SYS_RESOURCE (root, unless a container withholds it) up to fs.nr_open.
 */
export function nofileCeiling(): number {
	const limits = nofileLimits();
	if (!limits) {
		return Number.POSITIVE_INFINITY;
	}

	return canRaiseHardLimits() ? Math.max(limits.hard, nrOpen() ?? 0) : limits.hard;
}

/**
 * The prlimit prefix that gives a child `wanted` open files, or none when
 * the soft limit is already enough. Without privileges only the soft limit
 * can rise, up to the hard one; with CAP_SYS_RESOURCE the hard limit rises
 * with it, up to fs.nr_open. The scale scenarios check what they got.
 */
function nofilePrefix(wanted: number | undefined): string[] {
	const limits = nofileLimits();
	if (!wanted || !limits || limits.soft >= wanted) {
		return [];
	}

	hasPrlimit ??= spawnSync('prlimit', ['--version'], {stdio: 'ignore'}).status === 0;
	if (!hasPrlimit) {
		return [];
	}

	const ceiling = nofileCeiling();
	if (ceiling > limits.hard) {
		const value = Math.min(wanted, ceiling);
		return ['prlimit', `--nofile=${value}:${Math.max(value, Number.isFinite(limits.hard) ? limits.hard : value)}`];
	}

	const hard = Number.isFinite(limits.hard) ? String(limits.hard) : 'unlimited';
	return ['prlimit', `--nofile=${Math.min(wanted, limits.hard)}:${hard}`];
}

/** Start `roles/NAME.ts` with `--key=value` arguments. */
export function startRole(name: string, args: Record<string, string | number | boolean | undefined>, options: RoleOptions = {}): RoleChild {
	const roleArgs = Object.entries(args)
		.filter(([, value]) => value !== undefined && value !== false)
		.map(([key, value]) => (value === true ? `--${key}` : `--${key}=${String(value)}`));
	const nodeArgs = ['--import', hooksPath, ...(options.nodeFlags ?? []), path.join(benchDir, 'roles', `${name}.ts`), ...roleArgs];
	const netnsPrefix = options.netns ? ['ip', 'netns', 'exec', options.netns] : [];
	const [command = process.execPath, ...argv] = [...netnsPrefix, ...nofilePrefix(options.nofile), process.execPath, ...nodeArgs];
	const child = spawn(command, argv, {
		stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
		env: {...process.env, ...options.env},
	});
	let errors = '';
	child.on('error', (error) => {
		errors += `\n${error.message}`;
	});
	child.stderr?.on('data', (chunk: Buffer) => {
		errors = (errors + chunk.toString()).slice(-8000);
	});

	const inbox: RoleMessage[] = [];
	const waiters = new Set<() => void>();
	let isExited = false;
	child.on('message', (message: RoleMessage) => {
		inbox.push(message);
		for (const wake of waiters) {
			wake();
		}
	});
	const exited = new Promise<void>((resolve) => {
		child.on('exit', () => {
			isExited = true;
			for (const wake of waiters) {
				wake();
			}

			resolve();
		});
	});

	const next = async <T extends RoleMessage>(type: string, timeoutMs = 60_000): Promise<T> =>
		new Promise<T>((resolve, reject) => {
			const check = () => {
				const failed = inbox.find((message) => message.type === 'failed');
				if (failed) {
					done();
					reject(new Error(`role ${name} failed: ${String(failed['message'])}`));
					return;
				}

				const index = inbox.findIndex((message) => message.type === type);
				if (index >= 0) {
					const [message] = inbox.splice(index, 1);
					done();
					resolve(message as T);
				} else if (isExited) {
					done();
					reject(new Error(`role ${name} exited before '${type}'${errors ? `:\n${errors}` : ''}`));
				}
			};

			const timer = setTimeout(() => {
				done();
				reject(new Error(`role ${name} sent no '${type}' within ${timeoutMs} ms${errors ? `:\n${errors}` : ''}`));
			}, timeoutMs);
			const done = () => {
				clearTimeout(timer);
				waiters.delete(check);
			};

			waiters.add(check);
			check();
		});

	return {
		process: child,
		next,
		send(message) {
			if (child.connected) {
				// A child that has just exited closes the channel: its exit is reported by next().
				child.send(message, (error) => {
					if (error) {
						errors += `\n(could not send ${message.type}: ${error.message})`;
					}
				});
			}
		},
		exited,
		async kill() {
			if (!isExited) {
				child.kill('SIGKILL');
			}

			await exited;
		},
		stderr: () => errors,
	};
}
