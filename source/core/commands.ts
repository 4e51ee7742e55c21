import type {Core} from './core.js';
import {NetdashError, errorCode, oneLine} from './errors.js';
import type {BusEvent} from './events.js';
import {parseEscapedText, parseHex} from './format/index.js';
import {parseFraming, type FramingSpec} from './framing/index.js';

/**
 * The command vocabulary shared by `--json` (one JSON object per stdin line)
 * and the dashboard's `:` command line. Each maps onto one core verb.
 */
export type Command =
	/** `halfOpen`: its connections stay open after the peer's FIN (otherwise the default, see `halfopen`). */
	| {cmd: 'listen'; host?: string; port: number; framing?: FramingSpec; halfOpen?: boolean; ref?: string}
	| {cmd: 'connect'; host: string; port: number; framing?: FramingSpec; timeoutMs?: number; halfOpen?: boolean; ref?: string}
	/** Change the default of half-open (`--half-open`) while running. */
	| {cmd: 'halfopen'; isOn: boolean; ref?: string}
	| {cmd: 'send'; connection: string; bytes: Buffer; framed?: boolean; ref?: string}
	| {cmd: 'shutdown' | 'reset' | 'close'; id: string; ref?: string}
	| {cmd: 'admission'; allow?: string[]; deny?: string[]; maxConnections?: number; ref?: string}
	| {cmd: 'allow' | 'deny'; cidr: string; ref?: string}
	/** Bind a UDP socket (`isBroadcast`: SO_BROADCAST on; `isEcho`: answer requests). */
	| {cmd: 'udp'; host?: string; port: number; isBroadcast?: boolean; isEcho?: boolean; reuseAddr?: boolean; ref?: string}
	/** Send one datagram; host and port may be left out on a connected socket. */
	| {cmd: 'sendto'; socket: string; host?: string; port?: number; bytes: Buffer; ref?: string}
	| {cmd: 'udp-connect'; socket: string; host: string; port: number; ref?: string}
	| {cmd: 'broadcast'; socket: string; isOn: boolean; ref?: string}
	/** A request with a random id, resent with backoff until a reply carries it. */
	| {cmd: 'request'; socket: string; host?: string; port?: number; bytes: Buffer; timeoutMs?: number; retries?: number; ref?: string}
	| {cmd: 'discover'; port?: number; name?: string; intervalMs?: number; broadcast?: string[]; ref?: string}
	| {cmd: 'probe' | 'stop-discovery'; ref?: string}
	| {cmd: 'quit'; ref?: string};

/** The names of every command. */
export const commandNames = ['listen', 'connect', 'send', 'shutdown', 'reset', 'close', 'allow', 'deny', 'admission', 'udp', 'sendto', 'udp-connect', 'broadcast', 'request', 'discover', 'probe', 'stop-discovery', 'halfopen', 'quit'] as const;

type Json = Record<string, unknown>;

function field(object: Json, name: string, type: 'string' | 'number' | 'boolean', isRequired: boolean): unknown {
	const value = object[name];
	if (value === undefined || value === null) {
		if (isRequired) {
			throw new NetdashError('BAD_COMMAND', `${String(object['cmd'])} needs "${name}"`);
		}

		return undefined;
	}

	if (typeof value !== type) {
		throw new NetdashError('BAD_COMMAND', `"${name}" must be a ${type}, not ${JSON.stringify(value).slice(0, 40)}`);
	}

	return value;
}

function portField(object: Json, isRequired: boolean): number {
	const value = object['port'];
	const port = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
	if (typeof port !== 'number' || !Number.isInteger(port)) {
		throw new NetdashError('BAD_PORT', `${String(object['cmd'])} needs "port" as a whole number, not ${JSON.stringify(value) ?? 'nothing'}`);
	}

	if (port < (isRequired ? 1 : 0) || port > 65_535) {
		throw new NetdashError('BAD_PORT', `port ${port} is out of range (${isRequired ? 1 : 0}–65535)`);
	}

	return port;
}

