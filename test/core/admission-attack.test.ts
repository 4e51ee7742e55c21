import {spawnSync} from 'node:child_process';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, type Core} from '../../source/core/index.js';
import {parseCidr} from '../../source/core/tcp/admission.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options?: Parameters<typeof createCore>[0]): {core: Core; events: Recorder} {
	const core = createCore(options);
	cleanups.push(async () => {
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events: record(core.bus)};
}

/**
 * The attack of issue 10.1, run in a child process while this process is
 * blocked in spawnSync: every client connects, sends 18 bytes and resets
 * (SO_LINGER 0) before netdash's event loop can accept it, so by the time
 * netdash accepts, the kernel no longer knows the peer's address.
 */
function connectSendReset(port: number, clients: number): void {
	const script = `
		const net = require('node:net');
		(async () => {
			for (let index = 0; index < ${clients}; index++) {
				const socket = net.connect({host: '127.0.0.1', port: ${port}});
				socket.on('error', () => {});
				await new Promise((resolve) => socket.once('connect', resolve));
				socket.write('attack-payload-18\\n');
				socket.resetAndDestroy();
			}
		})();
	`;
	const result = spawnSync(process.execPath, ['-e', script], {encoding: 'utf8', timeout: 30_000});
	expect(result.status, result.stderr).toBe(0);
}

function client(port: number, host: string, localAddress?: string): net.Socket {
	const socket = net.connect({port, host, ...(localAddress ? {localAddress} : {})});
	socket.on('error', () => {});
	cleanups.push(() => socket.destroy());
	return socket;
}

describe('--deny cannot be bypassed', () => {
	it('200 clients that connect, send and reset before being accepted are all refused and none of their bytes is delivered', async () => {
		const {core, events} = setup({admission: {deny: ['127.0.0.0/8']}});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');

		connectSendReset(port, 200);

		await until(
			() => events.of('connection-refused').length + events.of('connection-opened').length === 200,
			() => `${events.of('connection-refused').length} refused, ${events.of('connection-opened').length} opened`,
		);
		const refused = events.of('connection-refused');
		const unknown = refused.filter((event) => event.remote.address === '');
		console.log(`deny bypass: ${refused.length} refused (${unknown.length} with no known address), ${events.of('connection-opened').length} opened, ${events.of('data-received').reduce((sum, event) => sum + event.bytes, 0)} bytes delivered`);
		expect(events.of('connection-opened')).toHaveLength(0);
		expect(events.of('data-received')).toHaveLength(0);
		expect(refused).toHaveLength(200);
		// Each refusal says why: the rule that matched, or that the address was unknown.
		expect(refused.filter((event) => event.rule === undefined || event.reason !== 'denied')).toEqual([]);
		expect(unknown.every((event) => /no known remote address/.test(event.rule!))).toBe(true);
	});

	it('with no rules at all, a client with no known address is still refused, not admitted unchecked', async () => {
		const {core, events} = setup();
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');

		connectSendReset(port, 20);

		await until(
			() => events.of('connection-refused').length + events.of('connection-opened').length === 20,
			() => `${events.of('connection-refused').length} refused, ${events.of('connection-opened').length} opened`,
		);
		expect(events.of('data-received')).toHaveLength(0);
		expect(events.of('connection-refused').map((event) => event.rule)).toEqual(Array.from({length: 20}, () => expect.stringMatching(/no known remote address/)));
	});
});

describe('admission rules mean what they say', () => {
	it('octal-, hex- and short-looking addresses are refused instead of read as other addresses', () => {
		// ipaddr.js reads 127.0.0.010 as 127.0.0.8: a rule must not cover other hosts than it names.
		for (const text of ['127.0.0.010', '127.0.0.010/32', '0127.0.0.1', '0x7f.0.0.1', '127.000.0.1', '::ffff:127.0.0.010', '10.0.0.0/08', '10.0.0.0/8/8', 'fe80::1%eth0', '10.0.0.0/']) {
			expect(() => parseCidr(text), text).toThrow(/not an address or CIDR/);
		}

		expect(parseCidr('127.0.0.10').text).toBe('127.0.0.10/32');
		expect(parseCidr('0.0.0.0/0').text).toBe('0.0.0.0/0');
		expect(parseCidr('::/0').text).toBe('::/0');
		// A rule in IPv4-mapped form is the IPv4 rule it maps.
		expect(parseCidr('::ffff:10.0.0.0/104').text).toBe('10.0.0.0/8');
	});

	it('on a dual-stack listener, --deny 0.0.0.0/0 turns away every IPv4 client and --deny ::/0 every IPv6 client, and neither the other family', async () => {
		const {core, events} = setup();
		core.listen('::', 0);
		const {port} = await events.waitFor('listener-opened');
		const outcome = async (host: string): Promise<string> => {
			const before = events.events.length;
			client(port, host);
			await until(
				() => events.events.slice(before).some((event) => event.type === 'connection-opened' || event.type === 'connection-refused'),
				() => `no outcome for a client from ${host}`,
			);
			const event = events.events.slice(before).find((candidate) => candidate.type === 'connection-opened' || candidate.type === 'connection-refused')!;
			return event.type === 'connection-refused' ? `refused (${event.rule})` : 'accepted';
		};

		// The IPv4 client arrives as ::ffff:127.0.0.1 and is matched as 127.0.0.1.
		core.setAdmission({deny: ['0.0.0.0/0']});
		expect({v4: await outcome('127.0.0.1'), v6: await outcome('::1')}).toEqual({v4: 'refused (deny 0.0.0.0/0)', v6: 'accepted'});
		core.setAdmission({deny: ['::/0']});
		expect({v4: await outcome('127.0.0.1'), v6: await outcome('::1')}).toEqual({v4: 'accepted', v6: 'refused (deny ::/0)'});
		core.setAdmission({deny: [], allow: ['::/0']});
		expect({v4: await outcome('127.0.0.1'), v6: await outcome('::1')}).toEqual({v4: 'refused (not in allow ::/0)', v6: 'accepted'});
		core.setAdmission({allow: ['0.0.0.0/0']});
		expect({v4: await outcome('127.0.0.1'), v6: await outcome('::1')}).toEqual({v4: 'accepted', v6: 'refused (not in allow 0.0.0.0/0)'});
	});

	it('every connection-refused names its rule, also over the connection limit', async () => {
		const {core, events} = setup({admission: {maxConnections: 1}});
		core.listen('127.0.0.1', 0);
		const {port} = await events.waitFor('listener-opened');
		client(port, '127.0.0.1');
		await events.waitFor('connection-opened');
		client(port, '127.0.0.1');
		const refused = await events.waitFor('connection-refused');
		expect(refused).toMatchObject({reason: 'limit', rule: 'max-conns 1'});
	});
});
