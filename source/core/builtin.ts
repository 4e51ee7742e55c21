import {createRequire} from 'node:module';

const require = createRequire(import.meta.url);

/** A built-in module's exports on first call; `ifLoaded()` without loading it. */
export type Builtin<T> = {(): T; ifLoaded(): T | undefined};

/**
 * A Node built-in module loaded when first used rather than when the chunk
 * naming it is: `const http = builtin<typeof import('node:http')>('node:http')`,
 * then `http().get(…)`. For modules only some sessions need (TLS, HTTP for
 * UPnP descriptions, child processes for the System pane): loaded at start,
 * node:tls, node:http and node:child_process with what they pull in cost
 * ~5 ms of every first frame (scenarios/start.ts in the bench).
 */
export function builtin<T>(specifier: `node:${string}`): Builtin<T> {
	let loaded: T | undefined;
	const load = () => (loaded ??= require(specifier) as T);
	return Object.assign(load, {ifLoaded: () => loaded});
}

/** node:child_process: `ss`, `ip` and the sock_diag helper (system/, udp/route-mtu.ts). */
export const childProcess = builtin<typeof import('node:child_process')>('node:child_process');

/** node:crypto (~4 ms to load: 38 modules): discovery's random ids and certificate summaries. */
export const crypto = builtin<typeof import('node:crypto')>('node:crypto');
