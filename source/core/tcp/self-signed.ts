import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {unsafeCacheReason} from '../../compile-cache.js';
import {NetdashError} from '../errors.js';
import type {KeyPair} from './make-certificate.js';
import {readPem, summarizePem, tlsModule, type TlsServerConfig} from './tls.js';

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

/** netdash's own certificate as `tlsServerConfig` serves it, and where it is kept. */
type OwnCertificate = KeyPair & {certPath: string};

/** Any failure to keep the certificate, as one line (a NetdashError already is one). */
function keepFailed(directory: string, error: unknown): NetdashError {
	if (error instanceof NetdashError) {
		return error;
	}

	const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
	return new NetdashError('CONFIG_DIR_FAILED', `cannot keep the TLS certificate in ${directory} (${code}): give --cert and --key`);
}

/** The certificate and key as kept in `directory`; undefined when either is not there yet. */
function readKept(directory: string): OwnCertificate | undefined {
	const certPath = path.join(directory, 'tls-cert.pem');
	try {
		return {cert: readFileSync(certPath, 'utf8'), key: readFileSync(path.join(directory, 'tls-key.pem'), 'utf8'), certPath};
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			throw error;
		}

		return undefined;
	}
}

/** Certificates being made, by directory: a listener started meanwhile waits for the same one. */
const making = new Map<string, Promise<OwnCertificate>>();

/**
 * Makes netdash's certificate and keeps it in `directory` (checked already).
 * node-forge is loaded here, on this first use only: not on every start.
 */
async function makeAndKeep(directory: string): Promise<OwnCertificate> {
	const certPath = path.join(directory, 'tls-cert.pem');
	const keyPath = path.join(directory, 'tls-key.pem');
	try {
		const {makeSelfSigned} = await import('./make-certificate.js');
		const now = Date.now();
		const pair = await makeSelfSigned({
			commonName: 'netdash',
			dnsNames: [...new Set(['localhost', os.hostname()])],
			ips: ['127.0.0.1', '::1'],
			// An hour back: a peer whose clock is slightly behind still accepts it.
			notBefore: new Date(now - 3_600_000),
			notAfter: new Date(now + VALID_DAYS * 86_400_000),
		});
		// The key first, exclusive and 0600: never readable by others, not even for a moment.
		try {
			writeFileSync(keyPath, pair.key, {mode: 0o600, flag: 'wx'});
		} catch (error) {
			// Another netdash made one while this one was being made: serve that one.
			const kept = (error as NodeJS.ErrnoException).code === 'EEXIST' ? readKept(directory) : undefined;
			if (kept === undefined) {
				throw error;
			}

			return kept;
		}

		chmodSync(keyPath, 0o600);
		writeFileSync(certPath, pair.cert, {mode: 0o644});
		return {...pair, certPath};
	} catch (error) {
		throw keepFailed(directory, error);
	}
}

/**
 * netdash's own certificate for `--tls` listeners without `--cert`: made
 * the first time (valid for localhost, 127.0.0.1, ::1 and this host's name)
 * and kept as `tls-cert.pem` and `tls-key.pem` (0600) in `directory`,
 * created 0700. A directory owned by someone else or writable by others is
 * refused: whoever can write there could swap the key we serve. The
 * directory is checked and a kept certificate read synchronously (a refusal
 * throws); only making one (RSA key generation, ~0.5 s) is a promise.
 */
export function ownCertificate(directory: string | undefined): OwnCertificate | Promise<OwnCertificate> {
	if (directory === undefined) {
		throw new NetdashError('NO_CONFIG_DIR', 'no home or XDG_CONFIG_HOME to keep the TLS certificate in: give --cert and --key');
	}

	const uid = process.getuid?.();
	try {
		mkdirSync(directory, {recursive: true, mode: 0o700});
		const unsafe = uid === undefined ? undefined : unsafeCacheReason(directory, uid);
		if (unsafe) {
			throw new NetdashError('UNSAFE_CONFIG_DIR', `will not keep the TLS key there: ${unsafe} (give --cert and --key)`);
		}

		const kept = readKept(directory);
		if (kept) {
			return kept;
		}
	} catch (error) {
		throw keepFailed(directory, error);
	}

	let pending = making.get(directory);
	if (pending === undefined) {
		pending = makeAndKeep(directory).finally(() => making.delete(directory));
		making.set(directory, pending);
	}

	return pending;
}

/** How a listen asked for TLS: its own certificate and key files, or netdash's (in `configDir`). */
export type TlsListenRequest = {cert?: string; key?: string; alpn?: string[]};

/** What a listener serves with `pair`; a certificate that cannot be parsed or does not fit the key is BAD_TLS_FILE. */
function serverConfig(pair: KeyPair, alpn: string[] | undefined): TlsServerConfig {
	// Parse the certificate now, so a bad file is one line at listen and not an error per client.
	summarizePem(pair.cert);
	try {
		tlsModule().createSecureContext({cert: pair.cert, key: pair.key});
	} catch (error) {
		throw new NetdashError('BAD_TLS_FILE', `the TLS certificate and key do not work together: ${(error as Error).message}`);
	}

	return {cert: pair.cert, key: pair.key, ...(alpn?.length ? {alpn} : {})};
}

/**
 * The certificate, key and ALPN list a TLS listener serves: `cert` and `key`
 * (PEM files, given together), or netdash's own certificate. Bad files and
 * directories throw here; a promise only while netdash's certificate is
 * being made, the first time (it rejects with the NetdashError that says why
 * not).
 */
export function tlsServerConfig(request: TlsListenRequest, configDir: string | undefined): TlsServerConfig | Promise<TlsServerConfig> {
	if ((request.cert === undefined) !== (request.key === undefined)) {
		throw new NetdashError('BAD_TLS_FILE', `${request.cert === undefined ? '--key' : '--cert'} needs ${request.cert === undefined ? '--cert' : '--key'} too`);
	}

	const pair = request.cert !== undefined && request.key !== undefined ? {cert: readPem(request.cert, 'certificate'), key: readPem(request.key, 'key')} : ownCertificate(configDir);
	return pair instanceof Promise ? pair.then((made) => serverConfig(made, request.alpn)) : serverConfig(pair, request.alpn);
}
