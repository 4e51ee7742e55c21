import type {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import {builtin, crypto} from '../builtin.js';
import {NetdashError} from '../errors.js';
import type {CertificateSummary, TlsInfo} from '../events.js';

export type {CertificateSummary, TlsInfo} from '../events.js';

/** node:tls, loaded by the first TLS listener or dial (builtin.ts). */
export const tlsModule = builtin<typeof tls>('node:tls');

/** A TLS socket can only exist once a listener or dial has loaded node:tls. */
function isTlsSocket(socket: net.Socket): socket is tls.TLSSocket {
	const loaded = tlsModule.ifLoaded();
	return loaded !== undefined && socket instanceof loaded.TLSSocket;
}

/** TLS for a listener: a certificate and its key (PEM), and the ALPN protocols it offers. */
export type TlsServerConfig = {
	cert: string;
	key: string;
	alpn?: string[];
	/** How long a client has to finish its handshake, in ms (0: Node's 120 s); until then it is not counted against --max-conns. */
	handshakeTimeoutMs?: number;
};

/** TLS for a dial: whether to verify the peer, and the ALPN protocols to offer. */
export type TlsDialConfig = {isInsecure: boolean; alpn?: string[]; servername?: string};

/**
 * The TCP socket under an accepted TLS socket. A reset needs it:
 * `resetAndDestroy()` on the TLS socket throws ERR_INVALID_HANDLE_TYPE (its
 * handle is the TLS wrap, not the TCP handle). Node keeps it as `_parent`.
 */
export function rawSocketOf(socket: tls.TLSSocket): net.Socket | undefined {
	const parent = (socket as tls.TLSSocket & {_parent?: unknown})._parent;
	return parent instanceof net.Socket ? parent : undefined;
}

/**
 * Abort a socket with a RST, TLS or not. A TLS socket is reset through the
 * TCP socket under it (`raw`, or the one Node keeps); one whose TCP connect
 * has not completed has nothing to reset and is destroyed, as a plain socket
 * still connecting is (its SYN simply goes unanswered).
 */
export function resetSocket(socket: net.Socket, raw: net.Socket | undefined = isTlsSocket(socket) ? rawSocketOf(socket) : socket): void {
	if (raw === undefined || raw.connecting || raw.destroyed) {
		socket.destroy();
		return;
	}

	// Only the TCP socket: the TLS socket closes with it (destroying it too would close the shared handle twice).
	raw.resetAndDestroy();
}

/** A file's text, or BAD_TLS_FILE naming which flag it came from. */
export function readPem(path: string, what: 'certificate' | 'key'): string {
	try {
		return readFileSync(path, 'utf8');
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
		throw new NetdashError('BAD_TLS_FILE', `cannot read the TLS ${what} ${path} (${code})`);
	}
}

/** Node gives subject and issuer as objects of RDNs: `CN=a, O=b`, values flattened. */
function formatName(name: tls.Certificate | undefined): string {
	if (!name) {
		return '';
	}

	return Object.entries(name)
		.map(([key, value]) => `${key}=${Array.isArray(value) ? value.join('+') : String(value)}`)
		.join(', ');
}

/** The certificate fields the dashboard shows; null for no certificate (an empty object in Node's API). */
export function summarizeCertificate(certificate: tls.PeerCertificate | object | null | undefined): CertificateSummary | null {
	if (!certificate || !('fingerprint256' in certificate)) {
		return null;
	}

	return {
		subject: formatName(certificate.subject),
		issuer: formatName(certificate.issuer),
		validFrom: new Date(certificate.valid_from).toISOString(),
		validTo: new Date(certificate.valid_to).toISOString(),
		fingerprint256: certificate.fingerprint256,
	};
}

/** The summary of a PEM certificate (the first of a chain); BAD_TLS_FILE when it is not one. */
export function summarizePem(pem: string): CertificateSummary {
	let certificate: X509Certificate;
	try {
		certificate = new (crypto().X509Certificate)(pem);
	} catch (error) {
		throw new NetdashError('BAD_TLS_FILE', `not a PEM certificate: ${(error as Error).message}`);
	}

	// X509Certificate gives one RDN per line: the row wants one line.
	return {
		subject: certificate.subject.split('\n').join(', '),
		issuer: certificate.issuer.split('\n').join(', '),
		validFrom: new Date(certificate.validFrom).toISOString(),
		validTo: new Date(certificate.validTo).toISOString(),
		fingerprint256: certificate.fingerprint256,
	};
}

/** The session of a socket whose handshake is complete. */
export function describeTls(socket: tls.TLSSocket, isAccepted: boolean, isInsecure: boolean, peer = 'the peer'): TlsInfo {
	const certificate = summarizeCertificate(isAccepted ? socket.getCertificate() : socket.getPeerCertificate());
	const alpn = socket.alpnProtocol;
	const info: TlsInfo = {
		protocol: socket.getProtocol() ?? 'unknown',
		cipher: socket.getCipher().standardName,
		alpn: typeof alpn === 'string' ? alpn : null,
		...(certificate ? {certificate} : {}),
	};
	if (isInsecure) {
		info.isInsecure = true;
		const error = socket.authorizationError as unknown as Error | string | null;
		if (error) {
			const code = typeof error === 'string' ? error : ((error as NodeJS.ErrnoException).code ?? error.message);
			info.verifyError = explainTlsError(code, peer, {isRefused: false}) ?? code;
		}
	}

	return info;
}

/** How a verification failure is told: whether the connection was refused for it, and the names the certificate is for. */
export type TlsErrorContext = {
	/** False when the connection went ahead unverified (--insecure): no hint to use --insecure. @default true */
	isRefused?: boolean;
	/** The certificate's subjectAltName (`DNS:example.com, IP Address:10.0.0.1`), for a wrong host. */
	names?: string;
};

/**
 * One line for a certificate that failed verification, by OpenSSL's (or
 * Node's) error code; undefined when the code is not a verification failure.
 * `host` is the name the certificate was checked against.
 */
export function explainTlsError(code: string, host: string, {isRefused = true, names}: TlsErrorContext = {}): string | undefined {
	switch (code) {
		case 'DEPTH_ZERO_SELF_SIGNED_CERT':
		case 'SELF_SIGNED_CERT_IN_CHAIN': {
			// The usual case on a test bench: say how to go on, unless it went on already (--insecure).
			return `certificate of ${host} is self-signed and not trusted${isRefused ? ' (--insecure to connect anyway)' : ''}`;
		}

		case 'CERT_HAS_EXPIRED': {
			return `certificate of ${host} has expired`;
		}

		case 'CERT_NOT_YET_VALID': {
			return `certificate of ${host} is not valid yet (check the clocks)`;
		}

		case 'ERR_TLS_CERT_ALTNAME_INVALID': {
			return `certificate is for ${names ? names.replaceAll('IP Address:', 'IP:') : 'another host'}, not ${host}`;
		}

		case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
		case 'UNABLE_TO_GET_ISSUER_CERT':
		case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY': {
			return `certificate of ${host} is signed by an unknown CA`;
		}

		case 'CERT_REVOKED': {
			return `certificate of ${host} has been revoked`;
		}

		case 'CERT_SIGNATURE_FAILURE':
		case 'CERT_UNTRUSTED':
		case 'CERT_REJECTED':
		case 'INVALID_CA': {
			return `certificate of ${host} is not trusted (${code})`;
		}

		default: {
			return undefined;
		}
	}
}

