/**
 * The JSON Schema (draft-07) of every command netdash reads on stdin with
 * `--json`. It is the contract: `commandFromJson` validates each line
 * against it before building a command, so an unknown field, a wrong type or
 * a value out of range is refused with the field named, never guessed at.
 * `commandDocument` is the whole vocabulary as one standalone schema (a
 * `oneOf` keyed by `cmd`), for other tools.
 */

/** A JSON Schema object (the subset netdash writes). */
export type JsonSchema = {readonly [key: string]: unknown};

/** Node's timers hold at most 2^31 − 1 ms; a longer timeout would fire at once (TimeoutOverflowWarning). */
const maxSeconds = 2_147_483;

const ref = {type: 'string', description: 'Echoed on every event this command causes.'} as const;
const host = {type: 'string', minLength: 1, description: 'An IPv4 or IPv6 address, or a name.'} as const;
/** Port 0 asks the kernel for any free port: only where something is bound. */
const bindPort = {type: 'integer', minimum: 0, maximum: 65_535} as const;
const peerPort = {type: 'integer', minimum: 1, maximum: 65_535} as const;
const seconds = {type: 'number', exclusiveMinimum: 0, maximum: maxSeconds} as const;
const id = {type: 'string', minLength: 1} as const;
const framing = {type: 'string', description: 'raw, line, u16, u32 or fixed:N'} as const;
const halfOpen = {type: 'boolean', description: 'Keep a connection open after the peer\'s FIN (a half-close).'} as const;
// Relay (issue 13): a relay's direction and a held chunk's number.
const direction = {enum: ['to-server', 'to-client'], description: 'Which way through a relay.'} as const;
const chunk = {type: 'integer', minimum: 1, description: 'A held chunk, as relay-chunk-held numbered it.'} as const;
const cidrs = {type: 'array', items: {type: 'string'}} as const;
/** A payload: exactly one of text, hex or base64 (checked in code, which names the clash). */
const payload = {
	text: {type: 'string'},
	hex: {type: 'string', description: 'Bytes as hex, spaces allowed: "48 69".'},
	base64: {type: 'string'},
	escapes: {type: 'boolean', description: 'Read \\r \\n \\t \\xNN in text.'},
} as const;

function command(name: string, properties: Record<string, unknown>, required: readonly string[] = []): JsonSchema {
	return {
		type: 'object',
		properties: {cmd: {const: name}, ref, ...properties},
		required: ['cmd', ...required],
		additionalProperties: false,
	};
}

/** The schema of each command, by its `cmd`. */
export const commandSchemas: Readonly<Record<string, JsonSchema>> = {
	listen: command('listen', {host, port: bindPort, framing, halfOpen}, ['port']),
	// Relay (issue 13, branch relay): forward, then steering a relay (intercept, release, drop, inject, throttle).
	forward: command(
		'forward',
		{
			host,
			port: bindPort,
			target: {type: 'object', properties: {host, port: peerPort}, required: ['host', 'port'], additionalProperties: false, description: 'Where each client is relayed to.'},
			framing,
		},
		['port', 'target'],
	),
	intercept: command('intercept', {relay: id, direction, on: {type: 'boolean', description: 'true (the default) holds chunks going this way; false releases them in order.'}}, ['relay', 'direction']),
	release: command('release', {relay: id, chunk, ...payload}, ['relay', 'chunk']),
	drop: command('drop', {relay: id, chunk}, ['relay', 'chunk']),
	inject: command('inject', {relay: id, direction, ...payload}, ['relay', 'direction']),
	throttle: command('throttle', {relay: id, direction, bytesPerSecond: {type: 'number', minimum: 0, description: 'Pace of this direction; 0 lifts the limit.'}}, ['relay', 'direction', 'bytesPerSecond']),
	connect: command('connect', {host, port: peerPort, framing, timeout: seconds, halfOpen}, ['host', 'port']),
	send: command('send', {connection: id, id, ...payload, framed: {type: 'boolean'}}),
	sendfile: command('sendfile', {connection: id, path: {type: 'string', minLength: 1}}, ['connection', 'path']),
	shutdown: command('shutdown', {id, connection: id}),
	reset: command('reset', {id, connection: id}),
	close: command('close', {id, connection: id, listener: id, socket: id}),
	allow: command('allow', {cidr: {type: 'string'}}, ['cidr']),
	deny: command('deny', {cidr: {type: 'string'}}, ['cidr']),
	admission: command('admission', {allow: cidrs, deny: cidrs, maxConnections: {type: 'integer', minimum: 1}}),
	udp: command('udp', {host, port: bindPort, broadcast: {type: 'boolean'}, echo: {type: 'boolean'}, reuseAddr: {type: 'boolean'}}, ['port']),
	sendto: command('sendto', {socket: id, id, host, port: peerPort, ...payload}),
	'udp-connect': command('udp-connect', {socket: id, id, host, port: peerPort}, ['host', 'port']),
	broadcast: command('broadcast', {socket: id, id, on: {type: 'boolean'}}),
	request: command('request', {
		socket: id,
		id,
		host,
		port: peerPort,
		...payload,
		timeout: seconds,
		retries: {type: 'integer', minimum: 0, maximum: 20},
		plain: {type: 'boolean', description: 'No NDRQ header: the first datagram from the target answers.'},
	}),
	discover: command('discover', {
		port: peerPort,
		name: {type: 'string'},
		interval: seconds,
		broadcastAddress: {anyOf: [{type: 'string'}, {type: 'array', items: {type: 'string'}}]},
	}),
	probe: command('probe', {}),
	'stop-discovery': command('stop-discovery', {}),
	halfopen: command('halfopen', {on: {type: 'boolean', description: "Whether connections opened from now on stay open after the peer's FIN."}}, ['on']),
	// System pane (issue 14): the machine's sockets
	sockets: command('sockets', {}),
	'watch-sockets': command('watch-sockets', {interval: {type: 'number', minimum: 0.1, maximum: 3600, description: 'Seconds between refreshes (default 1).'}}),
	'unwatch-sockets': command('unwatch-sockets', {}),
	quit: command('quit', {}),
};

/** Every command as one standalone schema: an object whose `cmd` picks one of `commandSchemas`. */
export const commandDocument: JsonSchema = {
	$schema: 'http://json-schema.org/draft-07/schema#',
	$id: 'https://netdash.invalid/schema/command.json',
	title: 'netdash command',
	description: 'One line of netdash --json input.',
	type: 'object',
	required: ['cmd'],
	properties: {cmd: {enum: Object.keys(commandSchemas)}},
	oneOf: Object.values(commandSchemas),
};
