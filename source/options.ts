import {NetdashError} from './core/errors.js';
import {parseFraming, type FramingSpec} from './core/framing/index.js';
import {isIPv6} from 'node:net';
import {parseHostPort, type HostPort} from './core/ports.js';
import {parseTargets} from './core/discovery/discovery.js';
import {DEFAULT_DISCOVERY_PORT} from './core/discovery/protocol.js';
import {parseCidr} from './core/tcp/admission.js';
import {MAX_TIMEOUT_MS} from './core/timeout.js';
import {parseForwardSpec, type ForwardSpec} from './core/relay/forward-spec.js';

/** What the command line asked for, validated. */
export type CliOptions = {
	listen: HostPort[];
	connect: HostPort[];
	/** `--forward [BIND:]PORT:HOST:HOSTPORT`: forwards to start (relay/). */
	forward: ForwardSpec[];
	/** `--forward-udp [BIND:]PORT:HOST:HOSTPORT`: UDP forwards to start. */
	forwardUdp: ForwardSpec[];
	/** UDP sockets to bind at start (`--udp`, or `-u -l PORT`). */
	udp: HostPort[];
	/** UDP sockets to bind to any port and connect to these peers (`-u HOST PORT`, `-u -c HOST:PORT`). */
	udpDial: HostPort[];
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
	/** `--log-allow-special`: --log may name a FIFO, device or socket. */
	logAllowSpecial: boolean;
	/** `--half-open`: a peer's FIN leaves the connection open until it is closed. */
	halfOpen: boolean;
};

/** The flags meow hands over (strings, unvalidated). */
export type RawFlags = {
	listen?: string[];
	connect?: string[];
	forward?: string[];
	forwardUdp?: string[];
	udp?: string[];
	/** `-u`: make the listeners and dials of this command line UDP, as `nc -u` does. */
	udpMode?: boolean;
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
	logAllowSpecial?: boolean;
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

	const intervalMs = flags.discoverInterval === undefined ? 5000 : timerSeconds(flags.discoverInterval, 'discover-interval');
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
	'forward',
	'forwardUdp',
	'udp',
	'udpMode',
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
	'logAllowSpecial',
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

	return timerSeconds(text, flag);
}

/** Seconds for a timer, in ms; over Node's timer limit is refused here rather than warned about and fired at once. */
function timerSeconds(text: string, flag: string): number {
	const ms = positiveNumber(text, flag, 'seconds') * 1000;
	if (ms > MAX_TIMEOUT_MS) {
		throw new NetdashError('BAD_FLAG', `--${flag} ${text.trim()} is too long: Node's timers go up to ${Math.floor(MAX_TIMEOUT_MS / 1000)} seconds (about 24 days)`);
	}

	return ms;
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

/** Flags that take a value, as typed (meow gives an empty list for a repeatable one given without its value). */
const valueFlags: ReadonlyArray<{long: string; short?: string}> = [
	{long: 'listen', short: 'l'},
	{long: 'connect', short: 'c'},
	{long: 'forward'},
	{long: 'forward-udp'},
	{long: 'udp'},
	{long: 'allow'},
	{long: 'deny'},
	{long: 'broadcast-address'},
];

/**
 * A value flag at the end of the command line or followed by another flag:
 * `netdash -l` or `netdash -l --json`, which meow reads as no flag at all.
 */
export function checkFlagValues(argv: readonly string[]): void {
	for (const [index, arg] of argv.entries()) {
		if (arg === '--') {
			return;
		}

		const next = argv[index + 1];
		const isMissing = next === undefined || (next.startsWith('-') && next !== '-');
		const flag = valueFlags.find(({long, short}) => arg === `--${long}` || (short !== undefined && /^-[a-zA-Z]*$/.test(arg) && arg.endsWith(short)));
		if (flag && isMissing) {
			const example = flag.long === 'listen' ? ': -l 8080 or --listen host:port' : flag.long === 'connect' ? ': -c host:port' : flag.long === 'udp' ? ': --udp 9000 or --udp host:port' : flag.long === 'forward' ? ': --forward 8080:127.0.0.1:3000' : '';
			throw new NetdashError('BAD_FLAG', `${arg} needs a value${example}`);
		}
	}
}

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
	let previous = Array.from({length: b.length + 1}, (_, index) => index);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
		}

		previous = current;
	}

	return previous[b.length]!;
}

