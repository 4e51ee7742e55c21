import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {runCli, spawnJson, type JsonChild} from '../helpers/cli.js';

const children: JsonChild[] = [];
afterEach(() => {
	for (const {child} of children.splice(0)) {
		child.kill('SIGKILL');
	}
});

function start(args: string[]): JsonChild {
	const netdash = spawnJson(args);
	children.push(netdash);
	return netdash;
}

describe('netdash --json', () => {
	it('listens, connects to itself, sends, sees data-received, quits with exit code 0', async () => {
		const netdash = start(['--json', '--framing', 'line']);
		netdash.send({cmd: 'listen', port: 0, ref: 'my-listener'});
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
		expect(opened).toMatchObject({listener: 'L1', address: '127.0.0.1', framing: 'line', ref: 'my-listener'});
		expect(opened.seq).toBe(1);

		netdash.send({cmd: 'connect', host: '127.0.0.1', port: opened.port, ref: 'dial'});
		const dialed = await netdash.waitFor((event) => event.type === 'connection-opened' && event.origin === 'dialed', 'dialed connection');
		const accepted = await netdash.waitFor((event) => event.type === 'connection-opened' && event.origin === 'accepted', 'accepted connection');
		expect(dialed.ref).toBe('dial');
		expect(accepted.listener).toBe('L1');
		expect(accepted.remote.port).toBe(dialed.local.port);

		netdash.send({cmd: 'send', connection: dialed.connection, text: 'hello over loopback\n', ref: 's1'});
		const received = await netdash.waitFor((event) => event.type === 'data-received' && event.connection === accepted.connection, 'data-received');
		expect(Buffer.from(received.base64 as string, 'base64').toString()).toBe('hello over loopback\n');
		expect(received.bytes).toBe(20);
		const message = await netdash.waitFor((event) => event.type === 'message-received', 'message-received');
		expect(Buffer.from(message.base64 as string, 'base64').toString()).toBe('hello over loopback');
		const sent = await netdash.waitFor((event) => event.type === 'data-sent', 'data-sent');
		expect(sent).toMatchObject({connection: dialed.connection, bytes: 20, ref: 's1'});

		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		// Every socket was closed gracefully and reported before exit; seq has no gaps; stdout was only JSON.
		expect(netdash.events.filter((event) => event.type === 'connection-closed')).toHaveLength(2);
		expect(netdash.events.some((event) => event.type === 'listener-closed')).toBe(true);
		expect(netdash.events.map((event) => event.seq)).toEqual(netdash.events.map((_, index) => index + 1));
		expect(netdash.badLines).toEqual([]);
	});

	it('a malformed line gets command-failed and the stream goes on', async () => {
		const netdash = start(['--json']);
		netdash.send('this is not json');
		netdash.send({cmd: 'listen', port: 70_000, ref: 'bad-port'});
		netdash.send({cmd: 'fly', ref: 'unknown'});
		netdash.send({cmd: 'send', connection: 'C1', text: 'a', hex: '41', ref: 'two-payloads'});
		netdash.send({cmd: 'listen', port: 0});
		await netdash.waitFor((event) => event.type === 'listener-opened', 'listener after the bad lines');
		const failures = netdash.events.filter((event) => event.type === 'command-failed');
		expect(failures.map((event) => [event.ref, event.code])).toEqual([
			[null, 'BAD_JSON'],
			['bad-port', 'BAD_PORT'],
			['unknown', 'BAD_COMMAND'],
			['two-payloads', 'BAD_COMMAND'],
		]);
		expect(failures.every((event) => typeof event.message === 'string' && !event.message.includes('\n'))).toBe(true);
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
	});

	it('EOF on stdin does not quit while sockets are open; SIGTERM closes them and flushes before exit', async () => {
		const netdash = start(['--json', '--listen', '0']);
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener from --listen');
		netdash.child.stdin.end();
		// Still alive after EOF: it accepts a connection and reports it.
		const client = net.connect(opened.port as number, '127.0.0.1');
		client.on('error', () => {});
		await netdash.waitFor((event) => event.type === 'connection-opened', 'accepted after EOF');
		client.write('after eof');
		await netdash.waitFor((event) => event.type === 'data-received', 'data after EOF');
		const clientClosed = new Promise((resolve) => client.on('close', resolve));
		netdash.child.kill('SIGTERM');
		expect(await netdash.exited).toBe(0);
		await clientClosed;
		expect(netdash.events.at(-1)!.type).toMatch(/closed/);
		expect(netdash.events.some((event) => event.type === 'connection-closed' && event.bytesIn === 9)).toBe(true);
	});

	it('without --json, a stdout that is not a terminal gets the JSON-lines stream (not the dashboard)', async () => {
		const netdash = start(['--listen', '0']);
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened as JSON');
		expect(opened.listener).toBe('L1');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		expect(netdash.stderr()).toBe('');
	});

	it('EOF on stdin with no socket open ends the session', async () => {
		const result = await runCli(['--json'], '{"cmd":"listen","port":70000}\n');
		expect(result.code).toBe(0);
		expect(JSON.parse(result.stdout.trim())).toMatchObject({type: 'command-failed', code: 'BAD_PORT'});
	});
});

describe('bad flags', () => {
	for (const [args, pattern] of [
		[['--listen', '70000'], /--listen '70000': port 70000 is out of range/],
		[['--connect', 'host:'], /--connect 'host:' has no port/],
		[['--connect', '8080'], /--connect '8080' has no host/],
		[['--framing', 'fixed:x'], /--framing/],
		[['--bogus'], /unknown flag --bogus/],
		[['--connect-timeout', 'soon'], /--connect-timeout needs a positive number/],
		[['stray'], /expected HOST PORT, not 'stray'/],
	] as const) {
		it(`netdash ${args.join(' ')} prints one clear line and exits with code 2`, async () => {
			const result = await runCli([...args]);
			expect(result.code).toBe(2);
			expect(result.stdout).toBe('');
			expect(result.stderr.trim().split('\n')).toHaveLength(1);
			expect(result.stderr).toMatch(pattern);
			expect(result.stderr).toMatch(/^netdash: /);
		});
	}

	it('--help with other flags still prints the help and exits 0', async () => {
		const result = await runCli(['--listen', '1', '--help']);
		expect(result.code).toBe(0);
		expect(result.stdout).toMatch(/Usage/);
		expect(result.stdout).toMatch(/--listen/);
	});

	it('--version prints the version', async () => {
		const result = await runCli(['--version']);
		expect(result.code).toBe(0);
		expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
	});
});
