import net from 'node:net';
import {describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {record, until, type Recorder} from '../helpers/recorder.js';
import {missingTool, skipEachIf} from '../helpers/requires.js';
import {certificateFiles, openssl, sServer, tempDir} from '../helpers/tls.js';
import {coresForEachTest} from '../helpers/cores.js';

/*
 * A reset of a TLS connection must reach the peer as a RST, as on plain TCP.
 * A TLS socket cannot send one itself (its handle is the TLS wrap), so a
 * careless reset closes with a FIN instead. openssl tells them apart:
 * s_client prints `read:errno=104` (ECONNRESET) on a RST, and both s_client
 * and s_server print `unexpected eof while reading` for a FIN that comes
 * without a close_notify.
 */

const {cleanups} = coresForEachTest();

/** A core with its own config directory (where its TLS certificate is made), closed after the test. */
function setup(options: ConstructorParameters<typeof Core>[0] = {}): {core: Core; events: Recorder} {
	const core = new Core({configDirectory: tempDir(), ...options});
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

/** A TLS listener of `core`; resolves with its id and port. */
async function tlsListener(core: Core, events: Recorder): Promise<{id: string; port: number}> {
	const id = core.listen('127.0.0.1', 0, {tls: true})!;
	const {port} = await events.waitFor('listener-opened', (event) => event.listener === id);
	return {id, port};
}

describe('a reset of a TLS connection reaches the peer as a reset', () => {
	skipEachIf(missingTool('openssl'));

	it('openssl s_client sees ECONNRESET when netdash resets the connection it accepted', async () => {
		// Given openssl s_client connected to a TLS listener, and a line through
		const {core, events} = setup();
		const listener = await tlsListener(core, events);
		const client = openssl(['s_client', '-connect', `127.0.0.1:${listener.port}`, '-quiet']);
		const accepted = await events.waitFor('connection-opened', (event) => event.listener === listener.id);
		client.child.stdin.write('hello\n');
		await events.waitFor('data-received', (event) => event.connection === accepted.connection);
		// When netdash resets it
		core.reset(accepted.connection);
		// Then the client read a RST, not an end of stream
		await until(() => client.child.exitCode !== null, () => `s_client still running: ${client.output()}`);
		expect(client.output()).toContain('read:errno=104');
		expect(client.output()).not.toContain('unexpected eof');
		expect((await events.waitFor('connection-closed', (event) => event.connection === accepted.connection)).reason).toBe('reset');
	});

	it('openssl s_server sees a reset, not an end of stream, when netdash resets a connection it dialed', async () => {
		// Given netdash dialed openssl s_server and sent it a line
		const {port, server} = await sServer(await certificateFiles(tempDir(), 'server'));
		const {core, events} = setup();
		const id = core.connect('127.0.0.1', port, {tls: true, insecure: true})!;
		await events.waitFor('connection-opened', (event) => event.connection === id);
		core.send(id, Buffer.from('hello\n'));
		await until(() => server.output().includes('hello'), () => server.output());
		// When netdash resets it
		core.reset(id);
		// Then s_server's read failed (ERROR) without the unexpected end of stream a FIN causes
		await until(() => server.output().includes('CONNECTION CLOSED'), () => `s_server did not see the connection end: ${server.output()}`);
		const after = server.output().slice(server.output().indexOf('hello'));
		expect(after).toMatch(/^hello\nERROR\nshutting down SSL\n/);
		expect(after).not.toContain('unexpected eof');
		expect((await events.waitFor('connection-closed', (event) => event.connection === id)).reason).toBe('reset');
	});

	it('a reset in the middle of a TLS handshake reaches the peer as a reset', async () => {
		// Given a peer that accepts TCP and never answers the ClientHello
		const peer = net.createServer();
		const seen: {hello: number; error?: string; ended: boolean} = {hello: 0, ended: false};
		peer.on('connection', (socket) => {
			socket.on('data', (chunk: Buffer) => {
				seen.hello += chunk.length;
			});
			socket.on('end', () => {
				seen.ended = true;
			});
			socket.on('error', (error: NodeJS.ErrnoException) => {
				seen.error = error.code;
			});
		});
		await new Promise<void>((resolve) => {
			peer.listen(0, '127.0.0.1', resolve);
		});
		cleanups.push(() => {
			peer.close();
		});
		const {core, events} = setup();
		const id = core.connect('127.0.0.1', (peer.address() as net.AddressInfo).port, {tls: true})!;
		await until(() => seen.hello > 0, () => 'no ClientHello reached the peer');
		// When netdash resets the connection, still connecting (the handshake is not done)
		core.reset(id);
		// Then the peer got a RST, not a FIN
		await until(() => seen.error !== undefined || seen.ended, () => 'the peer saw nothing');
		expect(seen).toMatchObject({error: 'ECONNRESET', ended: false});
		expect((await events.waitFor('connection-closed', (event) => event.connection === id)).reason).toBe('reset');
	});

	it('a client the rules deny is reset by a TLS listener before its handshake, and netdash goes on serving', async () => {
		// Given a TLS listener whose rules deny 127.0.0.1
		const {core, events} = setup({admission: {deny: ['127.0.0.1']}});
		const listener = await tlsListener(core, events);
		// When openssl s_client connects
		const denied = openssl(['s_client', '-connect', `127.0.0.1:${listener.port}`, '-quiet']);
		// Then it is refused with a RST (resetting a TLS socket itself would throw, uncaught)
		const refused = await events.waitFor('connection-refused', (event) => event.listener === listener.id);
		expect(refused).toMatchObject({reason: 'denied', rule: 'deny 127.0.0.1/32'});
		await until(() => denied.child.exitCode !== null, () => `s_client still running: ${denied.output()}`);
		expect(denied.output()).toContain('errno=104');
		// Before its handshake: it never saw our certificate, and nothing else is reported of it
		expect(denied.output()).not.toContain('CN = netdash');
		expect(events.of('connection-refused')).toHaveLength(1);
		expect(events.of('tls-handshake-failed')).toEqual([]);
		// And once the rules allow it, the next client is served
		core.setAdmission({deny: []});
		const client = openssl(['s_client', '-connect', `127.0.0.1:${listener.port}`, '-quiet']);
		const opened = await events.waitFor('connection-opened', (event) => event.listener === listener.id);
		client.child.stdin.write('served\n');
		const received = await events.waitFor('data-received', (event) => event.connection === opened.connection);
		expect(received.data.toString()).toBe('served\n');
	});

	it('a TLS client over the connection limit is reset when its wait ends', async () => {
		// Given a TLS listener that takes one connection, and it is taken
		const {core, events} = setup({admission: {maxConnections: 1}});
		const listener = await tlsListener(core, events);
		const first = openssl(['s_client', '-connect', `127.0.0.1:${listener.port}`, '-quiet']);
		await events.waitFor('connection-opened', (event) => event.listener === listener.id);
		// When a second client connects and no slot frees
		const second = openssl(['s_client', '-connect', `127.0.0.1:${listener.port}`, '-quiet']);
		// Then it is refused with a RST once its wait ends, and the first is still served
		const refused = await events.waitFor('connection-refused', (event) => event.listener === listener.id);
		expect(refused.reason).toBe('limit');
		await until(() => second.child.exitCode !== null, () => `second s_client still running: ${second.output()}`);
		expect(second.output()).toContain('read:errno=104');
		expect(first.child.exitCode).toBeNull();
	});
});
