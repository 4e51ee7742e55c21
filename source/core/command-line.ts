import type {Command} from './commands.js';
import {NetdashError} from './errors.js';
import {parseEscapedText, parseHex, toDisplayString} from './format/index.js';
import {parseFraming} from './framing/index.js';
import {parseHostPort, parsePort} from './ports.js';

/**
 * The dashboard's `:` command line: the same vocabulary as the JSON commands
 * (see commands.ts) written the way a person types it, plus `clear` and
 * `help`, which only mean something on screen. Pure: no sockets, no React.
 */

/** What a command line can ask for: a core command, or one the dashboard carries out itself. */
export type LineCommand =
	| Command
	/** Drop closed connections and listeners from the panes. */
	| {cmd: 'clear'}
	/** Open the help overlay. */
	| {cmd: 'help'};

/** What the line is read against. */
export type CommandLineContext = {
	/** The socket whose log is shown: the default target of `send`, `shutdown`, `reset`, `close`. */
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
	{name: 'send', usage: 'send [C1] text', description: 'send text with \\r \\n \\t \\xNN escapes'},
	{name: 'sendhex', usage: 'sendhex [C1] 48 65 6c', description: 'send bytes written in hex'},
	{name: 'shutdown', usage: 'shutdown [C1]', description: 'half-close: send FIN, keep reading'},
	{name: 'reset', usage: 'reset [C1]', description: 'abort with a RST'},
	{name: 'close', usage: 'close [C1|L1]', description: 'close a connection or stop a listener'},
	{name: 'discover', usage: 'discover [port]', description: 'find netdash peers on the subnet by broadcast (port 47474)'},
	{name: 'probe', usage: 'probe', description: 'ask every peer to answer now'},
	{name: 'clear', usage: 'clear', description: 'remove closed rows'},
	{name: 'help', usage: 'help', description: 'show the keys'},
	{name: 'quit', usage: 'quit', description: 'close everything and leave'},
];

/** The names of the commands the line knows. */
export const commandLineNames: readonly string[] = commandLineUsages.map((usage) => usage.name);

/** Framings offered by completion (`fixed:` wants its size typed after it). */
const framingNames = ['raw', 'line', 'u16', 'u32', 'fixed:'];

/** Commands that exist in netdash's plan but not in this build: a clear word instead of "unknown command". */
const laterCommands = new Map([
	['udp', 'UDP sockets are not available in this build yet'],
	['sendto', 'UDP sockets are not available in this build yet'],
	['broadcast', 'UDP sockets are not available in this build yet'],
]);

/** Ids look like C12 (connection) or L3 (listener). */
const connectionId = /^C\d+$/;
const socketId = /^[A-Z]\d+$/;

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
		fail(`${id} is a listener: ${name} works on connections (C1, C2, …)`);
	}

	return id;
}

/** Splits `send [C1] payload`: a first word shaped like a connection id names the target. */
function splitPayload(name: string, rest: string, context: CommandLineContext): {id: string; payload: string} {
	const match = /^(C\d+)(?:\s([\s\S]*))?$/.exec(rest);
	const named = match?.[1];
	const payload = match ? (match[2] ?? '') : rest;
	const id = targetOf(name, named, context, false);
	if (payload === '') {
		fail(name === 'send' ? `send needs text after ${named ?? 'the command'} (usage: ${usageOf('send')})` : `sendhex needs bytes, e.g. ${usageOf('sendhex')}`);
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
 * `NOT_AVAILABLE`, or the parsers' own `BAD_PORT`, `BAD_ADDRESS`, `BAD_FRAMING`,
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

		case 'shutdown':
		case 'reset':
		case 'close': {
			expectAtMost(name, words, 1);
			return {cmd: name, id: targetOf(name, words[0], context, name === 'close')};
		}

		case 'discover': {
			expectAtMost(name, words, 1);
			return words[0] === undefined ? {cmd: 'discover'} : {cmd: 'discover', port: parsePort(words[0])};
		}

		case 'probe': {
			expectAtMost(name, words, 0);
			return {cmd: 'probe'};
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
			const later = laterCommands.get(name);
			if (later) {
				fail(later, 'NOT_AVAILABLE');
			}

			fail(`unknown command ${quote(match[1]!)}: use one of ${commandLineNames.join(', ')}`);
		}
	}
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
		case 'shutdown':
		case 'reset': {
			return index === 0 ? ids.filter((id) => connectionId.test(id)) : [];
		}

		case 'close': {
			return index === 0 ? ids : [];
		}

		case 'listen':
		case 'connect': {
			return index === 1 ? framingNames : [];
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
