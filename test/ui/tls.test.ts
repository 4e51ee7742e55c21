import {execFileSync} from 'node:child_process';
import {writeFileSync} from 'node:fs';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {dashboardsForEachTest, resize, type Dashboard} from '../helpers/ink.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {until} from '../helpers/recorder.js';
import {certificateFiles, openssl, sServer, tempDir} from '../helpers/tls.js';

const {open} = dashboardsForEachTest();

/** The line of the Connections pane that shows connection `id`. */
function rowOf(frame: string, id: string): string {
	return frame.split('\n').find((line) => new RegExp(`^┃.. ${id} `).test(line)) ?? '';
}

/**
 * The notes of the Log pane as whole texts: a note wider than the pane
 * wraps onto lines that start blank under the time, joined back here.
 */
function logNotes(frame: string): string[] {
	const lines = frame.split('\n');
	const top = lines.findIndex((line) => line.includes(' 3 Log '));
	const notes: string[] = [];
	for (const line of lines.slice(top + 1)) {
		if (!line.startsWith('│')) {
			break;
		}

		const inner = line.slice(1, -1);
		const match = /^. \d\d:\d\d:\d\d\.\d{3} . \S+\s+/.exec(inner);
		if (match) {
			notes.push(inner.slice(match[0].length).trimEnd());
		} else if (inner.trim() !== '' && notes.length > 0) {
			// A continuation: the same indent as the text above.
			notes[notes.length - 1] += inner.slice(33).trimEnd();
		}
	}

	return notes;
}

/** What openssl itself says of a certificate file: subject and issuer as Node prints them, validity, SHA-256. */
function described(certificate: string): {subject: string; issuer: string; from: string; to: string; sha256: string} {
	const text = execFileSync('openssl', ['x509', '-noout', '-subject', '-issuer', '-startdate', '-enddate', '-fingerprint', '-sha256', '-nameopt', 'RFC2253', '-in', certificate], {encoding: 'utf8'});
	const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'im').exec(text)![1]!.trim();
	const date = (value: string) => `${new Date(value).toISOString().slice(0, 19).replace('T', ' ')}Z`;
	// RFC 2253 lists the names last to first; the certificate, Node and the Log first to last.
	const name = (value: string) => value.split(',').reverse().join(', ');
	return {subject: name(field('subject')), issuer: name(field('issuer')), from: date(field('notBefore')), to: date(field('notAfter')), sha256: field('sha256 Fingerprint')};
}

/** A certificate for 127.0.0.1 named `O=Netdash Test, CN=bench.example`, signed by a test CA (`CN=Test CA`), made with openssl. */
async function caSigned(directory: string): Promise<{cert: string; key: string}> {
	const ca = await certificateFiles(directory, 'Test CA');
	const file = (name: string) => path.join(directory, name);
	writeFileSync(file('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
	execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('leaf-key.pem'), '-out', file('leaf.csr'), '-subj', '/O=Netdash Test/CN=bench.example'], {stdio: 'pipe'});
	execFileSync('openssl', ['x509', '-req', '-in', file('leaf.csr'), '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', file('ext.cnf'), '-out', file('leaf.pem')], {stdio: 'pipe'});
	return {cert: file('leaf.pem'), key: file('leaf-key.pem')};
}

/** Select connection `id` (its Log opens) once its row is on screen. */
async function select(dashboard: Dashboard, id: string): Promise<string> {
	await dashboard.see((frame) => rowOf(frame, id) !== '');
	await dashboard.type('2', '┏━ 2 Connections');
	return dashboard.type('\r', `3 Log ${id}`);
}

