import {spawnSync} from 'node:child_process';
import {X509Certificate} from 'node:crypto';
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import process from 'node:process';
import {pathToFileURL} from 'node:url';
import {describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {coresForEachTest} from '../helpers/cores.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {openssl, tempDir} from '../helpers/tls.js';

/*
 * The first --tls listener without --cert makes netdash's own certificate
 * (RSA 2048: ~0.5 s, once per machine). listen returns at once and the
 * listener binds when the certificate is kept; node-forge, which signs it,
 * is loaded only then, never with the core.
 */

const {cleanups} = coresForEachTest();

/** A core keeping its certificate in a fresh `netdash` directory (not made yet); closed after the test. */
function setup(): {core: Core; events: Recorder; directory: string} {
	const directory = path.join(tempDir(), 'netdash');
	const core = new Core({configDirectory: directory});
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events, directory};
}

/** A loopback port nothing listens on (as of now). */
async function freePort(): Promise<number> {
	const server = net.createServer();
	await new Promise<void>((resolve) => {
		server.listen(0, '127.0.0.1', resolve);
	});
	const {port} = server.address() as net.AddressInfo;
	await new Promise((resolve) => {
		server.close(resolve);
	});
	return port;
}

/** How a TCP connect to `port` on loopback ends: `connected`, or the error code. */
async function dialOutcome(port: number): Promise<string> {
	return new Promise((resolve) => {
		const socket = net.createConnection({host: '127.0.0.1', port});
		socket.on('connect', () => {
			socket.destroy();
			resolve('connected');
		});
		socket.on('error', (error: NodeJS.ErrnoException) => {
			resolve(error.code ?? 'UNKNOWN');
		});
	});
}

describe('the first TLS listener makes netdash\'s certificate without holding up listen', () => {
	skipEachIf(missingTool('openssl'));

	it('listen returns before the certificate exists, then the listener opens, and openssl s_client verifies the certificate kept in the directory', async () => {
		// Given a config directory with no certificate yet
		const {core, events, directory} = setup();
		const certPath = path.join(directory, 'tls-cert.pem');
		// When a TLS listener is asked for
		const id = core.listen('127.0.0.1', 0, {tls: true})!;
		// Then its id comes back while the certificate is still being made
		expect(id).toMatch(/^L\d+$/);
		expect(existsSync(path.join(directory, 'tls-key.pem'))).toBe(false);
		expect(events.of('listener-opened')).toEqual([]);

		// And the listener opens once it is kept, serving that certificate
		const opened = await events.waitFor('listener-opened', (event) => event.listener === id, 30_000);
		const kept = new X509Certificate(readFileSync(certPath));
		expect(opened.tls?.certificate.fingerprint256).toBe(kept.fingerprint256);

		// And a client that trusts only the kept certificate completes a verified handshake for localhost
		const client = openssl(['s_client', '-connect', `127.0.0.1:${opened.port}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-CAfile', certPath, '-verify_return_error']);
		const accepted = await events.waitFor('connection-opened', (event) => event.listener === id);
		expect(accepted.tls?.protocol).toBe('TLSv1.3');
		await until(() => client.output().includes('Verify return code: 0 (ok)'), () => client.output());
	});

	it('a TLS listener closed while its certificate is being made reports the close and never listens', async () => {
		// Given a TLS listener on a known port, its certificate still being made
		const {core, events, directory} = setup();
		const port = await freePort();
		const id = core.listen('127.0.0.1', port, {tls: true, ref: 'open'})!;
		expect(existsSync(path.join(directory, 'tls-key.pem'))).toBe(false);

		// When it is closed
		expect(core.close(id, {ref: 'stop'})).toBe(true);

		// Then the close is reported like any close, and nothing is left open
		const closed = await events.waitFor('listener-closed', (event) => event.listener === id);
		expect(closed).toMatchObject({accepted: 0, ref: 'stop'});
		expect(core.listenerIds()).toEqual([]);

		// And once the certificate is kept (a listener started with it afterwards opens), the closed one still does not listen
		await until(() => existsSync(path.join(directory, 'tls-cert.pem')), () => 'the certificate was never kept', 30_000);
		const next = core.listen('127.0.0.1', 0, {tls: true})!;
		await events.waitFor('listener-opened', (event) => event.listener === next);
		expect(await dialOutcome(port)).toBe('ECONNREFUSED');
		expect(events.of('listener-opened').map((event) => event.listener)).toEqual([next]);
		expect(events.of('socket-failed')).toEqual([]);
	});

	it('a certificate that cannot be kept fails the listener as a bind failure does, in one line', async () => {
		// Given a config directory holding a key but no certificate (the certificate was deleted)
		const {core, events, directory} = setup();
		const keyPath = path.join(directory, 'tls-key.pem');
		mkdirSync(directory, {mode: 0o700});
		writeFileSync(keyPath, 'a key of another time\n', {mode: 0o600});
		const port = await freePort();

		// When a TLS listener is asked for, it must make one, and cannot keep it: the key file is taken
		const id = core.listen('127.0.0.1', port, {tls: true, ref: 'open'})!;

		// Then the listener fails with socket-failed (naming the listen's ref), as a port in use does, and is gone
		const failed = await events.waitFor('socket-failed', (event) => event.target === id, 30_000);
		expect(failed).toMatchObject({code: 'CONFIG_DIR_FAILED', message: `cannot keep the TLS certificate in ${directory} (EEXIST): give --cert and --key`, ref: 'open'});
		expect(core.listenerIds()).toEqual([]);
		expect(events.of('listener-opened').filter((event) => event.listener === id)).toEqual([]);
		expect(await dialOutcome(port)).toBe('ECONNREFUSED');
		// And the key kept there is left as it was
		expect(readFileSync(keyPath, 'utf8')).toBe('a key of another time\n');
	});
});

describe('node-forge is loaded only to make a certificate', () => {
	it('importing the built core loads no node-forge; the first TLS listener, making its certificate, does', () => {
		// Given the core as built (dist/core/index.js), imported in a Node that records every module it resolves
		const core = path.resolve(import.meta.dirname, '..', '..', 'dist', 'core', 'index.js');
		expect(existsSync(core), `${core} is missing: run npm run build`).toBe(true);
		const script = `
			import {registerHooks} from 'node:module';
			const resolved = [];
			registerHooks({resolve(specifier, context, next) { const result = next(specifier, context); resolved.push(result.url); return result; }});
			const forge = () => resolved.filter((url) => url.includes('node-forge')).length;
			const {createCore} = await import(${JSON.stringify(pathToFileURL(core).href)});
			const atImport = forge();
			const core = createCore({configDirectory: ${JSON.stringify(path.join(tempDir(), 'netdash'))}});
			core.listen('127.0.0.1', 0, {tls: true});
			await new Promise((resolve) => { core.bus.subscribe((event) => { if (event.type === 'listener-opened' || event.type === 'socket-failed') resolve(); }); });
			console.log(JSON.stringify({atImport, afterListen: forge(), resolved: resolved.length}));
			await core.closeAll(100);
			core.dispose();
		`;
		// When it imports the core, then opens a TLS listener in a fresh config directory
		const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8', timeout: 30_000});
		expect(result.stderr).toBe('');
		const seen = JSON.parse(result.stdout) as {atImport: number; afterListen: number; resolved: number};
		// Then the import resolved modules but none of node-forge; making the certificate loaded it
		expect(seen.resolved).toBeGreaterThan(10);
		expect(seen.atImport).toBe(0);
		expect(seen.afterListen).toBeGreaterThan(0);
	});
});