/** The fields of an object that are not undefined. */
function definedOnly<T extends Record<string, unknown>>(object: T): Partial<T> {
	return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The payload of a send: exactly one of text (with \r \n \t \xNN escapes when `escapes` is true), hex or base64. */
function payloadField(object: Json): Buffer {
	const given = ['text', 'hex', 'base64'].filter((name) => object[name] !== undefined);
	if (given.length !== 1) {
		throw new NetdashError('BAD_COMMAND', `send needs exactly one of "text", "hex" or "base64"${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`);
	}

	const name = given[0]!;
	const value = field(object, name, 'string', true) as string;
	if (name === 'hex') {
		return parseHex(value);
	}

	if (name === 'base64') {
		if (!/^[A-Za-z\d+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
			throw new NetdashError('BAD_BASE64', '"base64" is not valid base64');
		}

		return Buffer.from(value, 'base64');
	}

	return object['escapes'] === true ? parseEscapedText(value) : Buffer.from(value, 'utf8');
}

/**
 * Parse one line of `--json` input into a command. Throws NetdashError with
 * a one-line message for anything malformed.
 */
export function parseJsonCommand(line: string): Command {
	let parsed: unknown;
	try {
		parsed = JSON.parse(line);
	} catch {
		throw new NetdashError('BAD_JSON', `not a JSON object: ${line.length > 60 ? `${line.slice(0, 60)}…` : line}`);
	}

	if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
		throw new NetdashError('BAD_JSON', 'a command is a JSON object such as {"cmd":"listen","port":0}');
	}

	const object = parsed as Json;
	const ref = field(object, 'ref', 'string', false) as string | undefined;
	const withRef = ref === undefined ? {} : {ref};
	const cmd = object['cmd'];
	const framingText = field(object, 'framing', 'string', false) as string | undefined;
	const framing = framingText === undefined ? {} : {framing: parseFraming(framingText)};
	const halfOpenField = () => {
		const halfOpen = field(object, 'halfOpen', 'boolean', false) as boolean | undefined;
		return halfOpen === undefined ? {} : {halfOpen};
	};

	switch (cmd) {
		case 'listen': {
			const host = field(object, 'host', 'string', false) as string | undefined;
			return {cmd, ...(host === undefined ? {} : {host}), port: portField(object, false), ...framing, ...halfOpenField(), ...withRef};
		}

		case 'halfopen': {
			return {cmd, isOn: field(object, 'on', 'boolean', true) as boolean, ...withRef};
		}

		case 'connect': {
			const timeout = field(object, 'timeout', 'number', false) as number | undefined;
			return {
				cmd,
				host: field(object, 'host', 'string', true) as string,
				port: portField(object, true),
				...framing,
				...(timeout === undefined ? {} : {timeoutMs: timeout * 1000}),
				...halfOpenField(),
				...withRef,
			};
		}

		case 'send': {
			const connection = (field(object, 'connection', 'string', false) ?? field(object, 'id', 'string', true)) as string;
			const framed = field(object, 'framed', 'boolean', false) as boolean | undefined;
			return {cmd, connection, bytes: payloadField(object), ...(framed ? {framed} : {}), ...withRef};
		}

		case 'shutdown':
		case 'reset':
		case 'close': {
			const id = (field(object, 'id', 'string', false) ?? field(object, 'connection', 'string', false) ?? field(object, 'listener', 'string', true)) as string;
			return {cmd, id, ...withRef};
		}

		case 'allow':
		case 'deny': {
			return {cmd, cidr: field(object, 'cidr', 'string', true) as string, ...withRef};
		}

		case 'admission': {
			const list = (name: string) => {
				const value = object[name];
				if (value === undefined) {
					return {};
				}

				if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
					throw new NetdashError('BAD_COMMAND', `"${name}" must be an array of CIDR strings`);
				}

				return {[name]: value as string[]};
			};

			const maxConnections = field(object, 'maxConnections', 'number', false) as number | undefined;
			return {cmd, ...list('allow'), ...list('deny'), ...(maxConnections === undefined ? {} : {maxConnections}), ...withRef};
		}

		case 'udp': {
			const host = field(object, 'host', 'string', false) as string | undefined;
			const flags = {
				isBroadcast: field(object, 'broadcast', 'boolean', false) as boolean | undefined,
				isEcho: field(object, 'echo', 'boolean', false) as boolean | undefined,
				reuseAddr: field(object, 'reuseAddr', 'boolean', false) as boolean | undefined,
			};
			return {cmd, ...(host === undefined ? {} : {host}), port: portField(object, false), ...definedOnly(flags), ...withRef};
		}

		case 'sendto':
		case 'request': {
			const socket = (field(object, 'socket', 'string', false) ?? field(object, 'id', 'string', true)) as string;
			const host = field(object, 'host', 'string', false) as string | undefined;
			// Host and port are optional together: a connected socket knows where to send.
			const to = host === undefined && object['port'] === undefined ? {} : {host: field(object, 'host', 'string', true) as string, port: portField(object, true)};
			if (cmd === 'sendto') {
				return {cmd, socket, ...to, bytes: payloadField(object), ...withRef};
			}

			const timeout = field(object, 'timeout', 'number', false) as number | undefined;
			const retries = field(object, 'retries', 'number', false) as number | undefined;
			return {cmd, socket, ...to, bytes: payloadField(object), ...(timeout === undefined ? {} : {timeoutMs: timeout * 1000}), ...(retries === undefined ? {} : {retries}), ...withRef};
		}

		case 'udp-connect': {
			const socket = (field(object, 'socket', 'string', false) ?? field(object, 'id', 'string', true)) as string;
			return {cmd, socket, host: field(object, 'host', 'string', true) as string, port: portField(object, true), ...withRef};
		}

		case 'broadcast': {
			const socket = (field(object, 'socket', 'string', false) ?? field(object, 'id', 'string', true)) as string;
			return {cmd, socket, isOn: (field(object, 'on', 'boolean', false) as boolean | undefined) ?? true, ...withRef};
		}

		case 'discover': {
			const interval = field(object, 'interval', 'number', false) as number | undefined;
			const name = field(object, 'name', 'string', false) as string | undefined;
			const given = object['broadcastAddress'];
			const broadcast = typeof given === 'string' ? [given] : given;
			if (broadcast !== undefined && (!Array.isArray(broadcast) || !broadcast.every((item) => typeof item === 'string'))) {
				throw new NetdashError('BAD_COMMAND', '"broadcastAddress" must be an address or an array of addresses such as "10.0.0.255"');
			}

			return {
				cmd,
				...(object['port'] === undefined ? {} : {port: portField(object, true)}),
				...(name === undefined ? {} : {name}),
				...(interval === undefined ? {} : {intervalMs: interval * 1000}),
				...(broadcast === undefined ? {} : {broadcast: broadcast as string[]}),
				...withRef,
			};
		}

		case 'probe':
		case 'stop-discovery': {
			return {cmd, ...withRef};
		}

		case 'quit': {
			return {cmd, ...withRef};
		}

		default: {
			throw new NetdashError('BAD_COMMAND', `unknown command ${JSON.stringify(cmd) ?? '(no "cmd")'}: use one of ${commandNames.join(', ')}`);
		}
	}
}

