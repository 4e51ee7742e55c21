import type {Core} from './core.js';
import {NetdashError, errorCode, oneLine} from './errors.js';
import {FieldError} from './schema/field-error.js';
import type {BusEvent} from './events.js';
import type {FramingSpec} from './framing/index.js';
import type {RuleSpec} from './respond/rule.js';

/**
 * The command vocabulary shared by `--json` (one JSON object per stdin line)
 * and the dashboard's `:` command line. Each maps onto one core verb.
 */
export type Command =
	/** `halfOpen`: its connections stay open after the peer's FIN (otherwise the default, see `halfopen`). */
	| {cmd: 'listen'; host?: string; port: number; framing?: FramingSpec; halfOpen?: boolean; tls?: TlsListen; ref?: string}
	/** Forward `host:port` (host 127.0.0.1 by default) to `target`, as `ssh -L`: each client is relayed to its own connection there. */
	| {cmd: 'forward'; host?: string; port: number; target: {host: string; port: number}; framing?: FramingSpec; ref?: string}
	/** `tls`: dial TLS (SNI, verification unless `insecure`, ALPN offered). */
	| {cmd: 'connect'; host: string; port: number; framing?: FramingSpec; timeoutMs?: number; halfOpen?: boolean; tls?: TlsConnect; ref?: string}
	/** Hold chunks going one way through a relay (`isOn` false: release what is held, in order). */
	| {cmd: 'intercept'; relay: string; direction: 'to-server' | 'to-client'; isOn: boolean; ref?: string}
	/** Send a held chunk on; with `bytes`, those in its place (edited). */
	| {cmd: 'release'; relay: string; chunk: number; bytes?: Buffer; ref?: string}
	| {cmd: 'drop'; relay: string; chunk: number; ref?: string}
	/** Pace one direction of a relay (0: no limit). */
	| {cmd: 'throttle'; relay: string; direction: 'to-server' | 'to-client'; bytesPerSecond: number; ref?: string}
	/** Send bytes of our own towards one side of a relay. */
	| {cmd: 'inject'; relay: string; direction: 'to-server' | 'to-client'; bytes: Buffer; ref?: string}
	/** Change the default of half-open (`--half-open`) while running. */
	| {cmd: 'halfopen'; isOn: boolean; ref?: string}
	/** With `everyMs` and/or `count`: a schedule (repeated every interval, or N times back to back). */
	| {cmd: 'send'; connection: string; bytes: Buffer; framed?: boolean; everyMs?: number; count?: number; ref?: string}
	// Workbench (issue 17): schedules, auto-reply rules, raw saves.
	/** Stop a schedule. */
	| {cmd: 'cancel'; schedule: string; ref?: string}
	/** Add an auto-reply rule. */
	| {cmd: 'respond'; spec: RuleSpec; ref?: string}
	/** Pause, resume or remove a rule. */
	| {cmd: 'rule'; rule: string; action: 'pause' | 'resume' | 'remove'; ref?: string}
	/** List rules or schedules (answered by `rules-listed` / `schedules-listed`). */
	| {cmd: 'rules' | 'schedules'; ref?: string}
	/** Write what a connection receives (`in`) or sends (`out`) from now on to a file, raw. */
	| {cmd: 'save'; connection: string; path: string; direction?: 'in' | 'out'; ref?: string}
	/** Stream a file's bytes to a connection, read no faster than the connection sends them. */
	| {cmd: 'sendfile'; connection: string; path: string; ref?: string}
	| {cmd: 'shutdown' | 'reset' | 'close'; id: string; ref?: string}
	| {cmd: 'admission'; allow?: string[]; deny?: string[]; maxConnections?: number; ref?: string}
	| {cmd: 'allow' | 'deny'; cidr: string; ref?: string}
	/** Bind a UDP socket (`isBroadcast`: SO_BROADCAST on; `isEcho`: answer requests). */
	| {cmd: 'udp'; host?: string; port: number; isBroadcast?: boolean; isEcho?: boolean; reuseAddr?: boolean; ref?: string}
	/** Send one datagram; host and port may be left out on a connected socket. */
	| {cmd: 'sendto'; socket: string; host?: string; port?: number; bytes: Buffer; ref?: string}
	| {cmd: 'udp-connect'; socket: string; host: string; port: number; ref?: string}
	| {cmd: 'broadcast'; socket: string; isOn: boolean; ref?: string}
	/**
	 * A request resent with backoff until answered: with a random id in an
	 * NDRQ header, or (`isPlain`) bare, answered by the target's first
	 * datagram. A plain request without `socket` gets a socket of its own.
	 */
	| {cmd: 'request'; socket?: string; host?: string; port?: number; bytes: Buffer; timeoutMs?: number; retries?: number; isPlain?: boolean; ref?: string}
	| {cmd: 'discover'; port?: number; name?: string; intervalMs?: number; broadcast?: string[]; ref?: string}
	| {cmd: 'probe' | 'stop-discovery'; ref?: string}
	// Broadcast probe (issue 15, point 5)
	/** One datagram to a broadcast or multicast address (each interface's directed broadcast without `host`); `probe-results` after `windowMs`. */
	| {cmd: 'probe-broadcast'; host?: string; port: number; bytes: Buffer; windowMs?: number; ref?: string}
	// System pane (issue 14): the machine's sockets
	/** Every socket of the machine, once (`system-sockets`). */
	| {cmd: 'sockets'; ref?: string}
	/** Stream `system-sockets-changed` every `intervalMs` until `unwatch-sockets`. */
	| {cmd: 'watch-sockets'; intervalMs: number; ref?: string}
	| {cmd: 'unwatch-sockets'; ref?: string}
	| {cmd: 'quit'; ref?: string};

