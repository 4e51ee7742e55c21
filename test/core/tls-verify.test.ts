import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {coresForEachTest} from '../helpers/cores.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {certificateFiles, openssl, sServer, tempDir} from '../helpers/tls.js';

/*
 * A TLS failure explains itself in one line, from both ends: the four
 * verification failures of a dial (self-signed, expired, wrong host, unknown
 * CA) and, on a listener, a client that rejects our certificate for the same
 * reasons or does not speak TLS at all. Certificates are made here, expired
 * and for other hosts included (node-forge through makeSelfSigned).
 */

const {cleanups} = coresForEachTest();

function setup(): {core: Core; events: Recorder} {
	const core = new Core({configDirectory: tempDir()});
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

/** netdash --json dialing `host:port` with TLS, trusting `ca` as Node does with NODE_EXTRA_CA_CERTS. */
function dial(host: string, port: number, ca: string): JsonChild {
	const netdash = spawnJson(['--json', '--connect', `${host}:${port}`, '--tls'], {env: {NODE_EXTRA_CA_CERTS: ca}});
	cleanups.push(() => {
		netdash.child.kill();
	});
	return netdash;
}

describe('a TLS dial that fails verification says why in one line', () => {
	skipEachIf(missingTool('openssl'));

	it('a certificate for another host names the hosts it is for, dialed by name', async () => {
		// Given s_server with a certificate netdash trusts, made for other.example and 10.9.9.9 only
		const files = await certificateFiles(tempDir(), 'elsewhere', {dnsNames: ['other.example'], ips: ['10.9.9.9']});
		const {port} = await sServer(files);
		// When netdash dials it as localhost
		const netdash = dial('localhost', port, files.cert);
		// Then it refuses, naming both sides of the mismatch
		const failed = await netdash.waitFor((event) => event.type === 'socket-failed', 'socket-failed');
		expect(failed['code']).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
		expect(failed['message']).toBe(`TLS: certificate is for DNS:other.example, IP:10.9.9.9, not localhost:${port}`);
	});

	it('an expired certificate is refused as expired, even when its CA is unknown too', async () => {
		// Given an expired self-signed certificate, and netdash trusting some other CA
		const ca = await certificateFiles(tempDir(), 'nobody');
		const {port} = await sServer(await certificateFiles(tempDir(), 'old', {isExpired: true}));
		const netdash = dial('127.0.0.1', port, ca.cert);
		// Then OpenSSL names the dates first, and netdash says so in one line
		const failed = await netdash.waitFor((event) => event.type === 'socket-failed', 'socket-failed');
		expect(failed['code']).toBe('CERT_HAS_EXPIRED');
		expect(failed['message']).toBe(`TLS: certificate of 127.0.0.1:${port} has expired`);
	});

	it('a dial to a server that does not speak TLS says so', async () => {
		// Given a plain TCP server that greets in text, as SSH or SMTP do
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
			socket.write('SSH-2.0-OpenSSH_9.6 not tls at all\r\n');
		});
		await new Promise<void>((resolve) => {
			server.listen(0, '127.0.0.1', resolve);
		});
		cleanups.push(() => {
			server.close();
		});
		const port = (server.address() as net.AddressInfo).port;
		const {core, events} = setup();
		const id = core.connect('127.0.0.1', port, {tls: true})!;
		const failed = await events.waitFor('socket-failed', (event) => event.target === id);
		expect(failed.message).toBe(`TLS handshake with 127.0.0.1:${port} failed: the peer does not speak TLS (plain text?)`);
	});
});

describe('a TLS dial whose peer never answers the handshake', () => {
	it('fails at the connect timeout saying the TLS handshake hung, not the TCP connect', async () => {
		// Given a peer that accepts TCP and never answers the ClientHello
		const server = net.createServer((socket) => {
			socket.on('error', () => {});
		});
		await new Promise<void>((resolve) => {
			server.listen(0, '127.0.0.1', resolve);
		});
		cleanups.push(() => {
			server.close();
		});
		const port = (server.address() as net.AddressInfo).port;
		// When netdash dials it with TLS and a short connect timeout
		const {core, events} = setup();
		const id = core.connect('127.0.0.1', port, {tls: true, connectTimeoutMs: 300})!;
		// Then it fails naming the handshake
		const failed = await events.waitFor('socket-failed', (event) => event.target === id);
		expect(failed).toMatchObject({code: 'ERR_TLS_HANDSHAKE_TIMEOUT', message: `TLS handshake with 127.0.0.1:${port} timed out after 0.3 s — it took the TCP connection, but did not answer in TLS`});
		expect((await events.waitFor('connection-closed', (event) => event.connection === id)).reason).toBe('failed');
	});
});