describe('a TLS session on the dashboard', () => {
	skipEachIf(missingTool('openssl'));

	it('a TLS dial shows its version, the unverified mark and ALPN on the row, and the Log shows the cipher and the peer certificate\'s subject, issuer, validity and SHA-256 fingerprint', async () => {
		// Given openssl s_server with a CA-signed certificate, speaking h2, with one cipher suite
		const files = await caSigned(tempDir());
		const {port} = await sServer(files, ['-alpn', 'h2', '-ciphersuites', 'TLS_CHACHA20_POLY1305_SHA256']);
		const expected = described(files.cert);
		expect(expected.subject).toBe('O=Netdash Test, CN=bench.example');
		// When the dashboard dials it with TLS, unverified, offering h2 (at 200 columns, where the framing cell shows)
		const dashboard = await open();
		resize(dashboard, 200, 50);
		dashboard.core.connect('127.0.0.1', port, {tls: true, insecure: true, alpn: ['h2', 'http/1.1']});
		await select(dashboard, 'C1');
		// Then the row says TLS 1.3, unverified (!), h2, and its framing cell raw·tls!
		const frame = await dashboard.see((shown) => logNotes(shown).some((note) => note.includes('SHA-256')));
		expect(rowOf(frame, 'C1')).toMatch(/● open · TLSv1\.3! h2 /);
		expect(rowOf(frame, 'C1')).toMatch(/ raw·tls! +┃$/);
		// And the Log says the rest, as openssl reads the certificate
		const notes = logNotes(frame);
		expect(notes).toContain('TLS TLSv1.3, cipher TLS_CHACHA20_POLY1305_SHA256, ALPN h2');
		expect(notes).toContain(`peer certificate: ${expected.subject}, issued by ${expected.issuer}, valid ${expected.from} to ${expected.to}`);
		expect(notes).toContain(`peer certificate SHA-256 ${expected.sha256}`);
		expect(notes).toContain(`NOT VERIFIED (--insecure): certificate of 127.0.0.1:${port} is signed by an unknown CA`);
		expect(expected.issuer).toBe('CN=Test CA');
	});

	it('a connection a TLS listener accepted shows its version on the row, and its Log and the listener\'s show the certificate served', async () => {
		// Given a TLS listener serving a CA-signed certificate
		const files = await caSigned(tempDir());
		const expected = described(files.cert);
		const dashboard = await open();
		dashboard.core.listen('127.0.0.1', 0, {tls: true, cert: files.cert, key: files.key});
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1]);
		// When openssl s_client connects, with one cipher suite, and says hello
		const client = openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-ciphersuites', 'TLS_AES_128_GCM_SHA256']);
		client.child.stdin.write('hello\n');
		await select(dashboard, 'C1');
		// Then the row says TLS 1.3 (no ALPN, nothing unverified) and the Log the certificate it served
		const frame = await dashboard.see((shown) => logNotes(shown).some((note) => note.includes('SHA-256')));
		expect(rowOf(frame, 'C1')).toMatch(/● open · TLSv1\.3 {2}/);
		const notes = logNotes(frame);
		expect(notes).toContain('TLS TLSv1.3, cipher TLS_AES_128_GCM_SHA256, no ALPN');
		expect(notes).toContain(`our certificate: ${expected.subject}, issued by ${expected.issuer}, valid ${expected.from} to ${expected.to}`);
		expect(notes).toContain(`our certificate SHA-256 ${expected.sha256}`);
		expect(notes.some((note) => note.includes('NOT VERIFIED'))).toBe(false);

		// And the listener's own Log names the certificate it serves, for clients to trust or pin
		await dashboard.type('1', '┏━ 1 Listeners');
		const listenerFrame = await dashboard.type('\r', '3 Log L1');
		const listenerNotes = logNotes(await dashboard.see((shown) => shown.includes('3 Log L1') && logNotes(shown).some((note) => note.includes('SHA-256'))));
		expect(listenerNotes).toContain(`listening on 127.0.0.1:${port} (raw, TLS)`);
		expect(listenerNotes).toContain(`our certificate SHA-256 ${expected.sha256}`);
		expect(listenerFrame).toContain('raw·tls');
	});

	it('a raw TLS connection reads and writes as a plain one: the Log shows what the client sent, and enter sends the line with its LF', async () => {
		// Given a TLS listener, and openssl s_client connected to it saying hello (at 200 columns, where the framing cell shows)
		const dashboard = await open();
		resize(dashboard, 200, 50);
		dashboard.core.listen('127.0.0.1', 0, {tls: true, ...(await certificateFiles(tempDir(), 'server'))});
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1]);
		const client = openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-quiet']);
		client.child.stdin.write('hello\n');
		// Then its row says raw·tls, and its Log shows the bytes received, after the TLS notes
		await select(dashboard, 'C1');
		const frame = await dashboard.see((shown) => / ← in +6 B +hello\\n/.test(shown));
		expect(rowOf(frame, 'C1')).toMatch(/ raw·tls +┃$/);
		// And the send prompt ends a line with LF, as on any raw connection, and the client reads it
		await dashboard.type('s', 'send to C1 +LF ›');
		await dashboard.type('hi', '3 B');
		await dashboard.type('\r', (shown) => !shown.includes('send to C1'));
		await until(() => client.output().includes('hi\n'), () => client.output());
		await dashboard.see(/ → out +3 B +hi\\n/);
	});

	it('a line-framed TLS connection marks each message\'s end, and its send prompt leaves the LF to the framing', async () => {
		// Given a TLS listener with line framing, and a client sending two lines (at 200 columns)
		const dashboard = await open();
		resize(dashboard, 200, 50);
		dashboard.core.listen('127.0.0.1', 0, {tls: true, framing: {kind: 'line'}, ...(await certificateFiles(tempDir(), 'server'))});
		const listening = await dashboard.see(/L1\s+127\.0\.0\.1:\d+/);
		expect(listening).toMatch(/L1 .* line·tls /);
		const port = Number(/L1\s+127\.0\.0\.1:(\d+)/.exec(listening)![1]);
		const client = openssl(['s_client', '-connect', `127.0.0.1:${port}`, '-quiet']);
		client.child.stdin.write('one\r\ntwo\n');
		// Then the Log shows both messages with their delimiters: CRLF for one, LF for two
		await select(dashboard, 'C1');
		const frame = await dashboard.see((shown) => shown.includes('one␍⏎') && /two⏎/.test(shown));
		expect(rowOf(frame, 'C1')).toMatch(/ line·tls +┃$/);
		// And the send prompt says the framing adds the LF
		await dashboard.type('s', 'send to C1 +LF by framing ›');
		await dashboard.type('hi', '3 B');
		await dashboard.type('\r', (shown) => !shown.includes('send to C1'));
		await until(() => client.output().includes('hi\n'), () => client.output());
	});
});
