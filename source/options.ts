import {NetdashError} from './core/errors.js';
import {parseFraming, type FramingSpec} from './core/framing/index.js';
import {parseHostPort, type HostPort} from './core/ports.js';
import {parseTargets} from './core/discovery/discovery.js';
import {DEFAULT_DISCOVERY_PORT} from './core/discovery/protocol.js';
import {parseCidr} from './core/tcp/admission.js';

/** What the command line asked for, validated. */
export type CliOptions = {
	listen: HostPort[];
	connect: HostPort[];
	framing: FramingSpec;
	/** Undefined: decide by whether stdout is a terminal. */
	json: boolean | undefined;
	connectTimeoutMs: number;
	maxQueuedBytes: number;
	/** `--discover [port]` and its companions; undefined when discovery was not asked for. */
	discovery: DiscoveryFlags | undefined;
	idleTimeoutMs: number;
	stallTimeoutMs: number;
	allow: string[];
	deny: string[];
	maxConnections: number;
	/** `--log FILE`: every event appended as JSON lines. */
	logFile: string | undefined;
	/** `--half-open`: a peer's FIN leaves the connection open until it is closed. */
	halfOpen: boolean;
};

/** The flags meow hands over (strings, unvalidated). */
export type RawFlags = {
	listen?: string[];
	connect?: string[];
	framing?: string;
	json?: boolean;
	connectTimeout?: string;
	maxQueued?: string;
	/** `--discover` alone gives '' (meow's string flag without a value): the default port. */
	discover?: string;
	name?: string;
	discoverInterval?: string;
	broadcastAddress?: string[];
	idleTimeout?: string;
	stallTimeout?: string;
	allow?: string[];
	deny?: string[];
	maxConns?: string;
	log?: string;
	halfOpen?: boolean;
	[unknown: string]: unknown;
};

/** What `--discover`, `--name`, `--discover-interval` and `--broadcast-address` asked for. */
export type DiscoveryFlags = {
	port: number;
	name?: string;
	intervalMs: number;
	/** Undefined: every non-loopback interface's directed broadcast. */
	broadcast?: string[];
};

/** The discovery flags, camelCased as meow gives them. */
export const discoveryFlagNames: ReadonlySet<string> = new Set(['discover', 'name', 'discoverInterval', 'broadcastAddress']);

/** Validate the discovery flags; the others only make sense with `--discover`. */
export function parseDiscoveryFlags(flags: RawFlags): DiscoveryFlags | undefined {
	if (flags.discover === undefined) {
		// meow gives [] for a repeatable flag that was not used.
		const stray = ['name', 'discoverInterval', 'broadcastAddress'].find((name) => flags[name] !== undefined && !(Array.isArray(flags[name]) && flags[name].length === 0));
		if (stray) {
			const flag = stray.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
			throw new NetdashError('BAD_FLAG', `--${flag} only applies to discovery: add --discover`);
		}

		return undefined;
	}

	let port = DEFAULT_DISCOVERY_PORT;
	if (flags.discover.trim() !== '') {
		try {
			port = parsePortText(flags.discover.trim());
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--discover ${(error as Error).message}`);
		}
	}

	if (flags.name !== undefined && flags.name.trim() === '') {
		throw new NetdashError('BAD_FLAG', '--name needs a name');
	}

	const intervalMs = flags.discoverInterval === undefined ? 5000 : positiveNumber(flags.discoverInterval, 'discover-interval', 'seconds') * 1000;
	if (intervalMs < 100) {
		throw new NetdashError('BAD_FLAG', `--discover-interval must be at least 0.1 seconds, not '${flags.discoverInterval}'`);
	}

	const broadcast = flags.broadcastAddress?.length ? flags.broadcastAddress : undefined;
	if (broadcast !== undefined) {
		try {
			parseTargets(broadcast, port);
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--broadcast-address: ${(error as Error).message}`);
		}
	}

	return {port, ...(flags.name === undefined ? {} : {name: flags.name}), intervalMs, ...(broadcast === undefined ? {} : {broadcast})};
}

function parsePortText(text: string): number {
	const port = Number(text);
	if (!/^\d+$/.test(text) || port < 1 || port > 65_535) {
		throw new NetdashError('BAD_PORT', `needs a port from 1 to 65535, not '${text}'`);
	}

	return port;
}