/** The names of every command. */
export const commandNames = ['listen', 'forward', 'intercept', 'release', 'drop', 'inject', 'throttle', 'connect', 'send', 'sendfile', 'shutdown', 'reset', 'close', 'allow', 'deny', 'admission', 'udp', 'sendto', 'udp-connect', 'broadcast', 'request', 'discover', 'probe', 'stop-discovery', 'probe-broadcast', 'halfopen', 'sockets', 'watch-sockets', 'unwatch-sockets', 'respond', 'rule', 'rules', 'schedules', 'cancel', 'save', 'quit'] as const;

/** TLS on a listen: netdash's own certificate unless `cert` and `key` (PEM files) are given. */
export type TlsListen = {cert?: string; key?: string; alpn?: string[]};

/** TLS on a connect. */
export type TlsConnect = {insecure?: boolean; alpn?: string[]};

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
				...(command.tls ? {tls: true, ...command.tls} : {}),
			});
			return false;
		}

		case 'forward': {
			core.forward(command.host, command.port, command.target, {...options, ...(command.framing ? {framing: command.framing} : {})});
			return false;
		}

		case 'intercept': {
			core.steer(command.relay, {type: 'intercept', direction: command.direction, isOn: command.isOn}, options);
			return false;
		}

		case 'release': {
			core.steer(command.relay, {type: 'release', chunk: command.chunk, ...(command.bytes ? {data: command.bytes} : {})}, options);
			return false;
		}

		case 'drop': {
			core.steer(command.relay, {type: 'drop', chunk: command.chunk}, options);
			return false;
		}

		case 'throttle': {
			core.steer(command.relay, {type: 'throttle', direction: command.direction, bytesPerSecond: command.bytesPerSecond}, options);
			return false;
		}

		case 'inject': {
			core.steer(command.relay, {type: 'inject', direction: command.direction, data: command.bytes}, options);
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
				...(command.tls ? {tls: true, ...command.tls} : {}),
			});
			return false;
		}

		case 'send': {
			const timing = {...(command.everyMs === undefined ? {} : {everyMs: command.everyMs}), ...(command.count === undefined ? {} : {count: command.count})};
			core.send(command.connection, command.bytes, {...options, ...timing, ...(command.framed ? {framed: true} : {})});
			return false;
		}

		case 'cancel': {
			core.cancelSchedule(command.schedule, options);
			return false;
		}

		case 'schedules': {
			core.listSchedules(options);
			return false;
		}

		case 'respond': {
			core.respond(command.spec, options);
			return false;
		}

		case 'rule': {
			core.changeRule(command.rule, command.action, options);
			return false;
		}

		case 'rules': {
			core.listRules(options);
			return false;
		}

		case 'save': {
			core.save(command.connection, command.path, command.direction ?? 'in', options);
			return false;
		}

		case 'sendfile': {
			core.sendFile(command.connection, command.path, options);
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
			const plain = command.isPlain ? {isPlain: true} : {};
			core.udpRequest(command.socket, command.host, command.port, command.bytes, {...retry, ...plain, ...options});
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

		case 'probe-broadcast': {
			const {cmd: _, ...probe} = command;
			core.probeBroadcast({...probe, ...options});
			return false;
		}

		case 'sockets': {
			core.listSystemSockets(options);
			return false;
		}

		case 'watch-sockets': {
			core.watchSystemSockets(command.intervalMs, options);
			return false;
		}

		case 'unwatch-sockets': {
			core.unwatchSystemSockets(options);
			return false;
		}

		case 'quit': {
			return true;
		}
	}
}

/** Report a command that could not be parsed, as `command-failed` on the bus (with the `field` at fault when known). */
export function reportBadCommand(core: Core, error: unknown, ref: string | null = null): void {
	const field = error instanceof FieldError ? {field: error.field} : {};
	core.bus.emit({type: 'command-failed', ref, code: errorCode(error), message: oneLine(error), ...field});
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
