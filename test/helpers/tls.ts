import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {onTestFinished} from 'vitest';
import {makeSelfSigned} from '../../source/core/tcp/make-certificate.js';
import {until} from './recorder.js';

/*
 * TLS peers for tests: openssl s_client / s_server as children, and
 * certificates made on the spot (valid, expired, for another host). Each
 * helper cleans up after the test that called it.
 */

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-tls-'));
	onTestFinished(() => {
		rmSync(directory, {recursive: true, force: true});
	});
	return directory;
}

/** An openssl child whose output (stdout and stderr) is collected; killed after the test. */
export type OpensslChild = {child: ChildProcessWithoutNullStreams; output: () => string};

/** Run `openssl ARGS…`, collecting its output. */
export function openssl(args: string[]): OpensslChild {
	const child = spawn('openssl', args, {stdio: 'pipe'});
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	child.stderr.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	onTestFinished(() => {
		child.kill();
	});
	return {child, output: () => output};
}

/** Certificate and key files (PEM) for 127.0.0.1 unless told otherwise, valid now unless `isExpired`. */
export async function certificateFiles(directory: string, name: string, options: {dnsNames?: string[]; ips?: string[]; isExpired?: boolean} = {}): Promise<{cert: string; key: string}> {
	const now = Date.now();
	const pair = await makeSelfSigned({
		commonName: name,
		dnsNames: options.dnsNames ?? [],
		ips: options.ips ?? ['127.0.0.1'],
		notBefore: new Date(now - (options.isExpired ? 30 : 1) * 86_400_000),
		notAfter: new Date(now + (options.isExpired ? -86_400_000 : 86_400_000)),
	});
	const cert = path.join(directory, `${name}-cert.pem`);
	const key = path.join(directory, `${name}-key.pem`);
	writeFileSync(cert, pair.cert);
	writeFileSync(key, pair.key, {mode: 0o600});
	return {cert, key};
}

/** `openssl s_server` for one client on a free loopback port with these files; resolves with the port once it accepts. */
export async function sServer(files: {cert: string; key: string}, extra: string[] = []): Promise<{port: number; server: OpensslChild}> {
	const server = openssl(['s_server', '-accept', '127.0.0.1:0', '-cert', files.cert, '-key', files.key, '-naccept', '1', ...extra]);
	let port = 0;
	await until(
		() => {
			const match = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(server.output());
			port = match ? Number(match[1]) : 0;
			return port > 0;
		},
		() => `s_server did not start: ${server.output()}`,
	);
	return {port, server};
}
