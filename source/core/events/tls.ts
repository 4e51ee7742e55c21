import type {Endpoint} from './base.js';

/** Bus events of TLS on listeners and connections. Re-exported by ../events.ts, which holds the BusEvent union. */

// TLS (issue 17): the session on connection-opened, and the certificate on listener-opened.
/** What a certificate says about itself, as the row and the Log show it. */
export type CertificateSummary = {
	subject: string;
	issuer: string;
	/** Validity as the certificate gives it (`notBefore` / `notAfter`), ISO 8601. */
	validFrom: string;
	validTo: string;
	/** SHA-256 of the DER certificate, hex pairs with colons (as `openssl x509 -fingerprint -sha256`). */
	fingerprint256: string;
};

/**
 * The TLS session of a connection, on `connection-opened`. `certificate` is
 * the server's: the peer's when we dialed, our own when we accepted (clients
 * rarely present one).
 */
export type TlsInfo = {
	/** `TLSv1.3`, `TLSv1.2`, … */
	protocol: string;
	/** The cipher suite's standard name. */
	cipher: string;
	/** The protocol ALPN agreed on, or null when none was. */
	alpn: string | null;
	/** Absent when the peer presented none (anonymous suites, which Node does not enable by default). */
	certificate?: CertificateSummary;
	/** Dialed with verification off (`--insecure`): the peer is not known to be who it claims. */
	isInsecure?: boolean;
	/** With verification off: what verification would have said, in one line. */
	verifyError?: string;
};

/** A client of a TLS listener failed its handshake (spoke plain text, or rejected our certificate); it never became a connection. */
export type TlsHandshakeFailed = {
	type: 'tls-handshake-failed';
	listener: string;
	remote: Endpoint;
	code: string;
	message: string;
};
