import {readFileSync} from 'node:fs';
import {isIPv4, isIPv6} from 'node:net';
import {NetdashError} from './errors.js';
import {toDisplayString} from './format/display.js';

/** IANA's three port ranges. */
export type PortClass = 'well-known' | 'registered' | 'ephemeral';

/** Options for {@link parsePort} and {@link parseHostPort}. */
export type ParsePortOptions = {
	/**
	 * Accept port 0 (listen on any free port). Off, 0 is rejected as "not a destination".
	 * @default false
	 */
	allowZero?: boolean;
};

/** Options for {@link parseHostPort}. */
export type ParseHostPortOptions = ParsePortOptions & {
	/**
	 * Host used when the text gives none (`'8080'`, `':8080'`).
	 * @default '127.0.0.1'
	 */
	defaultHost?: string;
	/**
	 * Reject text without a host, even when there is a default.
	 * @default false
	 */
	requireHost?: boolean;
};

/** A host (names and IPv6 without brackets) and a port. */
export type HostPort = {host: string; port: number};

const maxPort = 65_535;

/**
 * The IANA class of a port: 0–1023 well-known, 1024–49151 registered,
 * 49152–65535 ephemeral (dynamic/private).
 *
 * @throws NetdashError `BAD_PORT` for anything that is not an integer 0–65535.
 */
export function portClass(port: number): PortClass {
	if (!Number.isInteger(port) || port < 0 || port > maxPort) {
		throw new NetdashError('BAD_PORT', `port ${port} is out of range (0–65535)`);
	}

	if (port <= 1023) {
		return 'well-known';
	}

	return port <= 49_151 ? 'registered' : 'ephemeral';
}

/** `name port/protocol [aliases…]`; names are printable ASCII without spaces. */
const serviceLine = /^([\x21-\x7E]+)\s+(\d{1,5})\/([a-z\d-]+)(?:\s|$)/i;

/**
 * Parses the text of an /etc/services file into a map from
 * `${port}/${protocol}` (protocol lower-cased, e.g. `'22/tcp'`) to the first
 * service name listed for it. Aliases, comments, blank and malformed lines
 * (and ports past 65535) are ignored.
 */
export function parseServices(text: string): Map<string, string> {
	const services = new Map<string, string>();
	for (const rawLine of text.split('\n')) {
		const hash = rawLine.indexOf('#');
		const line = (hash === -1 ? rawLine : rawLine.slice(0, hash)).trim();
		const match = serviceLine.exec(line);
		if (!match) {
			continue;
		}

		const [, name, portText, protocol] = match;
		const port = Number(portText);
		const key = `${port}/${protocol!.toLowerCase()}`;
		if (port <= maxPort && !services.has(key)) {
			services.set(key, name!);
		}
	}

	return services;
}

let services: Map<string, string> | undefined;

/**
 * The service name of a port from /etc/services (`serviceName(22)` is
 * `'ssh'`), or undefined. The file is read once, synchronously, on first use;
 * a missing or unreadable file counts as empty, so this never throws.
 */
export function serviceName(port: number, protocol: 'tcp' | 'udp' = 'tcp'): string | undefined {
	if (services === undefined) {
		try {
			services = parseServices(readFileSync('/etc/services', 'utf8'));
		} catch {
			services = new Map();
		}
	}

	return services.get(`${port}/${protocol}`);
}

/** Input quoted for a one-line message (it may be anything a person typed). */
function quote(text: string): string {
	return `'${toDisplayString(text, {maxChars: 40})}'`;
}

/**
 * Parses a port: decimal digits only (no sign, spaces, exponent or `0x`) with
 * a value 0–65535.
 *
 * @throws NetdashError `BAD_PORT`, e.g. "port 70000 is out of range (0–65535)",
 * "'abc' is not a port number", "port 0 is not a destination".
 */
