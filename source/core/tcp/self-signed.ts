import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import forge from 'node-forge';
import {unsafeCacheReason} from '../../compile-cache.js';
import {NetdashError} from '../errors.js';
import {readPem, summarizePem, tlsModule, type TlsServerConfig} from './tls.js';

/** A certificate and its private key, PEM. */
export type KeyPair = {cert: string; key: string};

/** What to put in a certificate made here. */
export type CertificateSpec = {
	commonName: string;
	/** DNS names and IP addresses it is valid for. */
	dnsNames: string[];
	ips: string[];
	notBefore: Date;
	notAfter: Date;
};

/**
 * Makes a self-signed certificate (RSA 2048, SHA-256). The key pair comes
 * from Node's own crypto (forge uses it when present: ~0.5 s, not the
 * seconds of forge's pure-JS generator). Tests use it for expired and
 * wrong-host certificates: OpenSSL 3.0's `x509` cannot set a past notAfter.
 */
export function makeSelfSigned(spec: CertificateSpec): KeyPair {
	const keys = forge.pki.rsa.generateKeyPair({bits: 2048});
	const cert = forge.pki.createCertificate();
	cert.publicKey = keys.publicKey;
	// A random positive serial: browsers and OpenSSL reject two certificates with one issuer and serial.
	cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(15))}`;
	cert.validity.notBefore = spec.notBefore;
	cert.validity.notAfter = spec.notAfter;
	const name = [{name: 'commonName', value: spec.commonName}];
	cert.setSubject(name);
	cert.setIssuer(name);
	cert.setExtensions([
		{name: 'basicConstraints', cA: false},
		{name: 'keyUsage', digitalSignature: true, keyEncipherment: true},
		{name: 'extKeyUsage', serverAuth: true},
		{name: 'subjectAltName', altNames: [...spec.dnsNames.map((value) => ({type: 2, value})), ...spec.ips.map((ip) => ({type: 7, ip}))]},
	]);
	cert.sign(keys.privateKey, forge.md.sha256.create());
	return {cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey)};
}

/** `$XDG_CONFIG_HOME/netdash`, or `~/.config/netdash`; undefined without a usable home. */
export function configDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
	const xdg = env['XDG_CONFIG_HOME'];
	// The XDG spec says a relative value is invalid and must be ignored.
	if (xdg && path.isAbsolute(xdg)) {
		return path.join(xdg, 'netdash');
	}

	const home = env['HOME'] ?? os.homedir();
	return home && path.isAbsolute(home) ? path.join(home, '.config', 'netdash') : undefined;
}

/** Ten years: the certificate is made once and kept; clients pin it by fingerprint or skip verification. */
const VALID_DAYS = 3650;

/**
 * netdash's own certificate for `--tls` listeners without `--cert`: made
 * the first time (valid for localhost, 127.0.0.1, ::1 and this host's name)
 * and kept as `tls-cert.pem` and `tls-key.pem` (0600) in `directory`,
 * created 0700. A directory owned by someone else or writable by others is
 * refused: whoever can write there could swap the key we serve.
 */
export function ownCertificate(directory: string | undefined): KeyPair & {certPath: string} {
	if (directory === undefined) {
		throw new NetdashError('NO_CONFIG_DIR', 'no home or XDG_CONFIG_HOME to keep the TLS certificate in: give --cert and --key');
	}

	const uid = process.getuid?.();
	const certPath = path.join(directory, 'tls-cert.pem');
	const keyPath = path.join(directory, 'tls-key.pem');
	try {
		mkdirSync(directory, {recursive: true, mode: 0o700});
		const unsafe = uid === undefined ? undefined : unsafeCacheReason(directory, uid);
		if (unsafe) {
			throw new NetdashError('UNSAFE_CONFIG_DIR', `will not keep the TLS key there: ${unsafe} (give --cert and --key)`);
		}

		try {
			return {cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath};
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
				throw error;
			}
		}

		const now = Date.now();
		const pair = makeSelfSigned({
			commonName: 'netdash',
			dnsNames: [...new Set(['localhost', os.hostname()])],
			ips: ['127.0.0.1', '::1'],
			// An hour back: a peer whose clock is slightly behind still accepts it.
			notBefore: new Date(now - 3_600_000),
			notAfter: new Date(now + VALID_DAYS * 86_400_000),
		});
		// The key first, exclusive and 0600: never readable by others, not even for a moment.
		writeFileSync(keyPath, pair.key, {mode: 0o600, flag: 'wx'});
		chmodSync(keyPath, 0o600);
		writeFileSync(certPath, pair.cert, {mode: 0o644});
		return {...pair, certPath};
	} catch (error) {
		if (error instanceof NetdashError) {
			throw error;
		}

		const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
		throw new NetdashError('CONFIG_DIR_FAILED', `cannot keep the TLS certificate in ${directory} (${code}): give --cert and --key`);
	}
}

/** How a listen asked for TLS: its own certificate and key files, or netdash's (in `configDir`). */
export type TlsListenRequest = {cert?: string; key?: string; alpn?: string[]};

/**
 * The certificate, key and ALPN list a TLS listener serves: `cert` and `key`
 * (PEM files, given together), or netdash's own certificate, made once.
 */
export function tlsServerConfig(request: TlsListenRequest, configDir: string | undefined): TlsServerConfig {
	if ((request.cert === undefined) !== (request.key === undefined)) {
		throw new NetdashError('BAD_TLS_FILE', `${request.cert === undefined ? '--key' : '--cert'} needs ${request.cert === undefined ? '--cert' : '--key'} too`);
	}

	const pair = request.cert !== undefined && request.key !== undefined ? {cert: readPem(request.cert, 'certificate'), key: readPem(request.key, 'key')} : ownCertificate(configDir);
	// Parse the certificate now, so a bad file is one line at listen and not an error per client.
	summarizePem(pair.cert);
	try {
		tlsModule().createSecureContext({cert: pair.cert, key: pair.key});
	} catch (error) {
		throw new NetdashError('BAD_TLS_FILE', `the TLS certificate and key do not work together: ${(error as Error).message}`);
	}

	return {cert: pair.cert, key: pair.key, ...(request.alpn?.length ? {alpn: request.alpn} : {})};
}
