import type {Command} from './commands.js';
import {NetdashError} from './errors.js';
import {parseEscapedText, parseHex, toDisplayString} from './format/index.js';
import {parseFraming} from './framing/index.js';
import {parseHostPort, parsePort} from './ports.js';
import {parseForwardSpec} from './relay/forward-spec.js';

/**
 * The dashboard's `:` command line: the same vocabulary as the JSON commands
 * (see commands.ts) written the way a person types it, plus `clear` and
 * `help`, which only mean something on screen. Pure: no sockets, no React.
 */

/** What a command line can ask for: a core command, or one the dashboard carries out itself. */
export type LineCommand =
	| Command
	/**
	 * Send one datagram to a broadcast address: the one named, else each
	 * address the dashboard knows (see {@link broadcastCommands}), turning
	 * SO_BROADCAST on first when it is off.
	 */
	| {cmd: 'broadcast-to'; socket: string; address?: string; port: number; bytes: Buffer}
	/** Drop closed connections and listeners from the panes. */
	| {cmd: 'clear'}
	/** Open the help overlay. */
	| {cmd: 'help'};

/** What the line is read against. */
export type CommandLineContext = {
	/** The socket whose log is shown: the default target of `send`, `shutdown`, `reset`, `close`, and (a UDP socket) of `sendto`, `udpconnect`, `broadcast`. */
	selected?: string | undefined;
};

/** One command of the line: its name, what it takes, and what it does. */
export type CommandLineUsage = {
	readonly name: string;
	readonly usage: string;
	readonly description: string;
};

/** Every command the line knows, in the order help lists them. */
export const commandLineUsages: readonly CommandLineUsage[] = [
	{name: 'listen', usage: 'listen [host:]port [framing]', description: 'start a TCP listener (port 0: any free port)'},
	{name: 'connect', usage: 'connect host:port [framing]', description: 'dial a TCP connection'},
	{name: 'forward', usage: 'forward [ip:]port host:port', description: 'relay each client to its own connection to host:port (ssh -L)'},
	{name: 'send', usage: 'send [C1] text', description: 'send text with \\r \\n \\t \\xNN escapes'},
	{name: 'sendhex', usage: 'sendhex [C1] 48 65 6c', description: 'send bytes written in hex'},
	{name: 'sendfile', usage: 'sendfile [C1] PATH', description: 'stream a file of any size, at the pace the peer reads'},
	{name: 'shutdown', usage: 'shutdown [C1]', description: 'half-close: send FIN, keep reading'},
	{name: 'reset', usage: 'reset [C1]', description: 'abort with a RST'},
	{name: 'close', usage: 'close [C1|L1|U1]', description: 'close a connection or UDP socket, or stop a listener'},
	{name: 'udp', usage: 'udp [host:]port [flags]', description: 'bind a UDP socket (0.0.0.0 hears broadcasts; flags: broadcast, echo)'},
	{name: 'sendto', usage: 'sendto [U1] host:port text', description: 'send one datagram (a connected socket: text only)'},
	{name: 'udpconnect', usage: 'udpconnect [U1] host:port', description: 'only this peer from now on (the kernel drops the rest)'},
	{name: 'request', usage: 'request [U1] host:port text', description: 'plain UDP request, resent with doubling waits until the target answers'},
	{name: 'broadcast', usage: 'broadcast [U1] port text', description: 'to each subnet\'s broadcast address, or addr:port; on|off'},
	{name: 'discover', usage: 'discover [port] [addr:port…]', description: 'find netdash peers by broadcast (port 47474; or announce to these)'},
	{name: 'probe', usage: 'probe', description: 'ask every peer to answer now'},
	{name: 'stop-discovery', usage: 'stop-discovery', description: 'say bye to peers and stop discovery'},
	{name: 'allow', usage: 'allow CIDR… | allow none', description: 'accept clients only from these (deny wins); none: everyone'},
	{name: 'deny', usage: 'deny CIDR… | deny none', description: 'refuse clients from these; none: clear the list'},
	{name: 'maxconns', usage: 'maxconns N', description: 'open connections per listener; more are refused'},
	{name: 'halfopen', usage: 'halfopen on|off', description: 'on: keep a connection open after the peer\'s FIN (off: close it after the queue)'},
	{name: 'clear', usage: 'clear', description: 'remove closed rows'},
	{name: 'help', usage: 'help', description: 'show the keys'},
	{name: 'quit', usage: 'quit', description: 'close everything and leave'},
];

