import {X509Certificate} from 'node:crypto';
import {readFileSync} from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {NetdashError} from '../errors.js';
import type {CertificateSummary, TlsInfo} from '../events.js';

export type {CertificateSummary, TlsInfo} from '../events.js';

/** TLS for a listener: a certificate and its key (PEM), and the ALPN protocols it offers. */
export type TlsServerConfig = {cert: string; key: string; alpn?: string[]};

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
export function resetSocket(socket: net.Socket, raw: net.Socket | undefined = socket instanceof tls.TLSSocket ? rawSocketOf(socket) : socket): void {
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
		certificate = new X509Certificate(pem);
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
export function describeTls(socket: tls.TLSSocket, isAccepted: boolean, isInsecure: boolean): TlsInfo {
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
			info.verifyError = explainTlsError(code, socket.servername || 'the peer') ?? code;
		}
	}

	return info;
}

/**
 * One line for a certificate that failed verification, by OpenSSL's (or
 * Node's) error code; undefined when the code is not a verification failure.
 * `host` is the name the certificate was checked against.
 */
export function explainTlsError(code: string, host: string): string | undefined {
	switch (code) {
		case 'DEPTH_ZERO_SELF_SIGNED_CERT':
		case 'SELF_SIGNED_CERT_IN_CHAIN': {
			return `certificate of ${host} is self-signed and not trusted (--insecure to connect anyway)`;
		}

		case 'CERT_HAS_EXPIRED': {
			return `certificate of ${host} has expired`;
		}

		case 'CERT_NOT_YET_VALID': {
			return `certificate of ${host} is not valid yet (check the clocks)`;
		}

		case 'ERR_TLS_CERT_ALTNAME_INVALID': {
			return `certificate is for another host, not ${host}`;
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

/** The line of the Log and of `--json` for a TLS session, short enough for one row. */
export function formatTls(info: TlsInfo): string {
	const alpn = info.alpn ? ` alpn ${info.alpn}` : '';
	const insecure = info.isInsecure ? ` — NOT VERIFIED${info.verifyError ? `: ${info.verifyError}` : ''}` : '';
	const cert = info.certificate;
	const certText = cert
		? `; cert ${cert.subject} by ${cert.issuer}, ${cert.validFrom.slice(0, 10)}–${cert.validTo.slice(0, 10)}, sha256 ${cert.fingerprint256.slice(0, 23)}…`
		: '';
	return `${info.protocol} ${info.cipher}${alpn}${certText}${insecure}`;
}