/**
 * Why a TLS handshake failed, in words, from either end: what the peer's
 * alert says of our certificate, a peer that does not speak TLS, nothing in
 * common. Other failures keep OpenSSL's reason, without its file and line.
 */
export function explainHandshakeError(code: string, message: string): string {
	switch (code) {
		case 'ERR_SSL_HTTP_REQUEST': {
			return 'the peer spoke plain HTTP, not TLS';
		}

		case 'ERR_SSL_WRONG_VERSION_NUMBER':
		case 'ERR_SSL_PACKET_LENGTH_TOO_LONG':
		case 'ERR_SSL_UNKNOWN_PROTOCOL': {
			return 'the peer does not speak TLS (plain text?)';
		}

		case 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA': {
			return 'the peer does not trust our certificate: self-signed, or signed by a CA it does not know';
		}

		case 'ERR_SSL_SSL/TLS_ALERT_BAD_CERTIFICATE':
		case 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE': {
			return 'the peer rejected our certificate (often: made for another host name)';
		}

		case 'ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_EXPIRED':
		case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED': {
			return 'the peer says our certificate has expired';
		}

		case 'ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN':
		case 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN': {
			return 'the peer rejected our certificate (certificate unknown)';
		}

		case 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION':
		case 'ERR_SSL_UNSUPPORTED_PROTOCOL': {
			return 'no TLS version in common with the peer';
		}

		case 'ERR_SSL_NO_SHARED_CIPHER': {
			return 'no cipher suite in common with the peer';
		}

		case 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL':
		case 'ERR_SSL_NO_APPLICATION_PROTOCOL': {
			return 'no ALPN protocol in common with the peer';
		}

		case 'ECONNRESET': {
			return 'the peer reset the connection during the handshake';
		}

		case 'ERR_TLS_HANDSHAKE_TIMEOUT': {
			return 'the peer did not finish the handshake in time';
		}

		default: {
			// `4060…:error:0A000126:SSL routines:ssl3_read_n:unexpected eof while reading:../ssl/…c:318:` → its reason.
			const reason = /:SSL routines:[^:]*:([^:]+):/.exec(message)?.[1];
			return `${reason ?? message} (${code})`;
		}
	}
}

/** `2026-12-03 22:30:10Z`: a validity bound, to the second. */
function formatValidity(iso: string): string {
	return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

/** The Log's notes for a certificate (`whose`: `our certificate`, `peer certificate`): names and validity, then the SHA-256 fingerprint in full. */
export function certificateNotes(cert: CertificateSummary, whose: string): Array<{text: string; isError: boolean}> {
	return [
		{text: `${whose}: ${cert.subject}, issued by ${cert.issuer}, valid ${formatValidity(cert.validFrom)} to ${formatValidity(cert.validTo)}`, isError: false},
		{text: `${whose} SHA-256 ${cert.fingerprint256}`, isError: false},
	];
}

/**
 * The Log's notes for a TLS session, one fact each so each reads on its own
 * line: version, cipher and ALPN; the certificate (the peer's when we
 * dialed, ours when we accepted) with its issuer and validity; its SHA-256
 * fingerprint in full; and, for an unverified dial, an error saying so.
 */
export function tlsNotes(info: TlsInfo, isAccepted: boolean): Array<{text: string; isError: boolean}> {
	const notes = [{text: `TLS ${info.protocol}, cipher ${info.cipher}, ${info.alpn ? `ALPN ${info.alpn}` : 'no ALPN'}`, isError: false}];
	const whose = isAccepted ? 'our certificate' : 'peer certificate';
	notes.push(...(info.certificate ? certificateNotes(info.certificate, whose) : [{text: `no ${whose}`, isError: false}]));

	if (info.isInsecure) {
		notes.push({text: `NOT VERIFIED (--insecure)${info.verifyError ? `: ${info.verifyError}` : ': the peer passed verification, but nothing was enforced'}`, isError: true});
	}

	return notes;
}
