import {afterEach, describe, expect, it} from 'vitest';
import {eventErrors} from '../../source/core/schema/validate.js';
import {runCli, spawnJson, type JsonChild} from '../helpers/cli.js';
import {tempDir} from '../helpers/tls.js';

const children: JsonChild[] = [];

afterEach(() => {
	for (const child of children.splice(0)) {
		child.child.kill();
	}
});

/** netdash --json with its own config directory (where it makes its certificate). */
function netdash(): JsonChild {
	const child = spawnJson(['--json'], {env: {XDG_CONFIG_HOME: tempDir()}});
	children.push(child);
	return child;
}

describe('TLS over the JSON commands', () => {
	it('listen and connect with "tls": true, "alpn" and "insecure": true talk plaintext, and the insecure dial says so on its event', async () => {
		const json = netdash();
		// Given a TLS listener offering echo/1, from a JSON command
		json.send({cmd: 'listen', port: 0, tls: true, alpn: ['echo/1'], ref: 'serve'});
		const listening = await json.waitFor((event) => event.type === 'listener-opened' && event.ref === 'serve', 'listener-opened');
		expect(listening['tls']['certificate']['subject']).toBe('CN=netdash');

		// When a JSON connect dials it with TLS, unverified, offering h2 then echo/1
		json.send({cmd: 'connect', host: '127.0.0.1', port: listening['port'], tls: true, insecure: true, alpn: ['h2', 'echo/1'], ref: 'dial'});
		const dialed = await json.waitFor((event) => event.type === 'connection-opened' && event.ref === 'dial', 'the dialed connection-opened');
		const accepted = await json.waitFor((event) => event.type === 'connection-opened' && event.origin === 'accepted', 'the accepted connection-opened');

		// Then both ends agreed on echo/1, and the dial is marked unverified, saying why
		expect(dialed['tls']).toMatchObject({protocol: 'TLSv1.3', alpn: 'echo/1', isInsecure: true, verifyError: `certificate of 127.0.0.1:${listening['port']} is self-signed and not trusted`});
		expect(dialed['tls']['certificate']['fingerprint256']).toBe(listening['tls']['certificate']['fingerprint256']);
		expect(accepted['tls']).toMatchObject({protocol: 'TLSv1.3', alpn: 'echo/1'});
		expect(accepted['tls']['isInsecure']).toBeUndefined();

		// And bytes cross as plaintext
		json.send({cmd: 'send', connection: dialed['connection'], text: 'over tls\n'});
		const received = await json.waitFor((event) => event.type === 'data-received' && event.connection === accepted['connection'], 'data-received');
		expect(Buffer.from(received['base64'], 'base64').toString()).toBe('over tls\n');

		// And a verified dial to the same self-signed listener fails in one line
		json.send({cmd: 'connect', host: '127.0.0.1', port: listening['port'], tls: true, ref: 'verified'});
		const failed = await json.waitFor((event) => event.type === 'socket-failed' && event.ref === 'verified', 'socket-failed');
		expect(failed['message']).toBe(`TLS: certificate of 127.0.0.1:${listening['port']} is self-signed and not trusted (--insecure to connect anyway)`);

		// And "insecure" without "tls" is refused rather than dialing plain
		json.send({cmd: 'connect', host: '127.0.0.1', port: listening['port'], insecure: true, ref: 'plain'});
		const refused = await json.waitFor((event) => event.type === 'command-failed' && event.ref === 'plain', 'command-failed');
		expect(refused['code']).toBe('BAD_TLS_OPTION');

		// And every line written conforms to the event schema
		expect(json.badLines).toEqual([]);
		expect(json.events.flatMap((event) => eventErrors(event).map((error) => `${String(event['type'])}: ${error}`))).toEqual([]);
	});
});

describe('TLS flags out of place', () => {
	for (const [args, message] of [
		[['--insecure', '--connect', '127.0.0.1:1'], '--insecure needs --tls'],
		[['--alpn', 'h2', '--listen', '0'], '--alpn needs --tls'],
		[['--tls', '--cert', 'cert.pem', '--listen', '0'], '--cert needs --key'],
		[['-u', '--tls', '-l', '0'], '--tls is for TCP: -u (UDP) cannot carry it'],
		[['--tls', '--alpn', 'x'.repeat(256), '--listen', '0'], '--alpn: a protocol name is at most 255 bytes'],
	] as const) {
		it(`netdash ${args.join(' ').slice(0, 60)} says "${message}" and exits with code 2`, async () => {
			const result = await runCli([...args]);
			expect(result.code).toBe(2);
			expect(result.stdout).toBe('');
			expect(result.stderr).toBe(`netdash: ${message}\n`);
		});
	}
});
