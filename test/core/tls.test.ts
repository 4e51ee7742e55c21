import {execFileSync} from 'node:child_process';
import {chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore, type Core} from '../../source/core/index.js';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {explainTlsError} from '../../source/core/tcp/tls.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {certificateFiles, openssl, sServer, tempDir} from '../helpers/tls.js';

const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(configDirectory: string): {core: Core; events: Recorder} {
	const core = createCore({configDirectory});
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

describe('TLS', () => {
	skipEachIf(missingTool('openssl'));

	it('a --tls listener serves openssl s_client with its own certificate, kept 0600 in a 0700 config directory, and logs plaintext', async () => {
		// Given a TLS listener with netdash's own certificate, in a fresh config directory
		const home = tempDir();
		const configDirectory = path.join(home, 'netdash');
		const {core, events} = setup(configDirectory);
		const store = createStore(core.bus, {publishIntervalMs: 20, sampleIntervalMs: 100});
		cleanups.push(() => {
			store.dispose();
		});
		const id = core.listen('127.0.0.1', 0, {tls: true, alpn: ['echo/1']})!;
		const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
		expect(opened.tls?.certificate.subject).toBe('CN=netdash');
		expect(statSync(configDirectory).mode & 0o777).toBe(0o700);
		expect(statSync(path.join(configDirectory, 'tls-key.pem')).mode & 0o777).toBe(0o600);

		// When openssl s_client connects with SNI and ALPN and sends a line
		const client = openssl(['s_client', '-connect', `127.0.0.1:${opened.port}`, '-servername', 'localhost', '-alpn', 'echo/1', '-quiet']);
		const connected = await events.waitFor('connection-opened', (event) => event.listener === id);
		client.child.stdin.write('hello over tls\n');

		// Then the session is described and the bytes arrive as plaintext
		expect(connected.tls).toMatchObject({protocol: 'TLSv1.3', alpn: 'echo/1', certificate: {subject: 'CN=netdash', issuer: 'CN=netdash'}});
		expect(connected.tls?.cipher).toMatch(/^TLS_/);
		expect(connected.tls?.certificate?.fingerprint256).toBe(opened.tls?.certificate.fingerprint256);
		const received = await events.waitFor('data-received', (event) => event.connection === connected.connection);
		expect(received.data.toString()).toBe('hello over tls\n');

		// And what netdash sends reaches the client decrypted
		core.send(connected.connection, Buffer.from('hi from netdash\n'));
		await until(() => client.output().includes('hi from netdash'), () => client.output());

		// And the row says TLS beside its framing (raw, as the listener's), and the Log holds what the client
		// sent, as on a plain connection, after the notes naming version, cipher, ALPN and certificate
		await until(() => store.getSnapshot().connections.some((row) => row.id === connected.connection && row.framing === 'raw' && row.tls?.protocol === 'TLSv1.3'), () => JSON.stringify(store.getSnapshot().connections));
		expect(store.getSnapshot().listeners.find((row) => row.id === id)).toMatchObject({framing: 'raw', isTls: true});
		await until(() => (store.getSnapshot().logs.get(connected.connection)?.slice() ?? []).some((entry) => entry.direction === 'in' && entry.kind === 'chunk' && entry.data?.toString() === 'hello over tls\n'), () => JSON.stringify(store.getSnapshot().logs.get(connected.connection)?.slice()));
		const notes = () => (store.getSnapshot().logs.get(connected.connection)?.slice() ?? []).map((entry) => entry.text ?? '').join('\n');
		await until(() => /TLS TLSv1\.3, cipher TLS_\w+, ALPN echo\/1\nour certificate: CN=netdash, issued by CN=netdash, valid \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ to \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\nour certificate SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m.test(notes()), notes);

		// And a second run keeps the same certificate
		const again = setup(configDirectory);
		const second = again.core.listen('127.0.0.1', 0, {tls: true})!;
		const reopened = await again.events.waitFor('listener-opened', (event) => event.listener === second);
		expect(reopened.tls?.certificate.fingerprint256).toBe(opened.tls?.certificate.fingerprint256);
	});

	it('a TLS dial to openssl s_server with --insecure is open, marked unverified, and says the certificate is self-signed', async () => {
		const directory = tempDir();
		const {port, server} = await sServer(await certificateFiles(directory, 'server'), ['-alpn', 'b,a']);
		const {core, events} = setup(tempDir());
		const id = core.connect('127.0.0.1', port, {tls: true, insecure: true, alpn: ['a', 'b']})!;
		const opened = await events.waitFor('connection-opened', (event) => event.connection === id);
		expect(opened.tls).toMatchObject({isInsecure: true, alpn: 'b', certificate: {subject: 'CN=server'}});
		expect(opened.tls?.verifyError).toBe(`certificate of 127.0.0.1:${port} is self-signed and not trusted`);
		core.send(id, Buffer.from('plain text in\n'));
		await until(() => server.output().includes('plain text in'), () => server.output());
	});

	it('a TLS dial by name sends the name as SNI, and openssl s_server answers with its certificate for that name', async () => {
		// Given s_server with a default certificate and another for the name localhost
		const directory = tempDir();
		const named = await certificateFiles(directory, 'sni-localhost', {dnsNames: ['localhost']});
		const {port} = await sServer(await certificateFiles(directory, 'default'), ['-servername', 'localhost', '-cert2', named.cert, '-key2', named.key]);
		// When netdash dials it as localhost
		const {core, events} = setup(tempDir());
		const id = core.connect('localhost', port, {tls: true, insecure: true})!;
		// Then s_server switched to the certificate for localhost, and netdash shows that one
		const opened = await events.waitFor('connection-opened', (event) => event.connection === id);
		expect(opened.tls?.certificate?.subject).toBe('CN=sni-localhost');
	});

	it('a verified TLS dial to a self-signed openssl s_server fails with one line saying so', async () => {
		const {port} = await sServer(await certificateFiles(tempDir(), 'server'));
		const {core, events} = setup(tempDir());
		const id = core.connect('127.0.0.1', port, {tls: true})!;
		const failed = await events.waitFor('socket-failed', (event) => event.target === id);
		expect(failed.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
		expect(failed.message).toBe(`TLS: certificate of 127.0.0.1:${port} is self-signed and not trusted (--insecure to connect anyway)`);
		await events.waitFor('connection-closed', (event) => event.connection === id && event.reason === 'failed');
	});

	it('a plain-text client of a TLS listener is reported on the listener, and netdash keeps serving', async () => {
		const {core, events} = setup(tempDir());
		const directory = tempDir();
		const files = await certificateFiles(directory, 'mine', {dnsNames: ['localhost']});
		const id = core.listen('127.0.0.1', 0, {tls: true, cert: files.cert, key: files.key})!;
		const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
		expect(opened.tls?.certificate.subject).toBe('CN=mine');
		const {createConnection} = await import('node:net');
		const plain = createConnection({host: '127.0.0.1', port: opened.port});
		plain.on('error', () => {});
		cleanups.push(() => {
			plain.destroy();
		});
		plain.write('GET / HTTP/1.0\r\n\r\n');
		const failed = await events.waitFor('tls-handshake-failed', (event) => event.listener === id);
		expect(failed.message).toMatch(/^TLS handshake with 127\.0\.0\.1:\d+ failed: the peer spoke plain HTTP, not TLS$/);
		const client = openssl(['s_client', '-connect', `127.0.0.1:${opened.port}`, '-quiet']);
		await events.waitFor('connection-opened', (event) => event.listener === id);
		expect(client.child.exitCode).toBeNull();
	});

	it('a reset of an accepted TLS connection reaches the dialing peer as a reset', async () => {
		// Given netdash dialing its own TLS listener
		const {core, events} = setup(tempDir());
		const listener = core.listen('127.0.0.1', 0, {tls: true})!;
		const {port} = await events.waitFor('listener-opened', (event) => event.listener === listener);
		const dialed = core.connect('127.0.0.1', port, {tls: true, insecure: true})!;
		await events.waitFor('connection-opened', (event) => event.connection === dialed);
		const accepted = await events.waitFor('connection-opened', (event) => event.listener === listener);
		// When the accepted end resets (a TLS socket cannot: the TCP socket under it does)
		core.reset(accepted.connection);
		// Then the dialing end saw a reset (ECONNRESET), not a close
		const closed = await events.waitFor('connection-closed', (event) => event.connection === dialed);
		expect(closed).toMatchObject({reason: 'reset', code: 'ECONNRESET'});
		expect((await events.waitFor('connection-closed', (event) => event.connection === accepted.connection)).reason).toBe('reset');
	});

	it('a verified TLS dial to a server whose CA is unknown fails with one line saying so', async () => {
		// Given openssl s_server with a certificate signed by a CA netdash does not trust
		const directory = tempDir();
		const ca = await certificateFiles(directory, 'test-ca');
		const file = (name: string) => path.join(directory, name);
		writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
		execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('leaf-key.pem'), '-out', file('leaf.csr'), '-subj', '/CN=leaf'], {stdio: 'pipe'});
		execFileSync('openssl', ['x509', '-req', '-in', file('leaf.csr'), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-extfile', file('ext.cnf'), '-out', file('leaf.pem')], {stdio: 'pipe'});
		const {port} = await sServer({cert: file('leaf.pem'), key: file('leaf-key.pem')});
		// When netdash dials it with verification on
		const {core, events} = setup(tempDir());
		const id = core.connect('127.0.0.1', port, {tls: true})!;
		// Then it fails, naming the cause
		const failed = await events.waitFor('socket-failed', (event) => event.target === id);
		expect(failed.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
		expect(failed.message).toBe(`TLS: certificate of 127.0.0.1:${port} is signed by an unknown CA`);
	});

	it('an --insecure session is a warning notice on the dashboard and marks the row tls!', async () => {
		const {port} = await sServer(await certificateFiles(tempDir(), 'server'));
		const {core, events} = setup(tempDir());
		const store = createStore(core.bus, {publishIntervalMs: 20, sampleIntervalMs: 100});
		cleanups.push(() => {
			store.dispose();
		});
		const id = core.connect('127.0.0.1', port, {tls: true, insecure: true})!;
		await events.waitFor('connection-opened', (event) => event.connection === id);
		await until(() => store.getSnapshot().notices.some((notice) => notice.code === 'TLS_INSECURE'), () => JSON.stringify(store.getSnapshot().notices));
		const notice = store.getSnapshot().notices.find((each) => each.code === 'TLS_INSECURE')!;
		expect(notice.message).toBe(`${id} is not verified (--insecure): certificate of 127.0.0.1:${port} is self-signed and not trusted`);
		expect(store.getSnapshot().connections.find((row) => row.id === id)).toMatchObject({framing: 'raw', tls: {isInsecure: true}});
	});

	it('refuses to keep its key in a config directory others can write, and says so in one line', async () => {
		const home = tempDir();
		const configDirectory = path.join(home, 'netdash');
		mkdirSync(configDirectory, {mode: 0o777});
		chmodSync(configDirectory, 0o777);
		const {core, events} = setup(configDirectory);
		core.listen('127.0.0.1', 0, {tls: true, ref: 'open'});
		const failed = await events.waitFor('command-failed', (event) => event.ref === 'open');
		expect(failed.code).toBe('UNSAFE_CONFIG_DIR');
		expect(failed.message).toBe(`will not keep the TLS key there: ${configDirectory} is writable by others (mode 777) (give --cert and --key)`);
		expect(existsSync(path.join(configDirectory, 'tls-key.pem'))).toBe(false);
	});

	it('JSON listen and connect take tls with cert, key, insecure and alpn, and refuse them without tls', () => {
		expect(parseJsonCommand('{"cmd":"listen","port":0,"tls":true,"cert":"c.pem","key":"k.pem","alpn":["h2"]}')).toEqual({cmd: 'listen', port: 0, tls: {cert: 'c.pem', key: 'k.pem', alpn: ['h2']}});
		expect(parseJsonCommand('{"cmd":"connect","host":"127.0.0.1","port":1,"tls":true,"insecure":true}')).toEqual({cmd: 'connect', host: '127.0.0.1', port: 1, tls: {insecure: true}});
		expect(() => parseJsonCommand('{"cmd":"connect","host":"127.0.0.1","port":1,"insecure":true}')).toThrow('insecure and alpn need "tls": true');
		expect(() => parseJsonCommand('{"cmd":"listen","port":0,"cert":"c.pem"}')).toThrow('cert, key and alpn need "tls": true');
		expect(() => parseJsonCommand('{"cmd":"listen","port":0,"tls":"yes"}')).toThrow(/tls/);
	});

	it('verification failures name their cause: expired, other host, unknown CA', () => {
		expect(explainTlsError('CERT_HAS_EXPIRED', 'h:1')).toBe('certificate of h:1 has expired');
		expect(explainTlsError('ERR_TLS_CERT_ALTNAME_INVALID', 'h:1')).toBe('certificate is for another host, not h:1');
		expect(explainTlsError('ERR_TLS_CERT_ALTNAME_INVALID', 'h:1', {names: 'DNS:a.example, IP Address:10.0.0.1'})).toBe('certificate is for DNS:a.example, IP:10.0.0.1, not h:1');
		expect(explainTlsError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'h:1')).toBe('certificate of h:1 is signed by an unknown CA');
		expect(explainTlsError('SELF_SIGNED_CERT_IN_CHAIN', 'h:1')).toMatch(/self-signed/);
		expect(explainTlsError('ECONNRESET', 'h:1')).toBeUndefined();
	});
});

describe('the netdash binary with --tls', () => {
	skipEachIf(missingTool('openssl'));

	/** netdash --json dialing with TLS, trusting `ca` as Node does with NODE_EXTRA_CA_CERTS. */
	function dial(port: number, ca: string, extra: string[] = []): JsonChild {
		const netdash = spawnJson(['--json', '--connect', `127.0.0.1:${port}`, '--tls', ...extra], {env: {NODE_EXTRA_CA_CERTS: ca}});
		cleanups.push(() => {
			netdash.child.kill();
		});
		return netdash;
	}

	it('dials openssl s_server, verifies a trusted certificate for 127.0.0.1 and passes plaintext both ways', async () => {
		const files = await certificateFiles(tempDir(), 'good');
		const {port, server} = await sServer(files);
		const logPath = path.join(tempDir(), 'session.jsonl');
		const netdash = dial(port, files.cert, ['--log', logPath]);
		const opened = await netdash.waitFor((event) => event.type === 'connection-opened', 'connection-opened');
		expect(opened['tls']).toMatchObject({protocol: 'TLSv1.3', certificate: {subject: 'CN=good'}});
		expect(opened['tls']['isInsecure']).toBeUndefined();
		netdash.send({cmd: 'send', connection: opened['connection'], text: 'ping\n'});
		await until(() => server.output().includes('ping'), () => server.output());
		server.child.stdin.write('pong\n');
		const received = await netdash.waitFor((event) => event.type === 'data-received', 'data-received');
		expect(Buffer.from(received['base64'], 'base64').toString()).toBe('pong\n');
		// And the session file holds the plaintext both ways, not TLS records
		const plaintext = () => readFileSync(logPath, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, any>).filter((record) => record['type'] === 'data-received' || record['type'] === 'data-sent').map((record) => Buffer.from(record['base64'], 'base64').toString());
		await until(() => plaintext().includes('pong\n') && plaintext().includes('ping\n'), () => JSON.stringify(plaintext()));
	});

	it('refuses an expired certificate in one line', async () => {
		const files = await certificateFiles(tempDir(), 'old', {isExpired: true});
		const {port} = await sServer(files);
		const netdash = dial(port, files.cert);
		const failed = await netdash.waitFor((event) => event.type === 'socket-failed', 'socket-failed');
		expect(failed['code']).toBe('CERT_HAS_EXPIRED');
		expect(failed['message']).toBe(`TLS: certificate of 127.0.0.1:${port} has expired`);
	});

	it('refuses a certificate made for another host in one line', async () => {
		const files = await certificateFiles(tempDir(), 'elsewhere', {dnsNames: ['other.example'], ips: []});
		const {port} = await sServer(files);
		const netdash = dial(port, files.cert);
		const failed = await netdash.waitFor((event) => event.type === 'socket-failed', 'socket-failed');
		expect(failed['code']).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
		expect(failed['message']).toBe(`TLS: certificate is for DNS:other.example, not 127.0.0.1:${port}`);
	});

	it('serves -l --tls with --cert/--key to openssl s_client, which verifies it', async () => {
		const files = await certificateFiles(tempDir(), 'served', {dnsNames: ['localhost']});
		const netdash = spawnJson(['--json', '--listen', '0', '--tls', '--cert', files.cert, '--key', files.key], {env: {XDG_CONFIG_HOME: tempDir()}});
		cleanups.push(() => {
			netdash.child.kill();
		});
		const listening = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
		const client = openssl(['s_client', '-connect', `127.0.0.1:${listening['port']}`, '-servername', 'localhost', '-verify_hostname', 'localhost', '-CAfile', files.cert, '-verify_return_error']);
		const opened = await netdash.waitFor((event) => event.type === 'connection-opened', 'connection-opened');
		expect(opened['tls']['certificate']['subject']).toBe('CN=served');
		await until(() => client.output().includes('Verify return code: 0 (ok)'), () => client.output());
	});
});

