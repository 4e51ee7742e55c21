import {NetdashError} from '../errors.js';
import {toDisplayString} from '../format/index.js';
import {parseHostPort, type HostPort} from '../ports.js';

/** A forward as asked for: where to listen, and where each client is relayed to. */
export type ForwardSpec = {
	bind: HostPort;
	target: HostPort;
};

/** Splits on ':' outside brackets, so `[::1]:8080` stays one host and one port. */
function splitColons(text: string): string[] {
	const parts: string[] = [];
	let current = '';
	let depth = 0;
	for (const char of text) {
		if (char === '[') {
			depth++;
		} else if (char === ']') {
			depth--;
		}

		if (char === ':' && depth === 0) {
			parts.push(current);
			current = '';
		} else {
			current += char;
		}
	}

	parts.push(current);
	return parts;
}

/** `[::1]` as `::1`; other hosts as given. */
function unbracket(host: string): string {
	return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `::1` as `[::1]` so that parseHostPort reads it. */
function bracket(host: string): string {
	return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * Parses `[BIND:]PORT:HOST:HOSTPORT`, the syntax of `ssh -L`: BIND defaults
 * to 127.0.0.1 (as ssh's default, loopback only), PORT 0 picks a free port,
 * IPv6 addresses go in brackets (`[::1]:8080:[::1]:3000`).
 *
 * @throws NetdashError `BAD_FORWARD` naming what is wrong, or the port and address parsers' `BAD_PORT` / `BAD_ADDRESS`.
 * @example parseForwardSpec('8080:127.0.0.1:3000') // {bind: {host: '127.0.0.1', port: 8080}, target: {host: '127.0.0.1', port: 3000}}
 */
export function parseForwardSpec(text: string): ForwardSpec {
	const parts = splitColons(text);
	if (parts.length !== 3 && parts.length !== 4) {
		throw new NetdashError('BAD_FORWARD', `'${toDisplayString(text, {maxChars: 60})}' is not [BIND:]PORT:HOST:HOSTPORT, e.g. 8080:127.0.0.1:3000`);
	}

	const [bindHost, bindPort, host, hostPort] = parts.length === 4 ? (parts as [string, string, string, string]) : (['127.0.0.1', ...parts] as [string, string, string, string]);
	const bind = parseHostPort(`${bracket(unbracket(bindHost))}:${bindPort}`, {allowZero: true, requireHost: true});
	const target = parseHostPort(`${bracket(unbracket(host))}:${hostPort}`, {requireHost: true});
	return {bind, target};
}