/** The names of the commands the line knows. */
export const commandLineNames: readonly string[] = commandLineUsages.map((usage) => usage.name);

/** Framings offered by completion (`fixed:` wants its size typed after it). */
const framingNames = ['raw', 'line', 'u16', 'u32', 'fixed:'];

/** Flags `udp` takes after the address. */
const udpFlags = ['broadcast', 'echo'];

/** Ids look like C12 (connection), L3 (listener) or U2 (UDP socket). */
const connectionId = /^C\d+$/;
const udpId = /^U\d+$/;
const socketId = /^[A-Z]\d+$/;
/** A word shaped like a destination: `host:port`, `:port` or `[v6]:port`. */
const destinationShape = /^(?:\[[^\]\s]*\]|[^\s:[\]]*):\d*$/;

function quote(text: string): string {
	return `'${toDisplayString(text, {maxChars: 30})}'`;
}

function fail(message: string, code = 'BAD_COMMAND'): never {
	throw new NetdashError(code, message);
}

function usageOf(name: string): string {
	return commandLineUsages.find((usage) => usage.name === name)?.usage ?? name;
}

/** The words after the command, for commands whose arguments are words. */
function wordsOf(rest: string): string[] {
	const trimmed = rest.trim();
	return trimmed === '' ? [] : trimmed.split(/\s+/);
}

function expectAtMost(name: string, words: readonly string[], count: number): void {
	if (words.length > count) {
		fail(`${name} does not take ${quote(words[count]!)} (usage: ${usageOf(name)})`);
	}
}

/** What a socket id is, in words. */
function kindOf(id: string): string {
	return udpId.test(id) ? 'a UDP socket' : id.startsWith('L') ? 'a listener' : 'a connection';
}

/** The target of a command that acts on a socket: the named id, else the selected one. */
function targetOf(name: string, named: string | undefined, context: CommandLineContext, isListenerAllowed: boolean): string {
	const id = named ?? context.selected;
	if (id === undefined) {
		fail(`${name} needs a connection: select one with enter, or name it (${usageOf(name)})`, 'NO_SELECTION');
	}

	if (!socketId.test(id)) {
		fail(`${quote(id)} is not a socket id such as C1 or L1 (usage: ${usageOf(name)})`);
	}

	if (!isListenerAllowed && !connectionId.test(id)) {
		const instead = udpId.test(id) && (name === 'send' || name === 'sendhex' || name === 'sendfile') ? ' (a datagram: sendto)' : '';
		fail(`${id} is ${kindOf(id)}: ${name} works on connections (C1, C2, …)${instead}`);
	}

	return id;
}

/** The UDP socket a command acts on: a first word shaped like `U3`, else the selected socket. */
function udpTargetOf(name: string, words: readonly string[], context: CommandLineContext): {id: string; rest: readonly string[]} {
	const named = words[0] !== undefined && udpId.test(words[0]) ? words[0] : undefined;
	const id = named ?? context.selected;
	if (id === undefined || !udpId.test(id)) {
		fail(`${name} needs a UDP socket: select one in Listeners (1) with enter, or name it (${usageOf(name)})`, 'NO_SELECTION');
	}

	return {id, rest: named === undefined ? words : words.slice(1)};
}

