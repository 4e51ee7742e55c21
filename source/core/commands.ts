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
	| {cmd: 'listen'; host?: string; port: number; framing?: FramingSpec; ref?: string}
	| {cmd: 'connect'; host: string; port: number; framing?: FramingSpec; timeoutMs?: number; ref?: string}
	| {cmd: 'send'; connection: string; bytes: Buffer; framed?: boolean; ref?: string}
	| {cmd: 'shutdown' | 'reset' | 'close'; id: string; ref?: string}
	| {cmd: 'quit'; ref?: string};

/** The names of every command. */
export const commandNames = ['listen', 'connect', 'send', 'shutdown', 'reset', 'close', 'quit'] as const;

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
	switch (cmd) {
		case 'listen': {
			const host = field(object, 'host', 'string', false) as string | undefined;
			return {cmd, ...(host === undefined ? {} : {host}), port: portField(object, false), ...framing, ...withRef};
		}

		case 'connect': {
			const timeout = field(object, 'timeout', 'number', false) as number | undefined;
			return {
				cmd,
				host: field(object, 'host', 'string', true) as string,
				port: portField(object, true),
				...framing,
				...(timeout === undefined ? {} : {timeoutMs: timeout * 1000}),
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
			core.listen(command.host, command.port, {...options, ...(command.framing ? {framing: command.framing} : {})});
			return false;
		}

		case 'connect': {
			core.connect(command.host, command.port, {
				...options,
				...(command.framing ? {framing: command.framing} : {}),
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
		return JSON.stringify({...rest, base64: data.toString('base64')});
	}

	return JSON.stringify(event);
}
