import type {JsonSchema} from './command-schema.js';

/**
 * The JSON Schema (draft-07) of every event netdash writes with `--json`,
 * as written (payloads as `base64`). Fields each event always has are
 * required; fields may be added in later versions, so a reader should ignore
 * the ones it does not know, and the schema allows them.
 */

const count = {type: 'integer', minimum: 0} as const;
/** A number that starts at 1: seq, attempts, how many datagrams an event stands for. */
const many = {type: 'integer', minimum: 1} as const;
const text = {type: 'string'} as const;
const bool = {type: 'boolean'} as const;
/** A field of the half-open work (branch real-clients): optional until every build writes it. */
const isHalfOpen = {type: 'boolean', description: 'True when the peer\'s FIN leaves the connection open (--half-open).'} as const;
const port = {type: 'integer', minimum: 0, maximum: 65_535} as const;
const endpoint = {type: 'object', properties: {address: text, port}, required: ['address', 'port']} as const;
const base64 = {type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$'} as const;
const requestId = {type: 'integer', minimum: 1, maximum: 4_294_967_295} as const;
const peer = {
	instanceId: text,
	name: text,
	address: text,
	port,
	ports: {type: 'array', items: port},
	state: {enum: ['fresh', 'stale', 'expired']},
	rttMs: {type: ['number', 'null']},
	firstSeen: {type: 'number'},
	lastSeen: {type: 'number'},
} as const;
// TLS (issue 17): the `tls` field of listener-opened and connection-opened.
const certificate = {
	type: 'object',
	properties: {subject: text, issuer: text, validFrom: text, validTo: text, fingerprint256: {type: 'string', pattern: '^([0-9A-F]{2}:){31}[0-9A-F]{2}$'}},
	required: ['subject', 'issuer', 'validFrom', 'validTo', 'fingerprint256'],
} as const;
const tlsSession = {
	type: 'object',
	properties: {protocol: text, cipher: text, alpn: {type: ['string', 'null']}, certificate, isInsecure: bool, verifyError: text},
	required: ['protocol', 'cipher', 'alpn'],
} as const;
const listenerTls = {type: 'object', properties: {certificate}, required: ['certificate']} as const;
const peerRequired = Object.keys(peer);
/** LAN discovery (branch lan): the fields every service-* event carries. */
const serviceProtocol = {enum: ['mdns', 'ssdp', 'syncthing']} as const;
const stringMap = {type: 'object', additionalProperties: text} as const;
const service = {
	protocol: serviceProtocol,
	key: text,
	name: text,
	serviceType: text,
	host: text,
	address: text,
	port: {type: ['integer', 'null'], minimum: 0, maximum: 65_535},
	txt: stringMap,
	details: stringMap,
	state: {enum: ['fresh', 'stale']},
	firstSeen: {type: 'number'},
	lastSeen: {type: 'number'},
	expiresAt: {type: 'number'},
} as const;

const systemSocket = {
	type: 'object',
	properties: {
		protocol: {enum: ['tcp', 'udp']},
		family: {enum: [4, 6]},
		local: endpoint,
		remote: endpoint,
		state: text,
		recvQueue: count,
		sendQueue: count,
		uid: count,
		inode: count,
		pid: {type: ['integer', 'null'], minimum: 1},
		process: text,
		whyUnknown: text,
		bytesIn: {type: ['integer', 'null'], minimum: 0},
		bytesOut: {type: ['integer', 'null'], minimum: 0},
		rttMs: {type: ['number', 'null'], minimum: 0},
		isOwn: {type: 'boolean'},
	},
	required: ['protocol', 'family', 'local', 'remote', 'state', 'recvQueue', 'sendQueue', 'uid', 'inode', 'pid', 'process', 'bytesIn', 'bytesOut', 'rttMs', 'isOwn'],
} as const;
const systemSockets = {type: 'array', items: systemSocket} as const;
/** A row of system-sockets-changed: a socket with its rates since the previous refresh. */
const systemSocketRates = {
	...systemSocket,
	properties: {...systemSocket.properties, rateIn: {type: ['number', 'null'], minimum: 0}, rateOut: {type: ['number', 'null'], minimum: 0}},
	required: [...systemSocket.required, 'rateIn', 'rateOut'],
} as const;
const systemSocketsRates = {type: 'array', items: systemSocketRates} as const;
const missing = {type: 'array', items: text} as const;

const ruleState = {enum: ['active', 'paused', 'spent', 'removed']} as const;
/** A rule's counts now, on each of its events. */
const ruleCounts = {hits: count, replies: count, skipped: count} as const;
const ruleView = {
	rule: text,
	pattern: text,
	reply: text,
	state: ruleState,
	hits: count,
	replies: count,
	skipped: count,
	on: {type: 'array', items: text},
	delay: {type: 'number', minimum: 0},
	then: {enum: ['close', 'reset']},
	max: {type: 'integer', minimum: 1},
} as const;
const ruleRequired = ['rule', 'pattern', 'reply', 'state', 'hits', 'replies', 'skipped'];
const scheduleView = {schedule: text, connection: text, bytes: count, every: {type: 'number', exclusiveMinimum: 0}, count: {type: 'integer', minimum: 1}, sent: count, skipped: count} as const;
const scheduleRequired = ['schedule', 'connection', 'bytes', 'sent', 'skipped'];
const direction = {enum: ['in', 'out']} as const;

function event(type: string, properties: Record<string, unknown>, required: readonly string[] = Object.keys(properties)): JsonSchema {
	return {
		type: 'object',
		properties: {
			type: {const: type},
			seq: many,
			at: {type: 'number'},
			ref: {type: ['string', 'null']},
			...properties,
		},
		required: ['type', 'seq', 'at', ...required],
	};
}

/**
 * The schema of each event, by its `type` (`message-partial` and
 * `delimiter` came with dash-input). test/core/event-schema.test.ts holds it
 * to events.ts and to the readme's tables.
 */
export const eventSchemas: Readonly<Record<string, JsonSchema>> = {
	'listener-opened': event('listener-opened', {listener: text, address: text, port, framing: text, isHalfOpen, target: endpoint, tls: listenerTls}, ['listener', 'address', 'port', 'framing']),
	'listener-closed': event('listener-closed', {listener: text, accepted: count}),
	'connection-dialing': event('connection-dialing', {connection: text, remote: endpoint, framing: text, isHalfOpen, relay: text, partner: text}, ['connection', 'remote', 'framing', 'isHalfOpen']),
	'connection-opened': event(
		'connection-opened',
		{connection: text, listener: {type: ['string', 'null']}, origin: {enum: ['accepted', 'dialed']}, local: endpoint, remote: endpoint, framing: text, isHalfOpen, relay: text, partner: text, tls: tlsSession},
		['connection', 'listener', 'origin', 'local', 'remote', 'framing', 'isHalfOpen'],
	),
	// TLS (issue 17): a handshake that failed on an accepted connection.
	'tls-handshake-failed': event('tls-handshake-failed', {listener: text, remote: endpoint, code: text, message: text}),
	'data-received': event('data-received', {connection: text, bytes: count, base64}),
	'send-queued': event('send-queued', {connection: text, bytes: count, queued: count}),
	'data-sent': event('data-sent', {connection: text, bytes: count, base64, queued: count}),
	'message-received': event('message-received', {connection: text, bytes: count, base64, delimiter: {enum: ['lf', 'crlf']}}, ['connection', 'bytes', 'base64']),
	'message-partial': event('message-partial', {connection: text, bytes: count}),
	'framing-overflowed': event('framing-overflowed', {connection: text, bytes: count, message: text}),
	'connection-half-closed': event('connection-half-closed', {connection: text, by: {enum: ['local', 'remote']}}),
	'half-open-changed': event('half-open-changed', {isHalfOpen: bool}),
	'connection-closed': event('connection-closed', {connection: text, reason: {enum: ['closed', 'reset', 'failed']}, bytesIn: count, bytesOut: count, unsent: count, code: text}, ['connection', 'reason', 'bytesIn', 'bytesOut', 'unsent']),
	'socket-failed': event('socket-failed', {target: text, code: text, message: text}),
	'command-failed': event('command-failed', {ref: {type: ['string', 'null']}, code: text, message: text, target: text, field: text}, ['ref', 'code', 'message']),
	'subscriber-failed': event('subscriber-failed', {message: text}),
	'connection-refused': event('connection-refused', {listener: text, remote: endpoint, reason: {enum: ['denied', 'limit']}, rule: text}),
	'admission-changed': event('admission-changed', {allow: {type: 'array', items: text}, deny: {type: 'array', items: text}, maxConnections: many}),
	'connection-stalled': event('connection-stalled', {connection: text, queued: count, stalledMs: {type: 'number', minimum: 0}}),
	'connection-unstalled': event('connection-unstalled', {connection: text}),
	'resource-exhausted': event('resource-exhausted', {resource: {enum: ['file-descriptors']}, used: count, limit: count, message: text}),
	'kernel-drops-changed': event('kernel-drops-changed', {socketDrops: count, rcvbufErrors: count, sinceStart: count}),
	'memory-returned': event('memory-returned', {youngBefore: count, youngAfter: count, rssBefore: count, rssAfter: count, ms: {type: 'number', minimum: 0}}),
	'log-file-failed': event('log-file-failed', {path: text, code: text, message: text}),
	'output-shed': event('output-shed', {output: {enum: ['stdout', 'log', 'pcap']}, events: many, firstSeq: many, lastSeq: many, types: {type: 'object', additionalProperties: many}}),
	'sendfile-started': event('sendfile-started', {connection: text, path: text, size: {type: ['integer', 'null'], minimum: 0}}),
	'sendfile-finished': event('sendfile-finished', {connection: text, path: text, bytes: count}),
	'sendfile-failed': event('sendfile-failed', {connection: text, path: text, bytes: count, code: text, message: text}),
	'udp-bound': event('udp-bound', {socket: text, address: text, port, isBroadcast: bool, isEcho: bool}),
	'udp-connected': event('udp-connected', {socket: text, remote: endpoint}),
	'udp-broadcast-changed': event('udp-broadcast-changed', {socket: text, isBroadcast: bool}),
	'datagram-received': event('datagram-received', {socket: text, from: endpoint, bytes: count, base64}),
	'datagram-refused': event('datagram-refused', {socket: text, from: endpoint, rule: text, bytes: count, count: many}),
	'datagram-sent': event('datagram-sent', {socket: text, to: endpoint, bytes: count, base64, warning: text, requestId, attempt: many}, ['socket', 'to', 'bytes', 'base64']),
	'udp-closed': event('udp-closed', {socket: text, datagramsIn: count, datagramsOut: count, bytesIn: count, bytesOut: count, dropped: count}),
	'datagrams-dropped': event('datagrams-dropped', {socket: text, reason: {enum: ['backpressure']}, count: many, total: many}),
	'request-completed': event('request-completed', {socket: text, requestId, rttMs: {type: 'number', minimum: 0}, attempts: many, from: endpoint}),
	'request-failed': event('request-failed', {socket: text, requestId, attempts: count, to: endpoint, message: text}),
	'reply-ignored': event('reply-ignored', {socket: text, from: endpoint, requestId, reason: {enum: ['unknown', 'duplicate']}}),
	'discovery-started': event('discovery-started', {port, instanceId: text, name: text, intervalMs: {type: 'number', exclusiveMinimum: 0}, targets: {type: 'array', items: endpoint}}),
	'discovery-stopped': event('discovery-stopped', {reason: {enum: ['stopped', 'failed']}, received: count, dropped: count}),
	'probe-sent': event('probe-sent', {requestId, attempt: many}),
	'discovery-stats': event('discovery-stats', {
		received: count,
		accepted: count,
		own: count,
		foreign: count,
		dropped: count,
		repliesSent: count,
		peers: count,
		peersEvicted: count,
		sources: count,
		sourcesEvicted: count,
	}),
	'peer-discovered': event('peer-discovered', {...peer, via: {enum: ['announce', 'probe', 'reply']}, restartOf: text}, [...peerRequired, 'via']),
	'peer-updated': event('peer-updated', {...peer, changed: {type: 'array', items: {enum: ['name', 'ports', 'address', 'state', 'rtt']}}}),
	'peer-expired': event('peer-expired', peer),
	'peer-left': event('peer-left', {...peer, reason: {enum: ['bye', 'restarted', 'evicted']}}),
	'foreign-datagram': event('foreign-datagram', {from: endpoint, bytes: count, base64, count: many}, ['from', 'bytes', 'base64']),
	'packet-dropped': event('packet-dropped', {from: endpoint, reason: text, bytes: count, count: many}),
	// Relay (issue 13, branch relay): --forward / --forward-udp and steering a relay; `target` on listener-opened and `relay` / `partner` on connections come with it.
	'relay-opened': event('relay-opened', {relay: text, listener: text, client: text, server: text, target: endpoint}),
	'relay-closed': event(
		'relay-closed',
		{relay: text, client: text, server: text, reason: {enum: ['closed', 'reset', 'failed', 'upstream-failed']}, bytesToServer: count, bytesToClient: count, code: text, message: text},
		['relay', 'client', 'server', 'reason', 'bytesToServer', 'bytesToClient'],
	),
	'relay-intercept-changed': event('relay-intercept-changed', {relay: text, direction: {enum: ['to-server', 'to-client']}, isOn: {type: 'boolean'}}),
	'relay-chunk-held': event('relay-chunk-held', {relay: text, chunk: {type: 'integer', minimum: 1}, direction: {enum: ['to-server', 'to-client']}, bytes: count, base64}),
	'relay-chunk-released': event('relay-chunk-released', {relay: text, chunk: {type: 'integer', minimum: 1}, direction: {enum: ['to-server', 'to-client']}, bytes: count, isEdited: {type: 'boolean'}}),
	'relay-chunk-dropped': event('relay-chunk-dropped', {relay: text, chunk: {type: 'integer', minimum: 1}, direction: {enum: ['to-server', 'to-client']}, bytes: count}),
	'relay-injected': event('relay-injected', {relay: text, direction: {enum: ['to-server', 'to-client']}, bytes: count, base64}),
	'relay-throttle-changed': event('relay-throttle-changed', {relay: text, direction: {enum: ['to-server', 'to-client']}, bytesPerSecond: {type: 'number', minimum: 0}}),
	'udp-relay-opened': event('udp-relay-opened', {relay: text, socket: text, upstream: text, client: endpoint, target: endpoint}),
	'udp-relay-closed': event('udp-relay-closed', {relay: text, socket: text, upstream: text, client: endpoint, reason: {enum: ['expired', 'closed']}, datagramsToServer: count, datagramsToClient: count}),
	// System pane (issue 14): the machine's sockets
	'system-sockets': event('system-sockets', {sockets: systemSockets, missing, tookMs: {type: 'number', minimum: 0}}),
	'system-sockets-changed': event('system-sockets-changed', {
		opened: systemSocketsRates,
		changed: systemSocketsRates,
		closed: systemSocketsRates,
		total: count,
		intervalMs: {type: 'number', minimum: 0},
		missing,
		tookMs: {type: 'number', minimum: 0},
	}),
	// LAN discovery (branch lan, issue 15): services found by mDNS, SSDP and Syncthing.
	'service-discovered': event('service-discovered', service),
	'service-updated': event('service-updated', {...service, changed: {type: 'array', items: {enum: ['name', 'host', 'address', 'port', 'txt', 'details', 'state']}}}),
	'service-expired': event('service-expired', service),
	'service-left': event('service-left', {...service, reason: {enum: ['bye', 'evicted', 'stopped']}}),
	'services-browsing': event('services-browsing', {protocols: {type: 'array', items: serviceProtocol}, interfaces: {type: 'array', items: text}}),
	// Broadcast probe (issue 15, point 5): one datagram, every reply within a window.
	'probe-results': event(
		'probe-results',
		{
			probe: text,
			targets: {type: 'array', items: endpoint},
			bytes: count,
			windowMs: count,
			replies: count,
			unlisted: count,
			refused: count,
			responders: {type: 'array', items: {type: 'object', properties: {from: endpoint, rttMs: {type: 'number', minimum: 0}, replies: {type: 'integer', minimum: 1}, bytes: count, base64}, required: ['from', 'rttMs', 'replies', 'bytes', 'base64'], additionalProperties: false}},
			kernelDrops: count,
			error: {type: 'object', properties: {code: text, message: text}, required: ['code', 'message'], additionalProperties: false},
		},
		['probe', 'targets', 'bytes', 'windowMs', 'replies', 'unlisted', 'refused', 'responders'],
	),
	// capture (issue 16): the --pcap writer
	'pcap-file-failed': event('pcap-file-failed', {path: text, code: text, message: text}),
	// Workbench (issue 17): auto-reply rules, schedules, raw saves.
	'rule-added': event('rule-added', ruleView, ruleRequired),
	'rule-changed': event('rule-changed', {rule: text, state: ruleState, ...ruleCounts}),
	'rule-replied': event('rule-replied', {rule: text, target: text, to: endpoint, bytes: count, ...ruleCounts}, ['rule', 'target', 'bytes', ...Object.keys(ruleCounts)]),
	'rule-skipped': event('rule-skipped', {rule: text, reason: text, count: many, bytes: count, from: endpoint, ...ruleCounts}, ['rule', 'reason', 'count', 'bytes', ...Object.keys(ruleCounts)]),
	'rules-listed': event('rules-listed', {rules: {type: 'array', items: {type: 'object', properties: ruleView, required: ruleRequired}}}),
	'schedule-started': event('schedule-started', scheduleView, scheduleRequired),
	'schedule-finished': event('schedule-finished', {...scheduleView, reason: {enum: ['done', 'cancelled', 'closed', 'failed']}, message: text}, [...scheduleRequired, 'reason']),
	'schedules-listed': event('schedules-listed', {schedules: {type: 'array', items: {type: 'object', properties: scheduleView, required: scheduleRequired}}}),
	'save-started': event('save-started', {connection: text, path: text, direction}),
	'save-finished': event('save-finished', {connection: text, path: text, direction, bytes: count}),
	'save-failed': event('save-failed', {connection: text, path: text, direction, code: text, message: text, bytes: count}),
};

/** Every event as one standalone schema: an object whose `type` picks one of `eventSchemas`. */
export const eventDocument: JsonSchema = {
	$schema: 'http://json-schema.org/draft-07/schema#',
	$id: 'https://netdash.invalid/schema/event.json',
	title: 'netdash event',
	description: 'One line of netdash --json output.',
	type: 'object',
	required: ['type', 'seq', 'at'],
	properties: {type: {enum: Object.keys(eventSchemas)}},
	oneOf: Object.values(eventSchemas),
};