/** The text after the first `count` words of `rest` and one space, other spaces kept (a payload). */
function afterWords(rest: string, count: number): string {
	if (count === 0) {
		return rest;
	}

	const match = new RegExp(String.raw`^\s*(?:\S+\s+){${count - 1}}\S+\s([\s\S]*)$`).exec(rest);
	return match?.[1] ?? '';
}

/** Splits `send [C1] payload`: a first word shaped like a connection id names the target. */
function splitPayload(name: string, rest: string, context: CommandLineContext): {id: string; payload: string} {
	const match = /^(C\d+)(?:\s([\s\S]*))?$/.exec(rest);
	const named = match?.[1];
	const payload = match ? (match[2] ?? '') : rest;
	const id = targetOf(name, named, context, false);
	if (payload === '') {
		fail(
			name === 'sendhex'
				? `sendhex needs bytes, e.g. ${usageOf('sendhex')}`
				: `${name} needs ${name === 'send' ? 'text' : 'a file'} after ${named ?? 'the command'} (usage: ${usageOf(name)})`,
		);
	}

	return {id, payload};
}

function framingOf(words: readonly string[], index: number): {framing?: ReturnType<typeof parseFraming>} {
	const text = words[index];
	return text === undefined ? {} : {framing: parseFraming(text)};
}

/**
 * Parse one command line (without its leading `:`) into a command. `send`
 * and `sendhex` are framed: on a `line` connection the text gets its LF, on
 * `u16`/`u32` its length. A first word shaped like a connection id (`C3`)
 * names the target; otherwise the selected socket is meant, so to send text
 * that starts with such a word to the selected connection, escape its first
 * letter (`\x43`).
 *
 * @throws NetdashError with a one-line message: `BAD_COMMAND`, `NO_SELECTION`,
 * or the parsers' own `BAD_PORT`, `BAD_ADDRESS`, `BAD_FRAMING`,
 * `BAD_ESCAPE`, `BAD_HEX`.
 * @example parseCommandLine('send C2 GET / HTTP/1.0\\r\\n\\r\\n')
 */