describe('a client that rejects a TLS listener\'s certificate is reported on the listener in one line', () => {
	skipEachIf(missingTool('openssl'));

	/** A TLS listener serving `files`; resolves with its id and port. */
	async function serve(core: Core, events: Recorder, files: {cert: string; key: string}): Promise<{id: string; port: number}> {
		const id = core.listen('127.0.0.1', 0, {tls: true, ...files})!;
		const {port} = await events.waitFor('listener-opened', (event) => event.listener === id);
		return {id, port};
	}

	it('self-signed (unknown CA), another host name, expired, and plain HTTP each get their line', async () => {
		const directory = tempDir();
		const good = await certificateFiles(directory, 'good', {dnsNames: ['localhost']});
		const old = await certificateFiles(directory, 'old', {dnsNames: ['localhost'], isExpired: true});
		const {core, events} = setup();
		const current = await serve(core, events, good);
		const expired = await serve(core, events, old);
		const failures = async (count: number) => {
			await events.waitFor('tls-handshake-failed', () => events.of('tls-handshake-failed').length >= count);
			return events.of('tls-handshake-failed').map((event) => event.message.replace(/127\.0\.0\.1:\d+/, 'CLIENT'));
		};

		// A client that verifies, without our certificate among its CAs
		openssl(['s_client', '-connect', `127.0.0.1:${current.port}`, '-verify_return_error']);
		expect((await failures(1))[0]).toBe('TLS handshake with CLIENT failed: the peer does not trust our certificate: self-signed, or signed by a CA it does not know');
		// A client that trusts it, but dialed another name
		openssl(['s_client', '-connect', `127.0.0.1:${current.port}`, '-CAfile', good.cert, '-verify_hostname', 'other.example', '-verify_return_error']);
		expect((await failures(2))[1]).toBe('TLS handshake with CLIENT failed: the peer rejected our certificate (often: made for another host name)');
		// A client that trusts it, but it has expired
		openssl(['s_client', '-connect', `127.0.0.1:${expired.port}`, '-CAfile', old.cert, '-verify_return_error']);
		expect((await failures(3))[2]).toBe('TLS handshake with CLIENT failed: the peer says our certificate has expired');
		// A browser-less curl user: plain HTTP to the TLS port
		const plain = net.createConnection({host: '127.0.0.1', port: current.port});
		plain.on('error', () => {});
		cleanups.push(() => {
			plain.destroy();
		});
		plain.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
		expect((await failures(4))[3]).toBe('TLS handshake with CLIENT failed: the peer spoke plain HTTP, not TLS');
		expect(events.of('tls-handshake-failed').map((event) => event.listener)).toEqual([current.id, current.id, expired.id, current.id]);
	});

	it('a client that never sends its handshake is dropped at the connect timeout, in one line', async () => {
		// Given a TLS listener of a core whose connect timeout is 0.3 s
		const core = new Core({configDirectory: tempDir(), connectTimeoutMs: 300});
		const events = record(core.bus);
		cleanups.push(async () => {
			events.stop();
			await core.closeAll(200);
			core.dispose();
		});
		const {id, port} = await serve(core, events, await certificateFiles(tempDir(), 'quiet', {dnsNames: ['localhost']}));
		// When a client connects and says nothing
		const silent = net.createConnection({host: '127.0.0.1', port});
		const seen = {isClosed: false};
		silent.on('error', () => {});
		silent.on('close', () => {
			seen.isClosed = true;
		});
		cleanups.push(() => {
			silent.destroy();
		});
		// Then the listener drops it and says why
		const failed = await events.waitFor('tls-handshake-failed', (event) => event.listener === id, 5000);
		expect(failed.code).toBe('ERR_TLS_HANDSHAKE_TIMEOUT');
		expect(failed.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: the peer did not finish the handshake in time$/);
		await until(() => seen.isClosed, () => 'the silent client is still connected');
	});
});