const kebab = (name: string) => name.replaceAll(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** The known flag closest to a misspelled one, when it is close enough to be what was meant. */
export function closestFlag(name: string): string | undefined {
	const candidates = [...knownFlags, ...discoveryFlagNames].filter((flag) => flag !== 'udpMode').map(kebab);
	let best: {flag: string; cost: number} | undefined;
	for (const flag of candidates) {
		const cost = flag.startsWith(name) && name.length >= 3 ? 0 : distance(name, flag);
		if (best === undefined || cost < best.cost) {
			best = {flag, cost};
		}
	}

	return best !== undefined && best.cost <= Math.max(1, Math.floor(name.length / 3)) ? best.flag : undefined;
}

/** `HOST PORT` as netcat takes them: one dial. */
function positionalTarget(input: readonly string[]): HostPort | undefined {
	if (input.length === 0) {
		return undefined;
	}

	if (input.length !== 2) {
		throw new NetdashError('BAD_FLAG', `expected HOST PORT, not '${input.join(' ')}' (netdash HOST PORT dials, netdash -l PORT listens; see netdash --help)`);
	}

	const [host, port] = input as [string, string];
	try {
		return parseHostPort(isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`, {requireHost: true});
	} catch (error) {
		throw new NetdashError('BAD_FLAG', `netdash HOST PORT: ${(error as Error).message}`);
	}
}

/**
 * Validate flags. Throws NetdashError with one line naming the flag and the
 * bad value; the CLI prints it and exits with code 2. `argv` (the raw
 * arguments) catches a value flag given without its value.
 */
export function parseCliOptions(flags: RawFlags, input: readonly string[], argv: readonly string[] = []): CliOptions {
	checkFlagValues(argv);
	const unknown = Object.keys(flags).filter((name) => !knownFlags.has(name) && !discoveryFlagNames.has(name));
	if (unknown.length > 0) {
		const name = kebab(unknown[0]!);
		const dashes = name.length === 1 ? '-' : '--';
		const guess = closestFlag(name);
		throw new NetdashError('BAD_FLAG', `unknown flag ${dashes}${name}${guess ? ` — did you mean --${guess}?` : ''} (see netdash --help)`);
	}

	const target = positionalTarget(input);
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
	if (target) {
		connect.push(target);
	}

	const udp = (flags.udp ?? []).map((text) => {
		try {
			return parseHostPort(text, {defaultHost: '127.0.0.1', allowZero: true});
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--udp ${(error as Error).message}`);
		}
	});
	const isUdp = flags.udpMode === true;
	if (isUdp && listen.length === 0 && connect.length === 0) {
		throw new NetdashError('BAD_FLAG', '-u makes a dial or a listener UDP: netdash -u HOST PORT, or netdash -u -l PORT');
	}
	let framing: FramingSpec = {kind: 'raw'};
	if (flags.framing !== undefined) {
		try {
			framing = parseFraming(flags.framing);
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--framing: ${(error as Error).message}`);
		}
	}

	return {
		forward: forwardSpecs(flags.forward, 'forward'),
		forwardUdp: forwardSpecs(flags.forwardUdp, 'forward-udp'),
		listen: isUdp ? [] : listen,
		connect: isUdp ? [] : connect,
		udp: isUdp ? [...udp, ...listen] : udp,
		udpDial: isUdp ? connect : [],
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
		logAllowSpecial: logAllowSpecial(flags),
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

function forwardSpecs(list: string[] | undefined, flag: string): ForwardSpec[] {
	return (list ?? []).map((text) => {
		try {
			return parseForwardSpec(text);
		} catch (error) {
			throw new NetdashError('BAD_FLAG', `--${flag} ${(error as Error).message}`);
		}
	});
}

function logAllowSpecial(flags: RawFlags): boolean {
	if (flags.logAllowSpecial === true && flags.log === undefined) {
		throw new NetdashError('BAD_FLAG', '--log-allow-special only applies to --log FILE');
	}

	return flags.logAllowSpecial === true;
}

function logFile(text: string | undefined): string | undefined {
	if (text !== undefined && text.trim() === '') {
		throw new NetdashError('BAD_FLAG', '--log needs a file name');
	}

	return text;
}
