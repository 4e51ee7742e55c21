import net from 'node:net';
import type tls from 'node:tls';
import {NetdashError} from '../errors.js';
import type {ConnectionTls} from './connection.js';
import {tlsServerConfig} from './self-signed.js';
import {rawSocketOf, tlsModule, type TlsServerConfig} from './tls.js';

/** The TLS options of `listen`: serve TLS, with these PEM files instead of netdash's own certificate, offering these ALPN protocols. */
export type TlsListenOptions = {
	tls?: boolean;
	/** ALPN protocols to accept, in order of preference. */
	alpn?: string[];
	cert?: string;
	key?: string;
};

/** The TLS options of `connect`: dial TLS, offering these ALPN protocols; `insecure` skips verification (the session says so). */
export type TlsConnectOptions = {
	tls?: boolean;
	/** ALPN protocols to offer, in order of preference. */
	alpn?: string[];
	insecure?: boolean;
};

/**
 * What a listener serves: undefined for plain TCP. TLS options without
 * `tls` are an error rather than silently plain. A client has
 * `handshakeTimeoutMs` to finish its handshake (the core's connect timeout).
 * A promise while netdash's own certificate is being made (see tlsServerConfig).
 */
export function listenTls(options: TlsListenOptions, configDirectory: string | undefined, handshakeTimeoutMs = 0): TlsServerConfig | Promise<TlsServerConfig> | undefined {
	if (!options.tls) {
		if (options.cert !== undefined || options.key !== undefined || options.alpn !== undefined) {
			throw new NetdashError('BAD_TLS_OPTION', 'cert, key and alpn need tls on the listener');
		}

		return undefined;
	}

	const withTimeout = (config: TlsServerConfig): TlsServerConfig => ({...config, ...(handshakeTimeoutMs > 0 ? {handshakeTimeoutMs} : {})});
	const config = tlsServerConfig(options, configDirectory);
	return config instanceof Promise ? config.then(withTimeout) : withTimeout(config);
}

/** A dial's TCP socket errors reach its TLS socket too, which reports them: nothing more to do here. */
function ignoreRawError(): void {
	// The TLS socket reports the same error.
}

/**
 * A TLS dial, started; undefined for plain TCP (the caller dials). It runs
 * over a TCP socket of our own, connecting before Node wraps it so that the
 * wrap is native, and kept to reset it (a TLS socket cannot be reset
 * itself). SNI is the host unless it is an address (RFC 6066 forbids IP
 * literals there); the certificate is checked against the host either way,
 * unless insecure.
 */
export function dialTls(host: string, port: number, options: TlsConnectOptions): {socket: tls.TLSSocket; tls: ConnectionTls} | undefined {
	if (!options.tls) {
		if (options.insecure !== undefined || options.alpn !== undefined) {
			throw new NetdashError('BAD_TLS_OPTION', 'insecure and alpn need tls on the connection');
		}

		return undefined;
	}

	const raw = new net.Socket({allowHalfOpen: true});
	raw.on('error', ignoreRawError);
	raw.connect({host, port});
	const socket = tlsModule().connect({
		socket: raw,
		// With a socket given, `host` only names whom the certificate must be for.
		host,
		// allowHalfOpen reaches the TLSSocket (Node passes it to net.Socket) though @types/node leaves it out.
		...({allowHalfOpen: true} as tls.ConnectionOptions),
		rejectUnauthorized: options.insecure !== true,
		...(net.isIP(host) === 0 ? {servername: host} : {}),
		...(options.alpn?.length ? {ALPNProtocols: options.alpn} : {}),
	});
	return {socket, tls: {isInsecure: options.insecure === true, raw}};
}

/** The TLS extras of a connection a TLS listener accepted: verified by nobody (clients rarely present a certificate), and the TCP socket under it. */
export function acceptedTls(socket: net.Socket): ConnectionTls {
	return {isInsecure: false, raw: rawSocketOf(socket as tls.TLSSocket)};
}
