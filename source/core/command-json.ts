import {commandNames, type Command} from './commands.js';
import {NetdashError} from './errors.js';
import {parseEscapedText, parseHex} from './format/index.js';
import {parseFraming} from './framing/index.js';
import {FieldError, validateCommand} from './schema/validate.js';

/**
 * Commands read as JSON: one parsed value in, one `Command` out. The value is
 * first checked against the command schema (schema/command-schema.ts), so
 * every field is known, of its type and in range; what a schema cannot say
 * (exactly one payload, one id among aliases) is checked here, naming the
 * field too.
 */

type Json = Record<string, unknown>;

/** The fields of an object that are not undefined. */
function definedOnly<T extends Record<string, unknown>>(object: T): Partial<T> {
	return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/** The one id a command gives among its aliases (`socket` or `id`, say); the first alias names it in the message. */
function idOf(object: Json, names: readonly string[], isRequired = true): string | undefined {
	const given = names.filter((name) => object[name] !== undefined);
	if (given.length > 1) {
		throw new FieldError('BAD_COMMAND', `${String(object['cmd'])} takes one of ${names.map((name) => `"${name}"`).join(' or ')}, not both`, given[1]!);
	}

	if (given.length === 0 && isRequired) {
		throw new FieldError('BAD_COMMAND', `${String(object['cmd'])} needs "${names[0]!}"`, names[0]!);
	}

	return given.length === 0 ? undefined : (object[given[0]!] as string);
}

/** The payload of a send: exactly one of text (with \r \n \t \xNN escapes when `escapes` is true), hex or base64. */
function payloadOf(object: Json): Buffer {
	const cmd = String(object['cmd']);
	const given = ['text', 'hex', 'base64'].filter((name) => object[name] !== undefined);
	if (given.length !== 1) {
		throw new FieldError('BAD_COMMAND', `${cmd} needs exactly one of "text", "hex" or "base64"${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`, given[1] ?? 'text');
	}

	const name = given[0]!;
	const value = object[name] as string;
	if (name === 'hex') {
		return parseHex(value);
	}

	if (name === 'base64') {
		if (!/^[A-Za-z\d+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
			throw new FieldError('BAD_BASE64', '"base64" is not valid base64', 'base64');
		}

		return Buffer.from(value, 'base64');
	}

	return object['escapes'] === true ? parseEscapedText(value) : Buffer.from(value, 'utf8');
}

/** Seconds as given in JSON, as milliseconds for the core. */
function millis(seconds: unknown): number | undefined {
	return typeof seconds === 'number' ? seconds * 1000 : undefined;
}

/**
 * Build a command from one already-parsed JSON value (the reader parses
 * each line once). Throws NetdashError with a one-line message for anything
 * that is not a valid command; a FieldError names the field at fault.
 */
export function commandFromJson(value: unknown): Command {
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new NetdashError('BAD_JSON', 'a command is a JSON object such as {"cmd":"listen","port":0}');
	}

	const object = value as Json;
	const cmd = object['cmd'];
	if (typeof cmd !== 'string' || !(commandNames as readonly string[]).includes(cmd)) {
		throw new FieldError('BAD_COMMAND', `unknown command ${cmd === undefined ? '(no "cmd")' : (JSON.stringify(cmd) ?? 'value').slice(0, 40)}: use one of ${commandNames.join(', ')}`, 'cmd');
	}

	validateCommand(cmd, object);
	const ref = object['ref'] as string | undefined;
	const withRef = ref === undefined ? {} : {ref};
	const host = object['host'] as string | undefined;
	const port = object['port'] as number | undefined;
	const framing = typeof object['framing'] === 'string' ? {framing: parseFraming(object['framing'])} : {};
	const halfOpen = typeof object['halfOpen'] === 'boolean' ? {halfOpen: object['halfOpen']} : {};
	switch (cmd as Command['cmd']) {
		case 'listen': {
			return {cmd: 'listen', ...definedOnly({host}), port: port!, ...framing, ...halfOpen, ...withRef};
		}

		case 'forward': {
			const target = object['target'] as {host: string; port: number};
			return {cmd: 'forward', ...definedOnly({host}), port: port!, target: {host: target.host, port: target.port}, ...framing, ...withRef};
		}

		case 'intercept': {
			return {cmd: 'intercept', relay: object['relay'] as string, direction: object['direction'] as 'to-server' | 'to-client', isOn: (object['on'] as boolean | undefined) ?? true, ...withRef};
		}

		case 'release': {
			const edited = ['text', 'hex', 'base64'].some((name) => object[name] !== undefined) ? {bytes: payloadOf(object)} : {};
			return {cmd: 'release', relay: object['relay'] as string, chunk: object['chunk'] as number, ...edited, ...withRef};
		}

		case 'drop': {
			return {cmd: 'drop', relay: object['relay'] as string, chunk: object['chunk'] as number, ...withRef};
		}

		case 'throttle': {
			return {cmd: 'throttle', relay: object['relay'] as string, direction: object['direction'] as 'to-server' | 'to-client', bytesPerSecond: object['bytesPerSecond'] as number, ...withRef};
		}

		case 'inject': {
			return {cmd: 'inject', relay: object['relay'] as string, direction: object['direction'] as 'to-server' | 'to-client', bytes: payloadOf(object), ...withRef};
		}

		case 'connect': {
			return {cmd: 'connect', host: host!, port: port!, ...framing, ...definedOnly({timeoutMs: millis(object['timeout'])}), ...halfOpen, ...withRef};
		}

		case 'send': {
			const framed = object['framed'] === true ? {framed: true} : {};
			return {cmd: 'send', connection: idOf(object, ['connection', 'id'])!, bytes: payloadOf(object), ...framed, ...withRef};
		}

		case 'halfopen': {
			return {cmd: 'halfopen', isOn: object['on'] as boolean, ...withRef};
		}

		case 'sendfile': {
			return {cmd: 'sendfile', connection: object['connection'] as string, path: object['path'] as string, ...withRef};
		}

		case 'shutdown':
		case 'reset':
		case 'close': {
			const names = cmd === 'close' ? ['id', 'connection', 'listener', 'socket'] : ['id', 'connection'];
			return {cmd: cmd as 'shutdown' | 'reset' | 'close', id: idOf(object, names)!, ...withRef};
		}

		case 'allow':
		case 'deny': {
			return {cmd: cmd as 'allow' | 'deny', cidr: object['cidr'] as string, ...withRef};
		}

		case 'admission': {
			const {allow, deny, maxConnections} = object as {allow?: string[]; deny?: string[]; maxConnections?: number};
			return {cmd: 'admission', ...definedOnly({allow, deny, maxConnections}), ...withRef};
		}

		case 'udp': {
			const flags = {isBroadcast: object['broadcast'] as boolean | undefined, isEcho: object['echo'] as boolean | undefined, reuseAddr: object['reuseAddr'] as boolean | undefined};
			return {cmd: 'udp', ...definedOnly({host}), port: port!, ...definedOnly(flags), ...withRef};
		}

		case 'sendto':
		case 'request': {
			// Host and port go together: a connected socket knows where to send.
			if ((host === undefined) !== (port === undefined)) {
				throw new FieldError(host === undefined ? 'BAD_ADDRESS' : 'BAD_PORT', `${cmd} needs "host" and "port" together, or neither on a connected socket`, host === undefined ? 'host' : 'port');
			}

			const to = host === undefined ? {} : {host, port: port!};
			if (cmd === 'sendto') {
				return {cmd: 'sendto', socket: idOf(object, ['socket', 'id'])!, ...to, bytes: payloadOf(object), ...withRef};
			}

			const isPlain = object['plain'] === true;
			// A plain request may leave out the socket: it then gets one of its own, connected to the target.
			const socket = idOf(object, ['socket', 'id'], !isPlain);
			if (socket === undefined && host === undefined) {
				throw new FieldError('BAD_ADDRESS', 'a plain request without "socket" needs "host" and "port"', 'host');
			}

			const retry = definedOnly({timeoutMs: millis(object['timeout']), retries: object['retries'] as number | undefined});
			return {cmd: 'request', ...definedOnly({socket}), ...to, bytes: payloadOf(object), ...retry, ...(isPlain ? {isPlain} : {}), ...withRef};
		}

		case 'udp-connect': {
			return {cmd: 'udp-connect', socket: idOf(object, ['socket', 'id'])!, host: host!, port: port!, ...withRef};
		}

		case 'broadcast': {
			return {cmd: 'broadcast', socket: idOf(object, ['socket', 'id'])!, isOn: (object['on'] as boolean | undefined) ?? true, ...withRef};
		}

		case 'discover': {
			const given = object['broadcastAddress'] as string | string[] | undefined;
			const broadcast = typeof given === 'string' ? [given] : given;
			return {
				cmd: 'discover',
				...definedOnly({port, name: object['name'] as string | undefined, intervalMs: millis(object['interval']), broadcast}),
				...withRef,
			};
		}

		// System pane (issue 14): the machine's sockets
		case 'watch-sockets': {
			return {cmd: 'watch-sockets', intervalMs: millis(object['interval']) ?? 1000, ...withRef};
		}

		case 'sockets':
		case 'unwatch-sockets': {
			return {cmd: cmd as 'sockets' | 'unwatch-sockets', ...withRef};
		}

		case 'probe':
		case 'stop-discovery':
		case 'quit': {
			return {cmd: cmd as 'probe' | 'stop-discovery' | 'quit', ...withRef};
		}
	}
}

/** The ref of a value that is not a valid command, when it is an object with a string `ref`: its failure still carries it. */
export function refOfJson(value: unknown): string | null {
	const ref = typeof value === 'object' && value !== null ? (value as {ref?: unknown}).ref : undefined;
	return typeof ref === 'string' ? ref : null;
}

/**
 * Parse one line of `--json` input into a command: JSON.parse, then
 * {@link commandFromJson}. Throws NetdashError with a one-line message for
 * anything malformed.
 */
export function parseJsonCommand(line: string): Command {
	let parsed: unknown;
	try {
		parsed = JSON.parse(line);
	} catch {
		throw new NetdashError('BAD_JSON', `not a JSON object: ${line.length > 60 ? `${line.slice(0, 60)}…` : line}`);
	}

	return commandFromJson(parsed);
}