export function parseCommandLine(text: string, context: CommandLineContext = {}): LineCommand {
	const match = /^\s*(\S+)(?:\s([\s\S]*))?$/.exec(text);
	if (!match) {
		fail(`type a command: ${commandLineNames.join(', ')}`);
	}

	const name = match[1]!.toLowerCase();
	const rest = match[2] ?? '';
	const words = wordsOf(rest);
	switch (name) {
		case 'listen': {
			if (words.length === 0) {
				fail(`listen needs a port (usage: ${usageOf('listen')})`, 'BAD_PORT');
			}

			expectAtMost(name, words, 2);
			const {host, port} = parseHostPort(words[0]!, {defaultHost: '127.0.0.1', allowZero: true});
			return {cmd: 'listen', host, port, ...framingOf(words, 1)};
		}

		case 'connect': {
			if (words.length === 0) {
				fail(`connect needs host:port (usage: ${usageOf('connect')})`, 'BAD_ADDRESS');
			}

			expectAtMost(name, words, 2);
			const {host, port} = parseHostPort(words[0]!, {requireHost: true});
			return {cmd: 'connect', host, port, ...framingOf(words, 1)};
		}

		case 'forward': {
			// `forward 8080 127.0.0.1:3000`, or the ssh -L form in one word: `forward 8080:127.0.0.1:3000`.
			if (words.length === 0) {
				fail(`forward needs a port and host:port (usage: ${usageOf('forward')})`, 'BAD_PORT');
			}

			const isSpec = words.length === 1 || (words.length === 2 && !destinationShape.test(words[1]!));
			if (isSpec) {
				expectAtMost(name, words, 2);
				const {bind, target} = parseForwardSpec(words[0]!);
				return {cmd: 'forward', host: bind.host, port: bind.port, target, ...framingOf(words, 1)};
			}

			expectAtMost(name, words, 3);
			const bind = parseHostPort(words[0]!, {defaultHost: '127.0.0.1', allowZero: true});
			const target = parseHostPort(words[1]!, {requireHost: true});
			return {cmd: 'forward', host: bind.host, port: bind.port, target, ...framingOf(words, 2)};
		}

		case 'send': {
			const {id, payload} = splitPayload(name, rest, context);
			return {cmd: 'send', connection: id, bytes: parseEscapedText(payload), framed: true};
		}

		case 'sendhex': {
			const {id, payload} = splitPayload(name, rest, context);
			const bytes = parseHex(payload);
			if (bytes.length === 0) {
				fail(`sendhex needs bytes, e.g. ${usageOf('sendhex')}`);
			}

			return {cmd: 'send', connection: id, bytes, framed: true};
		}

		case 'sendfile': {
			// The path is the rest of the line, spaces and all.
			const {id, payload} = splitPayload(name, rest, context);
			return {cmd: 'sendfile', connection: id, path: payload};
		}

		case 'shutdown':
		case 'reset':
		case 'close': {
			expectAtMost(name, words, 1);
			return {cmd: name, id: targetOf(name, words[0], context, name === 'close')};
		}

		case 'udp': {
			if (words.length === 0) {
				fail(`udp needs a port (usage: ${usageOf('udp')})`, 'BAD_PORT');
			}

			const {host, port} = parseHostPort(words[0]!, {defaultHost: '127.0.0.1', allowZero: true});
			const flags = words.slice(1).map((word) => word.toLowerCase());
			const unknown = flags.find((flag) => !udpFlags.includes(flag));
			if (unknown !== undefined) {
				fail(`udp does not take ${quote(unknown)}: its flags are ${udpFlags.join(', ')} (usage: ${usageOf('udp')})`);
			}

			return {cmd: 'udp', host, port, ...(flags.includes('broadcast') ? {isBroadcast: true} : {}), ...(flags.includes('echo') ? {isEcho: true} : {})};
		}

		case 'sendto': {
			const {id, rest: after} = udpTargetOf(name, words, context);
			// A first word shaped like host:port is where to send; without one, a connected socket sends to its peer.
			const destination = after[0] !== undefined && destinationShape.test(after[0]) ? parseHostPort(after[0], {requireHost: true}) : undefined;
			const payload = afterWords(rest, words.length - after.length + (destination ? 1 : 0));
			if (payload === '') {
				fail(`sendto needs text after ${destination ? 'the address' : 'the command'} (usage: ${usageOf('sendto')})`);
			}

			return {cmd: 'sendto', socket: id, ...(destination ? {host: destination.host, port: destination.port} : {}), bytes: parseEscapedText(payload)};
		}

		case 'request': {
			// Only a socket named here is used (it must be connected); otherwise the request gets a socket of its own.
			const named = words[0] !== undefined && udpId.test(words[0]) ? words[0] : undefined;
			const after = named === undefined ? words : words.slice(1);
			const destination = after[0] !== undefined && destinationShape.test(after[0]) ? parseHostPort(after[0], {requireHost: true}) : undefined;
			if (named === undefined && destination === undefined) {
				fail(`request needs host:port (usage: ${usageOf('request')})`, 'BAD_ADDRESS');
			}

			const payload = afterWords(rest, words.length - after.length + (destination ? 1 : 0));
			if (payload === '') {
				fail(`request needs text after ${destination ? 'the address' : 'the socket'} (usage: ${usageOf('request')})`);
			}

			return {
				cmd: 'request',
				...(named === undefined ? {} : {socket: named}),
				...(destination ? {host: destination.host, port: destination.port} : {}),
				bytes: parseEscapedText(payload),
				isPlain: true,
			};
		}

		case 'udpconnect': {
			const {id, rest: after} = udpTargetOf(name, words, context);
			if (after.length === 0) {
				fail(`udpconnect needs host:port (usage: ${usageOf('udpconnect')})`, 'BAD_ADDRESS');
			}

			expectAtMost(name, after, 1);
			const {host, port} = parseHostPort(after[0]!, {requireHost: true});
			return {cmd: 'udp-connect', socket: id, host, port};
		}

		case 'broadcast': {
			const {id, rest: after} = udpTargetOf(name, words, context);
			const first = after[0]?.toLowerCase();
			if (after.length === 1 && (first === 'on' || first === 'off')) {
				return {cmd: 'broadcast', socket: id, isOn: first === 'on'};
			}

			if (first === undefined) {
				fail(`broadcast needs a port and text, or on / off (usage: ${usageOf('broadcast')})`, 'BAD_PORT');
			}

			const to = after[0]!.includes(':') ? parseHostPort(after[0]!, {requireHost: true}) : {host: undefined, port: parsePort(after[0]!)};
			const payload = afterWords(rest, words.length - after.length + 1);
			if (payload === '') {
				fail(`broadcast needs text after the port (usage: ${usageOf('broadcast')})`);
			}

			return {cmd: 'broadcast-to', socket: id, ...(to.host === undefined ? {} : {address: to.host}), port: to.port, bytes: parseEscapedText(payload)};
		}

		case 'discover': {
			// A first word of digits is the port; the words after it (or all of them) are where to announce.
			const port = words[0] !== undefined && /^\d+$/.test(words[0]) ? parsePort(words[0]) : undefined;
			const targets = port === undefined ? words : words.slice(1);
			const bad = targets.find((target) => !/^[\d.]+(?::\d+)?$/.test(target));
			if (bad !== undefined) {
				fail(`${quote(bad)} is not a port or an IPv4 address[:port] to announce to (usage: ${usageOf('discover')})`, 'BAD_ADDRESS');
			}

			return {cmd: 'discover', ...(port === undefined ? {} : {port}), ...(targets.length > 0 ? {broadcast: targets} : {})};
		}

		case 'allow':
		case 'deny': {
			// One CIDR adds to the list in force; several replace it; `none` empties it.
			if (words.length === 0) {
				fail(`${name} needs a CIDR such as 10.0.0.0/8, or none (usage: ${usageOf(name)})`, 'BAD_CIDR');
			}

			if (words.length === 1 && words[0] === 'none') {
				return {cmd: 'admission', [name]: []};
			}

			return words.length === 1 ? {cmd: name, cidr: words[0]!} : {cmd: 'admission', [name]: words};
		}

		case 'maxconns': {
			expectAtMost(name, words, 1);
			if (words[0] === undefined || !/^\d+$/.test(words[0]) || Number(words[0]) < 1) {
				fail(`maxconns needs a whole number of at least 1 (usage: ${usageOf('maxconns')})`, 'BAD_LIMIT');
			}

			return {cmd: 'admission', maxConnections: Number(words[0])};
		}

		case 'halfopen': {
			const choice = words[0]?.toLowerCase();
			if (words.length !== 1 || (choice !== 'on' && choice !== 'off')) {
				fail(`halfopen needs on or off (usage: ${usageOf('halfopen')})`);
			}

			return {cmd: 'halfopen', isOn: choice === 'on'};
		}

		case 'probe':
		case 'stop-discovery': {
			expectAtMost(name, words, 0);
			return {cmd: name};
		}

		case 'clear':
		case 'help':
		case 'quit': {
			expectAtMost(name, words, 0);
			return {cmd: name};
		}

		case 'q': {
			expectAtMost(name, words, 0);
			return {cmd: 'quit'};
		}

		default: {
			fail(`unknown command ${quote(match[1]!)}: use one of ${commandLineNames.join(', ')}`);
		}
	}
}