/**
 * Carry a command out on the core. `quit` is not the core's: it returns
 * true so the caller can shut down. Every failure is a `command-failed` event.
 */
export function executeCommand(core: Core, command: Command): boolean {
	const options = command.ref === undefined ? {} : {ref: command.ref};
	switch (command.cmd) {
		case 'listen': {
			core.listen(command.host, command.port, {
				...options,
				...(command.framing ? {framing: command.framing} : {}),
				...(command.halfOpen === undefined ? {} : {halfOpen: command.halfOpen}),
			});
			return false;
		}

		case 'halfopen': {
			core.setHalfOpen(command.isOn, options);
			return false;
		}

		case 'connect': {
			core.connect(command.host, command.port, {
				...options,
				...(command.framing ? {framing: command.framing} : {}),
				...(command.halfOpen === undefined ? {} : {halfOpen: command.halfOpen}),
				...(command.timeoutMs === undefined ? {} : {connectTimeoutMs: command.timeoutMs}),
			});
			return false;
		}

		case 'send': {
			core.send(command.connection, command.bytes, {...options, ...(command.framed ? {framed: true} : {})});
			return false;
		}

		case 'shutdown': {
			core.shutdown(command.id, options);
			return false;
		}

		case 'reset': {
			core.reset(command.id, options);
			return false;
		}

		case 'close': {
			core.close(command.id, options);
			return false;
		}

		case 'allow':
		case 'deny': {
			// Adds one rule to the list in force.
			core.setAdmission({[command.cmd]: [...core.admission[command.cmd], command.cidr]}, options);
			return false;
		}

		case 'admission': {
			const {allow, deny, maxConnections} = command;
			core.setAdmission({...(allow ? {allow} : {}), ...(deny ? {deny} : {}), ...(maxConnections === undefined ? {} : {maxConnections})}, options);
			return false;
		}

		case 'udp': {
			const {host, port, cmd: _, ...bind} = command;
			core.udpBind(host, port, {...bind, ...options});
			return false;
		}

		case 'sendto': {
			core.udpSend(command.socket, command.host, command.port, command.bytes, options);
			return false;
		}

		case 'udp-connect': {
			core.udpConnect(command.socket, command.host, command.port, options);
			return false;
		}

		case 'broadcast': {
			core.setBroadcast(command.socket, command.isOn, options);
			return false;
		}

		case 'request': {
			const retry = {...(command.timeoutMs === undefined ? {} : {timeoutMs: command.timeoutMs}), ...(command.retries === undefined ? {} : {retries: command.retries})};
			core.udpRequest(command.socket, command.host, command.port, command.bytes, {...retry, ...options});
			return false;
		}

		case 'discover': {
			const {cmd: _, ...discovery} = command;
			core.startDiscovery({...discovery, ...options});
			return false;
		}

		case 'probe': {
			core.probe(options);
			return false;
		}

		case 'stop-discovery': {
			core.stopDiscovery(options);
			return false;
		}

		case 'quit': {
			return true;
		}
	}
}