/** Every flag netdash knows, camelCased as meow gives them. */
export const knownFlags = new Set([
	'listen',
	'connect',
	'framing',
	'json',
	'connectTimeout',
	'maxQueued',
	'idleTimeout',
	'stallTimeout',
	'allow',
	'deny',
	'maxConns',
	'log',
	'halfOpen',
	'help',
	'version',
]);

function seconds(text: string | undefined, flag: string, fallbackMs: number, allowZero: boolean): number {
	if (text === undefined) {
		return fallbackMs;
	}

	if (allowZero && text.trim() === '0') {
		return 0;
	}

	return positiveNumber(text, flag, 'seconds') * 1000;
}

function cidrs(list: string[] | undefined, flag: string): string[] {
	return (list ?? []).map((text) => {
		try {
			return parseCidr(text).text;
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--${flag} ${(error as Error).message}`);
		}
	});
}

function positiveNumber(text: string, flag: string, unit: string): number {
	const value = Number(text);
	if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
		throw new NetdashError('BAD_FLAG', `--${flag} needs a positive number of ${unit}, not '${text}'`);
	}

	return value;
}

/** A byte count: 4096, 64k, 4M, 1G (binary multiples). */
export function parseByteCount(text: string, flag: string): number {
	const match = /^(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?$/i.exec(text.trim());
	if (!match) {
		throw new NetdashError('BAD_FLAG', `--${flag} needs a size such as 4M or 65536, not '${text}'`);
	}

	const unit = (match[2] ?? '').toLowerCase()[0];
	const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
	const value = Math.floor(Number(match[1]) * scale);
	if (value <= 0) {
		throw new NetdashError('BAD_FLAG', `--${flag} must be more than 0`);
	}

	return value;
}

/**
 * Validate flags. Throws NetdashError with one line naming the flag and the
 * bad value; the CLI prints it and exits with code 2.
 */
export function parseCliOptions(flags: RawFlags, input: readonly string[]): CliOptions {
	const unknown = Object.keys(flags).filter((name) => !knownFlags.has(name) && !discoveryFlagNames.has(name));
	if (unknown.length > 0) {
		const name = unknown[0]!.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
		throw new NetdashError('BAD_FLAG', `unknown flag --${name} (see netdash --help)`);
	}

	if (input.length > 0) {
		throw new NetdashError('BAD_FLAG', `unexpected argument '${input[0]}' (use --listen PORT or --connect HOST:PORT)`);
	}

	const listen = (flags.listen ?? []).map((text) => {
		try {
			return parseHostPort(text, {defaultHost: '127.0.0.1', allowZero: true});
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--listen ${(error as Error).message}`);
		}
	});
	const connect = (flags.connect ?? []).map((text) => {
		try {
			return parseHostPort(text, {requireHost: true});
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--connect ${(error as Error).message}`);
		}
	});
	let framing: FramingSpec = {kind: 'raw'};
	if (flags.framing !== undefined) {
		try {
			framing = parseFraming(flags.framing);
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--framing: ${(error as Error).message}`);
		}
	}

	return {
		listen,
		connect,
		framing,
		json: flags.json,
		connectTimeoutMs: seconds(flags.connectTimeout, 'connect-timeout', 10_000, false),
		maxQueuedBytes: flags.maxQueued === undefined ? 4 * 1024 * 1024 : parseByteCount(flags.maxQueued, 'max-queued'),
		discovery: parseDiscoveryFlags(flags),
		idleTimeoutMs: seconds(flags.idleTimeout, 'idle-timeout', 0, true),
		stallTimeoutMs: seconds(flags.stallTimeout, 'stall-timeout', 10_000, true),
		allow: cidrs(flags.allow, 'allow'),
		deny: cidrs(flags.deny, 'deny'),
		maxConnections: maxConnections(flags.maxConns),
		logFile: logFile(flags.log),
		halfOpen: flags.halfOpen ?? false,
	};
}

function maxConnections(text: string | undefined): number {
	if (text === undefined) {
		return 100;
	}

	if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
		throw new NetdashError('BAD_FLAG', `--max-conns needs a whole number of at least 1, not '${text}'`);
	}

	return Number(text);
}

function logFile(text: string | undefined): string | undefined {
	if (text !== undefined && text.trim() === '') {
		throw new NetdashError('BAD_FLAG', '--log needs a file name');
	}

	return text;
}