/** A `broadcast port text` line, as parsed. */
export type BroadcastLine = Extract<LineCommand, {cmd: 'broadcast-to'}>;

/**
 * The core commands a `broadcast` line stands for: SO_BROADCAST on when it
 * is off (without it the kernel refuses with EACCES), then one `sendto` per
 * address — the one the line named, else each of `addresses`: the directed
 * broadcast of every interface, or what discovery announces to. Never
 * `255.255.255.255` by default: it fails with ENETUNREACH on a host without
 * a default route.
 *
 * @throws NetdashError `NO_BROADCAST` when there is no address to send to.
 * @example broadcastCommands({cmd: 'broadcast-to', socket: 'U1', port: 9, bytes}, {addresses: ['10.0.0.255'], isBroadcastOn: false})
 */
export function broadcastCommands(line: BroadcastLine, options: {readonly addresses: readonly string[]; readonly isBroadcastOn: boolean}): Command[] {
	const addresses = line.address === undefined ? [...new Set(options.addresses)] : [line.address];
	if (addresses.length === 0) {
		fail(`no interface here has a broadcast address (loopback has none): name one, e.g. broadcast ${line.socket} 127.255.255.255:${line.port} text`, 'NO_BROADCAST');
	}

	const sends: Command[] = addresses.map((address) => ({cmd: 'sendto', socket: line.socket, host: address, port: line.port, bytes: line.bytes}));
	return options.isBroadcastOn ? sends : [{cmd: 'broadcast', socket: line.socket, isOn: true}, ...sends];
}