/** Report a command that could not be parsed, as `command-failed` on the bus. */
export function reportBadCommand(core: Core, error: unknown, ref: string | null = null): void {
	core.bus.emit({type: 'command-failed', ref, code: errorCode(error), message: oneLine(error)});
}

/**
 * One event as one line of JSON: payloads (`data`) become `base64`, so the
 * output holds no raw bytes from the network.
 */
export function eventToJson(event: BusEvent): string {
	if ('data' in event) {
		const {data, ...rest} = event;
		// Base64 needs no JSON escaping: splice it in rather than have JSON.stringify scan it (the --log hot path).
		const head = asciiJson(rest);
		return `${head.slice(0, -1)},"base64":"${data.toString('base64')}"}`;
	}

	return asciiJson(event);
}

/** DEL and every code point outside ASCII, for escaping. */
const nonAscii = /[\u007f-\uffff]/g;

/**
 * JSON with every non-ASCII character escaped as \uXXXX: still the same JSON
 * to any reader, and pure ASCII, so writers can encode it as latin1 (a copy)
 * instead of UTF-8 — and a terminal showing it raw never sees a C1 or bidi
 * control from a peer's name.
 */
export function asciiJson(value: unknown): string {
	const text = JSON.stringify(value);
	nonAscii.lastIndex = 0;
	return nonAscii.test(text) ? text.replaceAll(nonAscii, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) : text;
}
