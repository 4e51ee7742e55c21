import {explainHandshakeError, explainTlsError} from './tcp/tls.js';
/**
 * Errors netdash reports to people. Every failure has a stable UPPER_SNAKE
 * `code` (a Node errno such as `ECONNREFUSED`, or one of netdash's own such
 * as `BAD_PORT`) and a one-line `message` a person understands.
 */
export class NetdashError extends Error {
	/** Stable machine-readable code. */
	readonly code: string;

	constructor(code: string, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'NetdashError';
		this.code = code;
	}
}

/** True for errors Node raises from system calls (they carry a string `code`). */
export function isErrnoError(error: unknown): error is NodeJS.ErrnoException {
	return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The code of any thrown value: its `code` when it has one, else `UNKNOWN`. */
export function errorCode(error: unknown): string {
	return isErrnoError(error) || error instanceof NetdashError ? String(error.code) : 'UNKNOWN';
}

/** The first line of any thrown value's message (stack traces never reach the screen). */
export function oneLine(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text.split(/\r?\n/, 1)[0] ?? '';
}

/** What was being done when a socket error happened, to word its message. */
export type SocketContext = {
	/** `listen`, `connect`, `send`, `receive`, `bind` … */
	operation: 'listen' | 'connect' | 'send' | 'receive' | 'bind' | 'close';
	/** `host:port` the operation was aimed at. */
	address: string;
	/** The connect timeout, for ETIMEDOUT. */
	timeoutMs?: number;
	/** For EMSGSIZE: the datagram's size and the most the protocol carries. */
	bytes?: number;
	limit?: number;
	/** For a TLS certificate made for another host: the names it is for (its subjectAltName). */
	certificateNames?: string;
};

/** Codes that all mean the connection was lost under us: one class, the code kept. */
export const CONNECTION_LOST_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** One line a person understands for a socket error; the code is always in it or beside it. */
export function explainSocketError(code: string, context: SocketContext, fallback?: string): string {
	const {address} = context;
	const tlsLine = explainTlsError(code, address, context.certificateNames === undefined ? {} : {names: context.certificateNames});
	if (tlsLine !== undefined) {
		return `TLS: ${tlsLine}`;
	}

	if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT' && context.timeoutMs !== undefined) {
		return `TLS handshake with ${address} timed out after ${context.timeoutMs / 1000} s — it took the TCP connection, but did not answer in TLS`;
	}

	if (code.startsWith('ERR_SSL_') || code === 'ERR_TLS_HANDSHAKE_TIMEOUT') {
		return `TLS handshake with ${address} failed: ${explainHandshakeError(code, fallback ?? code)}`;
	}

	switch (code) {
		case 'ECONNREFUSED': {
			return `connection refused by ${address} — nothing is listening there`;
		}

		case 'EADDRINUSE': {
			return `${address} is already in use — another socket is bound to that port`;
		}

		case 'EACCES': {
			return context.operation === 'send'
				? `permission denied sending to ${address} — broadcast needs broadcast enabled on the socket`
				: `permission denied binding ${address} — ports below 1024 need root or CAP_NET_BIND_SERVICE`;
		}

		case 'EADDRNOTAVAIL': {
			return `${address} is not an address of this machine`;
		}

		case 'ETIMEDOUT': {
			const seconds = context.timeoutMs === undefined ? '' : ` after ${context.timeoutMs / 1000} s`;
			return `${context.operation} to ${address} timed out${seconds} — no answer (host down or packets dropped)`;
		}

		case 'ECONNRESET': {
			return `connection to ${address} reset by the peer`;
		}

		case 'EPIPE': {
			return `broken pipe to ${address} — the peer closed before all data was sent`;
		}

		case 'ECONNABORTED': {
			return `connection to ${address} aborted`;
		}

		case 'ENOTFOUND':
		case 'EAI_NONAME':
		case 'EAI_NODATA': {
			return `cannot resolve host in ${address} — no such name`;
		}

		case 'EAI_AGAIN': {
			return `cannot resolve host in ${address} — the name server did not answer`;
		}

		case 'EHOSTUNREACH': {
			return `host ${address} is unreachable — no route or no answer to ARP`;
		}

		case 'ENETUNREACH': {
			return `network of ${address} is unreachable — no route to it`;
		}

		case 'EMSGSIZE': {
			const size = context.bytes === undefined ? 'datagram' : `datagram of ${context.bytes} bytes`;
			const limit = context.limit === undefined ? 'for the socket' : `— UDP carries at most ${context.limit} bytes`;
			return `${size} to ${address} is too large ${limit}`;
		}

		default: {
			return `${context.operation} ${address} failed: ${fallback ?? code}`;
		}
	}
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatAddress(host: string, port: number): string {
	return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