export function parsePort(text: string, options?: ParsePortOptions): number {
	if (!/^\d+$/.test(text)) {
		throw new NetdashError('BAD_PORT', text === '' ? 'no port number given' : `${quote(text)} is not a port number`);
	}

	const port = Number(text);
	if (port > maxPort) {
		throw new NetdashError('BAD_PORT', `port ${toDisplayString(text, {maxChars: 20})} is out of range (0–65535)`);
	}

	if (port === 0 && !options?.allowZero) {
		throw new NetdashError('BAD_PORT', 'port 0 is not a destination');
	}

	return port;
}

/** Host names and IPv4 addresses: letters, digits, '.', '-', '_'. */
const hostName = /^[\w.-]+$/;

/** Digits and dots only: meant as an IPv4 address (no host name is all digits in its last label). */
const dottedNumbers = /^[\d.]+$/;

/**
 * Rejects a host written as numbers that is not an IPv4 address
 * (`999.1.1.1`, `10.0.0`): the resolver would only say "no such name".
 *
 * @throws NetdashError `BAD_ADDRESS`, e.g. "'999.1.1.1' is not an address (each of its 4 numbers is 0–255)".
 */
export function checkHost(host: string): void {
	if (dottedNumbers.test(host) && !isIPv4(host)) {
		throw new NetdashError('BAD_ADDRESS', `${quote(host)} is not an address (an IPv4 address is 4 numbers from 0 to 255, as in 10.0.0.1)`);
	}
}

/**
 * Parses `'port'`, `':port'`, `'host:port'` and `'[ipv6]:port'` (the host
 * comes back without brackets). A missing host gives `defaultHost`. IPv6
 * addresses need brackets; nothing is trimmed.
 *
 * @throws NetdashError `BAD_PORT` for a missing or bad port (`'host:'`), `BAD_ADDRESS`
 * for a missing, required or malformed host (`':::'`, `'[::1'`), each one
 * line quoting the input.
 */
export function parseHostPort(text: string, options: ParseHostPortOptions): HostPort {
	let host: string;
	let portText: string;
	if (text.startsWith('[')) {
		const close = text.indexOf(']');
		if (close === -1) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)} has '[' without a closing ']'`);
		}

		host = text.slice(1, close);
		if (!isIPv6(host)) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)}: ${quote(host)} in brackets is not an IPv6 address`);
		}

		const rest = text.slice(close + 1);
		if (rest === '' || rest === ':') {
			throw new NetdashError('BAD_PORT', `${quote(text)} has no port (write [${toDisplayString(host)}]:PORT)`);
		}

		if (!rest.startsWith(':')) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)} needs ':' between ']' and the port`);
		}

		portText = rest.slice(1);
	} else {
		const colon = text.lastIndexOf(':');
		if (colon !== text.indexOf(':')) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)} is not host:port (an IPv6 address needs brackets, as in [::1]:80)`);
		}

		if (colon === -1 && options.requireHost && !/^\d*$/.test(text)) {
			// `-c example.com`: a host with no port, not a port with no host.
			throw new NetdashError('BAD_PORT', `${quote(text)} has no port (write ${toDisplayString(text, {maxChars: 40})}:PORT)`);
		}

		host = colon === -1 ? '' : text.slice(0, colon);
		portText = text.slice(colon + 1);
		if (colon !== -1 && portText === '') {
			throw new NetdashError('BAD_PORT', `${quote(text)} has no port after ':'`);
		}

		if (host !== '' && !hostName.test(host)) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)}: ${quote(host)} is not a host name or address`);
		}

		checkHost(host);
	}

	if (host === '') {
		if (options.requireHost) {
			throw new NetdashError('BAD_ADDRESS', `${quote(text)} has no host (write HOST:PORT)`);
		}

		host = options.defaultHost ?? '127.0.0.1';
	}

	let port: number;
	try {
		port = parsePort(portText, options);
	} catch (error) {
		const reason = error instanceof NetdashError ? error.message : String(error);
		throw new NetdashError('BAD_PORT', `${quote(text)}: ${reason}`, {cause: error});
	}

	return {host, port};
}
