/** What the core is given: its options, the options of its commands, and a command as the `--log` file records it. */

import {formatFraming, type FramingSpec} from './framing/index.js';
import type {MemoryReturnOptions} from './memory-return.js';
import type {AdmissionRules} from './tcp/admission.js';
import type {TlsConnectOptions, TlsListenOptions} from './tcp/tls-open.js';

/** Options of a core; every one has a default. */
export type CoreOptions = {
	/** Dial timeout in ms; the kernel alone would wait ~127 s for a dropped SYN. @default 10000 */
	connectTimeoutMs?: number;
	/** Bytes one connection may hold queued in memory. @default 4 MiB */
	maxQueuedBytes?: number;
	/** Largest piece handed to the kernel at once. @default 64 KiB */
	writeChunkBytes?: number;
	/**
	 * listen(2) backlog. The default asks for as deep an accept queue as the kernel allows:
	 * Linux caps it at net.core.somaxconn (4096 on recent kernels), so raising that sysctl is
	 * enough for bigger bursts. Node's own default, 511, drops bursts (FACTS.md). @default 65535
	 */
	backlog?: number;
	/** Framing for listeners and connections that name none. @default raw */
	framing?: FramingSpec;
	/** Close a connection after this long without traffic either way, in ms (0: never). @default 0 */
	idleTimeoutMs?: number;
	/** Mark a connection `stalled` when its queued bytes have not drained for this long, in ms (0: never). @default 10000 */
	stallTimeoutMs?: number;
	/** Who may connect to listeners. @default everyone, 100 connections per listener */
	admission?: Partial<AdmissionRules>;
	/** How often the stall and resource watch runs, in ms. @default 1000 */
	watchIntervalMs?: number;
	/**
	 * Received bytes between two minor collections that free read buffers (reclaim.ts). Other than 0,
	 * it also sets two V8 flags for the whole process (--expose-gc, --no-allocation-site-pretenuring);
	 * 0 leaves V8 as it was. @default 16 MiB
	 */
	reclaimEveryBytes?: number;
	/**
	 * Hand back the memory V8 grew for a burst once the bus has been quiet for a watch interval
	 * (memory-return.ts); false leaves V8 to itself. @default on: above 16 MiB of young generation, at most every 30 s
	 */
	returnMemory?: MemoryReturnOptions | false;
	/**
	 * Keep a connection open after the peer's FIN, so it can still be answered, until it is closed
	 * (`--half-open`). Off, a peer's FIN closes the connection once its queue has drained, as ncat
	 * and socat do. A half-closed connection counts toward the listener's limit until it closes. @default false
	 */
	halfOpen?: boolean;
	/** Refuse every command with this one-line reason, and watch nothing (`netdash replay`: its events come from a file). */
	readOnly?: string;
	/** Where netdash's own TLS certificate is kept (`--tls` without `--cert`). @default $XDG_CONFIG_HOME/netdash or ~/.config/netdash */
	configDirectory?: string;
};

/**
 * A command the core was given, as the `--log` file records it: the verb in
 * the JSON commands' vocabulary (`cmd`), its arguments, and its payload as
 * `data` (written as base64), whichever front end (JSON lines, dashboard)
 * gave it.
 */
export type CommandRecord = {type: 'command'; at: number; cmd: string; data?: Buffer; [field: string]: unknown};

/** Options common to commands. */
export type CommandOptions = {
	/** Echoed on the events the command causes. */
	ref?: string;
};

/** Options of `listen` and `connect`. */
export type OpenOptions = CommandOptions & {
	framing?: FramingSpec;
	/** Half-open for this listener's connections (or this dial); undefined follows the core's default (see {@link CoreOptions.halfOpen}). */
	halfOpen?: boolean;
};

/** Options of `listen`: with TLS (tcp/tls-open.ts). */
export type ListenOptions = OpenOptions & TlsListenOptions;

/** Options of `connect`: a timeout, and TLS (tcp/tls-open.ts). */
export type ConnectOptions = OpenOptions & TlsConnectOptions & {connectTimeoutMs?: number};

/** The defaults of {@link CoreOptions} that are numbers. */
export const defaults = {
	idleTimeoutMs: 0,
	stallTimeoutMs: 10_000,
	watchIntervalMs: 1000,
	connectTimeoutMs: 10_000,
	maxQueuedBytes: 4 * 1024 * 1024,
	writeChunkBytes: 64 * 1024,
	backlog: 65_535,
	reclaimEveryBytes: 16 * 1024 * 1024,
};

/** A command as the `--log` file records it (see {@link CommandRecord}), in the JSON commands' own terms. */
export function commandRecord(cmd: string, fields: Record<string, unknown>, data?: Buffer): CommandRecord {
	// Undefined fields are left out, as JSON.stringify would; the payload rides as data (base64 in the file).
	const record: CommandRecord = {type: 'command', at: Date.now(), cmd};
	for (const [name, value] of Object.entries(fields)) {
		if (value === undefined) {
			continue;
		}

		// In the JSON commands' own terms: framing as text, times in seconds (`timeout`, `interval`), `echo` for isEcho.
		if (name === 'framing') {
			record[name] = formatFraming(value as FramingSpec);
		} else if (name === 'connectTimeoutMs') {
			record['timeout'] = (value as number) / 1000;
		} else if (name.endsWith('Ms') && typeof value === 'number') {
			record[name.slice(0, -2)] = value / 1000;
		} else if (/^is[A-Z]/.test(name)) {
			record[name[2]!.toLowerCase() + name.slice(3)] = value;
		} else {
			record[name] = value;
		}
	}

	if (data !== undefined) {
		record.data = data;
	}

	return record;
}
