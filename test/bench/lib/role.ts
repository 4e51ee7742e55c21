import {readFileSync} from 'node:fs';
import process from 'node:process';

/**
 * The child side of a measured process ("role"): arguments in, messages out
 * over the IPC channel the harness opened. A role measures itself (CPU,
 * RSS) so the numbers belong to that process alone.
 */

/** A message between the harness and a role: a `type` and plain JSON fields. */
export type RoleMessage = {type: string; [field: string]: unknown};

/** `--name=value` arguments as a map (a bare `--name` is `'true'`). */
export function roleArgs(): Map<string, string> {
	const args = new Map<string, string>();
	for (const arg of process.argv.slice(2)) {
		const match = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
		if (match) {
			args.set(match[1]!, match[2] ?? 'true');
		}
	}

	return args;
}

/** A required numeric argument. */
export function numberArg(args: Map<string, string>, name: string, fallback?: number): number {
	const text = args.get(name);
	if (text === undefined) {
		if (fallback === undefined) {
			throw new Error(`role argument --${name} is missing`);
		}

		return fallback;
	}

	const value = Number(text);
	if (!Number.isFinite(value)) {
		throw new Error(`role argument --${name}=${text} is not a number`);
	}

	return value;
}

/** Tell the harness something. */
export function report(message: RoleMessage): void {
	if (!process.send) {
		process.stdout.write(JSON.stringify(message) + '\n');
		return;
	}

	process.send(message);
}

const inbox: RoleMessage[] = [];
const waiters = new Set<() => void>();
let isListening = false;

/** Resolves with the next command of this type from the harness (commands are queued until asked for). */
export async function command(type: string): Promise<RoleMessage> {
	if (!isListening) {
		isListening = true;
		process.on('message', (message: RoleMessage) => {
			inbox.push(message);
			for (const wake of waiters) {
				wake();
			}
		});
		// The harness is gone: nothing more will come.
		process.on('disconnect', () => process.exit(0));
	}

	return new Promise((resolve) => {
		const check = () => {
			const index = inbox.findIndex((message) => message.type === type);
			if (index >= 0) {
				waiters.delete(check);
				resolve(inbox.splice(index, 1)[0]!);
			}
		};

		waiters.add(check);
		check();
	});
}

/** Serve `type` commands one at a time for as long as the harness keeps the role: drivers (senders, clients) live across runs. */
export async function serve(type: string, handle: (message: RoleMessage) => Promise<RoleMessage>): Promise<never> {
	for (;;) {
		report(await handle(await command(type)));
	}
}

/** Report and exit once the message is written (the IPC channel would keep the process alive). */
export function finish(message: RoleMessage): void {
	if (!process.send) {
		report(message);
		process.exit(0);
	}

	process.send(message, undefined, {}, () => process.exit(0));
}

/** Fail loudly: the harness shows this text in its error. */
export function fail(error: unknown): void {
	const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
	if (process.send) {
		process.send({type: 'failed', message: text}, undefined, {}, () => process.exit(1));
	} else {
		process.stderr.write(text + '\n');
	}

	// Exit even if the message cannot leave; the harness then reports the exit.
	setTimeout(() => process.exit(1), 1000).unref();
}

/** A field of /proc/self/status in KiB (VmRSS, VmHWM), or 0 off Linux. */
export function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
	try {
		const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
		return match ? Number(match[1]) : 0;
	} catch {
		return 0;
	}
}

/** The monotonic clock in µs: the time base of V8's CPU profiles, to cut a profile to a window. */
export function monotonicUs(): number {
	return Number(process.hrtime.bigint() / 1000n);
}

/** CPU time (user + system) in ms used since `start`. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
	const used = process.cpuUsage(start);
	return (used.user + used.system) / 1000;
}

/** Collect garbage twice when run with --expose-gc (RSS readings then settle). */
export function collectGarbage(): void {
	const gc = (globalThis as {gc?: () => void}).gc;
	gc?.();
	gc?.();
}

/** Run a role's main function, reporting any failure. */
export function runRole(main: () => Promise<void>): void {
	process.on('uncaughtException', fail);
	main().catch(fail);
}