/** What tab completion made of a line. */
export type Completion = {
	/** The line with the word under completion extended (unchanged when nothing matches). */
	text: string;
	/** Every word that matched, to show when there is more than one. */
	candidates: string[];
};

function commonPrefix(words: readonly string[]): string {
	let prefix = words[0] ?? '';
	for (const word of words) {
		while (!word.startsWith(prefix)) {
			prefix = prefix.slice(0, -1);
		}
	}

	return prefix;
}

/** What may stand at argument `index` of command `name`. */
function choicesFor(name: string, index: number, ids: readonly string[]): readonly string[] {
	switch (name) {
		case 'send':
		case 'sendhex':
		case 'sendfile':
		case 'shutdown':
		case 'reset': {
			return index === 0 ? ids.filter((id) => connectionId.test(id)) : [];
		}

		case 'close': {
			return index === 0 ? ids : [];
		}

		case 'sendto':
		case 'request':
		case 'udpconnect':
		case 'broadcast': {
			return index === 0 ? ids.filter((id) => udpId.test(id)) : [];
		}

		case 'udp': {
			return index >= 1 ? udpFlags : [];
		}

		case 'halfopen': {
			return index === 0 ? ['on', 'off'] : [];
		}

		case 'listen':
		case 'connect': {
			return index === 1 ? framingNames : [];
		}

		case 'forward': {
			return index === 2 ? framingNames : [];
		}

		default: {
			return [];
		}
	}
}

/**
 * Tab completion of the line's last word: a command name, a socket id (for
 * the commands that take one) or a framing. One match completes the word
 * and adds a space; several extend it to their common prefix and are listed.
 *
 * @example complete('sh', []) // {text: 'shutdown ', candidates: ['shutdown']}
 * @example complete('reset C', ['C1', 'C2', 'L1']) // {text: 'reset C', candidates: ['C1', 'C2']}
 */
export function complete(text: string, ids: readonly string[]): Completion {
	const lastSpace = text.search(/\s\S*$/);
	const start = lastSpace === -1 ? text.search(/\S/) : lastSpace + 1;
	const head = text.slice(0, Math.max(0, start));
	const word = start === -1 ? '' : text.slice(start);
	const before = wordsOf(head);
	const choices = before.length === 0 ? commandLineNames : choicesFor(before[0]!.toLowerCase(), before.length - 1, ids);
	const candidates = choices.filter((choice) => choice.startsWith(word));
	if (candidates.length === 0) {
		return {text, candidates};
	}

	if (candidates.length === 1) {
		const only = candidates[0]!;
		return {text: head + only + (only.endsWith(':') ? '' : ' '), candidates};
	}

	return {text: head + commonPrefix(candidates), candidates};
}
