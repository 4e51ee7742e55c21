import dgram from 'node:dgram';
import {readFileSync} from 'node:fs';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore, type Core, type CoreOptions, type Store} from '../../source/core/index.js';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {executeCommand} from '../../source/core/commands.js';
import {parseCommandLine} from '../../source/core/command-line.js';
import {parseHostPort} from '../../source/core/ports.js';
import {mtuFromRoute} from '../../source/core/udp/route-mtu.js';
import {stateText} from '../../source/ui/components/connection-row.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function setup(options?: CoreOptions): {core: Core; events: Recorder} {
	const core = createCore(options);
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

function storeOf(core: Core): Store {
	const store = createStore(core.bus, {publishIntervalMs: 20, sampleIntervalMs: 100});
	cleanups.push(() => {
		store.dispose();
	});
	return store;
}

async function listening(core: Core, events: Recorder, options?: Parameters<Core['listen']>[2]): Promise<{id: string; port: number}> {
	const id = core.listen('127.0.0.1', 0, options)!;
	const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
	return {id, port: opened.port};
}

/** A client socket closed after the test. */
function client(port: number, localAddress?: string): net.Socket {
	const socket = net.connect({port, host: '127.0.0.1', allowHalfOpen: true, ...(localAddress === undefined ? {} : {localAddress})});
	socket.on('error', () => {});
	cleanups.push(() => {
		socket.destroy();
	});
	return socket;
}

describe("a peer's FIN", () => {
	it('closes the connection once netdash has sent everything it had queued, as ncat does', async () => {
		// Given a listener and a client that reads everything
		const {core, events} = setup({maxQueuedBytes: 16 * 1024 * 1024});
		const {port} = await listening(core, events);
		const socket = client(port);
		let received = 0;
		socket.on('data', (chunk: Buffer) => {
			received += chunk.length;
		});
		const ended = new Promise<void>((resolve) => socket.on('end', resolve));
		const opened = await events.waitFor('connection-opened', (event) => event.origin === 'accepted');
		expect(opened.isHalfOpen).toBe(false);

		// When netdash has 8 MiB queued for it and the client sends its FIN at once
		const size = 8 * 1024 * 1024;
		expect(core.send(opened.connection, Buffer.alloc(size, 'x'))).toBe(true);
		socket.end();

		// Then every queued byte arrives before netdash's own FIN, and the connection closes by itself
		await ended;
		expect(received).toBe(size);
		const closed = await events.waitFor('connection-closed', (event) => event.connection === opened.connection);
		expect(closed).toMatchObject({reason: 'closed', bytesOut: size, unsent: 0});
		expect(core.connectionIds()).toEqual([]);
	});

	it('leaves a half-open connection open: netdash answers after the FIN, and the row says how long it has waited', async () => {
		// Given a listener whose connections stay half-open, and the store the dashboard reads
		const {core, events} = setup();
		const store = storeOf(core);
		const {port} = await listening(core, events, {halfOpen: true});
		expect((await events.waitFor('listener-opened')).isHalfOpen).toBe(true);
		const socket = client(port);
		let answer = '';
		socket.on('data', (chunk: Buffer) => {
			answer += chunk.toString();
		});
		const opened = await events.waitFor('connection-opened', (event) => event.origin === 'accepted');
		await until(() => store.getSnapshot().connections[0]?.isHalfOpen === true, () => 'a half-open row');
		expect(stateText(store.getSnapshot().connections[0]!)).toBe('open · half-open');

		// When the client half-closes
		socket.end('question');
		await events.waitFor('connection-half-closed', (event) => event.by === 'remote');

		// Then the connection waits, and its row counts the wait
		await until(
			() => (store.getSnapshot().connections[0]?.waitedMs ?? 0) >= 1000,
			() => JSON.stringify(store.getSnapshot().connections[0]),
		);
		const row = store.getSnapshot().connections[0]!;
		expect(row.state).toBe('half-closed-remote');
		expect(row.closedAt).toBeUndefined();
		expect(stateText(row)).toMatch(/^half-open [1-9]\d*s$/);
		expect(core.connectionIds()).toEqual([opened.connection]);

		// And netdash can still answer before it closes
		core.send(opened.connection, Buffer.from('answer'));
		core.close(opened.connection);
		await events.waitFor('connection-closed');
		await until(() => answer === 'answer', () => `answer ${JSON.stringify(answer)}`);
	});

	it('halfopen on changes the default for later connections; a connect can choose its own', async () => {
		const {core, events} = setup();
		const {port} = await listening(core, events);
		expect(executeCommand(core, parseJsonCommand('{"cmd":"halfopen","on":true,"ref":"h1"}'))).toBe(false);
		expect(await events.waitFor('half-open-changed')).toMatchObject({isHalfOpen: true, ref: 'h1'});
		expect(core.halfOpen).toBe(true);
		expect(parseCommandLine('halfopen off')).toEqual({cmd: 'halfopen', isOn: false});

		// A dial that chose halfOpen false closes after the peer's FIN although the default is on
		const dialed = core.connect('127.0.0.1', port, {halfOpen: false})!;
		expect((await events.waitFor('connection-dialing')).isHalfOpen).toBe(false);
		const accepted = await events.waitFor('connection-opened', (event) => event.origin === 'accepted');
		expect(accepted.isHalfOpen).toBe(true);
		core.shutdown(accepted.connection);
		expect((await events.waitFor('connection-closed', (event) => event.connection === dialed)).reason).toBe('closed');
		// The accepted side sent FIN first and got the dial's FIN back: closed too
		expect((await events.waitFor('connection-closed', (event) => event.connection === accepted.connection)).reason).toBe('closed');
	});
});

describe('every event a command causes carries its ref', () => {
	it('each command type: listen, connect, send, shutdown, reset, close (connection, listener, UDP), admission, allow, deny, udp, sendto, udp-connect, broadcast, request, halfopen, discover, probe, stop-discovery', async () => {
		const {core, events} = setup();
		const run = (command: Record<string, unknown>) => executeCommand(core, parseJsonCommand(JSON.stringify(command)));
		const refOf = async (type: Parameters<Recorder['waitFor']>[0], ref: string) => (await events.waitFor(type, (event) => event.ref === ref, 5000)).ref;

		run({cmd: 'listen', port: 0, ref: 'listen'});
		const {port} = await events.waitFor('listener-opened', (event) => event.ref === 'listen');
		run({cmd: 'connect', host: '127.0.0.1', port, ref: 'connect'});
		expect(await refOf('connection-dialing', 'connect')).toBe('connect');
		const dialed = await events.waitFor('connection-opened', (event) => event.ref === 'connect');
		const accepted = await events.waitFor('connection-opened', (event) => event.origin === 'accepted');

		run({cmd: 'send', connection: dialed.connection, text: 'hi', ref: 'send'});
		expect(await refOf('send-queued', 'send')).toBe('send');
		expect(await refOf('data-sent', 'send')).toBe('send');

		run({cmd: 'shutdown', id: dialed.connection, ref: 'shutdown'});
		const half = await events.waitFor('connection-half-closed', (event) => event.connection === dialed.connection && event.by === 'local');
		expect(half.ref).toBe('shutdown');

		run({cmd: 'connect', host: '127.0.0.1', port, ref: 'connect-2'});
		const second = await events.waitFor('connection-opened', (event) => event.ref === 'connect-2');
		run({cmd: 'reset', id: second.connection, ref: 'reset'});
		expect((await events.waitFor('connection-closed', (event) => event.connection === second.connection)).ref).toBe('reset');

		run({cmd: 'close', id: accepted.connection, ref: 'close-connection'});
		expect((await events.waitFor('connection-closed', (event) => event.connection === accepted.connection)).ref).toBe('close-connection');

		run({cmd: 'admission', maxConnections: 50, ref: 'admission'});
		expect(await refOf('admission-changed', 'admission')).toBe('admission');
		run({cmd: 'allow', cidr: '127.0.0.0/8', ref: 'allow'});
		expect(await refOf('admission-changed', 'allow')).toBe('allow');
		run({cmd: 'deny', cidr: '10.0.0.0/8', ref: 'deny'});
		expect(await refOf('admission-changed', 'deny')).toBe('deny');
		run({cmd: 'halfopen', on: false, ref: 'halfopen'});
		expect(await refOf('half-open-changed', 'halfopen')).toBe('halfopen');

		run({cmd: 'close', id: 'L1', ref: 'close-listener'});
		expect(await refOf('listener-closed', 'close-listener')).toBe('close-listener');

		run({cmd: 'udp', port: 0, echo: true, ref: 'udp'});
		const echo = await events.waitFor('udp-bound', (event) => event.ref === 'udp');
		run({cmd: 'udp', port: 0, ref: 'udp-2'});
		const sender = await events.waitFor('udp-bound', (event) => event.ref === 'udp-2');
		run({cmd: 'sendto', socket: sender.socket, host: '127.0.0.1', port: echo.port, text: 'x', ref: 'sendto'});
		expect(await refOf('datagram-sent', 'sendto')).toBe('sendto');
		run({cmd: 'request', socket: sender.socket, host: '127.0.0.1', port: echo.port, text: 'q', ref: 'request'});
		expect(await refOf('request-completed', 'request')).toBe('request');
		run({cmd: 'udp-connect', socket: sender.socket, host: '127.0.0.1', port: echo.port, ref: 'udp-connect'});
		expect(await refOf('udp-connected', 'udp-connect')).toBe('udp-connect');
		run({cmd: 'broadcast', socket: sender.socket, on: true, ref: 'broadcast'});
		expect(await refOf('udp-broadcast-changed', 'broadcast')).toBe('broadcast');
		run({cmd: 'close', id: sender.socket, ref: 'close-udp'});
		expect(await refOf('udp-closed', 'close-udp')).toBe('close-udp');

		// Discovery announces to loopback's own broadcast address only: nothing leaves the host.
		const probe = dgram.createSocket('udp4');
		await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', resolve));
		const discoveryPort = probe.address().port;
		await new Promise<void>((resolve) => probe.close(resolve));
		run({cmd: 'discover', port: discoveryPort, broadcastAddress: '127.255.255.255', interval: 60, ref: 'discover'});
		expect(await refOf('discovery-started', 'discover')).toBe('discover');
		run({cmd: 'probe', ref: 'probe'});
		expect(await refOf('probe-sent', 'probe')).toBe('probe');
		run({cmd: 'stop-discovery', ref: 'stop'});
		expect(await refOf('discovery-stopped', 'stop')).toBe('stop');
	});
});

describe('messages that are right', () => {
	it('a send larger than --max-queued says it is larger than the limit, not that the peer is slow', async () => {
		const {core, events} = setup({maxQueuedBytes: 1024});
		const {port} = await listening(core, events);
		client(port);
		const opened = await events.waitFor('connection-opened');
		expect(core.send(opened.connection, Buffer.alloc(2048))).toBe(false);
		const failed = await events.waitFor('command-failed');
		expect(failed.code).toBe('TOO_LARGE');
		expect(failed.message).toBe(`${opened.connection} cannot send 2048 bytes at once: that is larger than the queue limit of 1024 bytes (--max-queued); split it or raise the limit`);
		expect(failed.message).not.toMatch(/not reading/);
	});

	it('a denied client is reported as denied even when the listener is at its connection limit', async () => {
		// Given a listener with room for one connection, which is taken, and a rule denying 127.0.0.2
		const {core, events} = setup({admission: {maxConnections: 1, deny: ['127.0.0.2/32']}});
		const {port} = await listening(core, events);
		client(port);
		await events.waitFor('connection-opened');

		// When a denied client connects
		client(port, '127.0.0.2');

		// Then it is refused for the rule, not for the limit
		const refused = await events.waitFor('connection-refused');
		expect(refused).toMatchObject({reason: 'denied', rule: 'deny 127.0.0.2/32', remote: {address: '127.0.0.2'}});
		// And an allowed client over the limit is refused for the limit
		client(port);
		expect((await events.waitFor('connection-refused', (event) => event.remote.address === '127.0.0.1')).reason).toBe('limit');
	});

	it('-c host without a port says the port is missing', () => {
		expect(() => parseHostPort('example.com', {requireHost: true})).toThrow("'example.com' has no port (write example.com:PORT)");
		expect(() => parseHostPort('8080', {requireHost: true})).toThrow("'8080' has no host (write HOST:PORT)");
	});

	it('999.1.1.1 is "not an address", not "no such name", from the flag, the JSON command and sendto', async () => {
		expect(() => parseHostPort('999.1.1.1:80', {requireHost: true})).toThrow(/'999.1.1.1' is not an address/);
		const {core, events} = setup();
		expect(core.connect('999.1.1.1', 80, {ref: 'c'})).toBeUndefined();
		const failed = await events.waitFor('command-failed', (event) => event.ref === 'c');
		expect(failed).toMatchObject({code: 'BAD_ADDRESS'});
		expect(failed.message).toMatch(/^'999\.1\.1\.1' is not an address/);
		const id = core.udpBind('127.0.0.1', 0)!;
		await events.waitFor('udp-bound');
		expect(core.udpSend(id, '10.0.0', 9, Buffer.from('x'), {ref: 's'})).toBe(false);
		expect((await events.waitFor('command-failed', (event) => event.ref === 's')).message).toMatch(/'10\.0\.0' is not an address/);
		expect(core.listen('999.1.1.1', 0, {ref: 'l'})).toBeUndefined();
		expect((await events.waitFor('command-failed', (event) => event.ref === 'l')).message).toMatch(/'999\.1\.1\.1' is not an address/);
		expect(core.udpBind('999.1.1.1', 0, {ref: 'u'})).toBeUndefined();
		expect((await events.waitFor('command-failed', (event) => event.ref === 'u')).message).toMatch(/'999\.1\.1\.1' is not an address/);
	});

	it('the fragmentation warning uses the route\'s MTU: none for 65,507 bytes on loopback (MTU 65,536)', async () => {
		expect(Number(readFileSync('/sys/class/net/lo/mtu', 'utf8'))).toBe(65_536);
		const {core, events} = setup();
		const receiver = core.udpBind('127.0.0.1', 0)!;
		const {port} = await events.waitFor('udp-bound', (event) => event.socket === receiver);
		const sender = core.udpBind('127.0.0.1', 0)!;
		await events.waitFor('udp-bound', (event) => event.socket === sender);
		core.udpSend(sender, '127.0.0.1', port, Buffer.alloc(65_507));
		const sent = await events.waitFor('datagram-sent', (event) => event.socket === sender);
		expect(sent.bytes).toBe(65_507);
		expect(sent.warning).toBeUndefined();
	});

	it('the route MTU is read from `ip route get`: its own mtu, else its interface\'s', () => {
		const interfaces: Record<string, number> = {lo: 65_536, eth0: 1500};
		const lookup = (name: string) => interfaces[name];
		expect(mtuFromRoute('local 127.0.0.1 dev lo src 127.0.0.1 uid 0 \\    cache <local> ', lookup)).toBe(65_536);
		expect(mtuFromRoute('10.1.2.3 via 192.0.2.1 dev eth0 src 192.0.2.2 uid 0 \\    cache ', lookup)).toBe(1500);
		expect(mtuFromRoute('10.9.0.1 dev wg0 src 10.9.0.2 uid 0 \\    cache  mtu 1420', lookup)).toBe(1420);
		expect(mtuFromRoute('10.9.0.1 dev tun0 src 10.9.0.2 uid 0 \\    cache  mtu lock 1280', lookup)).toBe(1280);
		expect(mtuFromRoute('unreachable 10.0.0.1', lookup)).toBeUndefined();
	});

	it('kernel-drops-changed is emitted only while netdash has a UDP socket open', async () => {
		// Given netdash with no UDP socket, watching every 50 ms
		const {core, events} = setup({watchIntervalMs: 50});

		// When another program's socket (here a plain dgram socket with a tiny buffer, not read while the
		// burst is sent) loses datagrams, so the namespace's RcvbufErrors rises
		const victim = dgram.createSocket({type: 'udp4', recvBufferSize: 4096});
		victim.on('error', () => {});
		await new Promise<void>((resolve) => victim.bind(0, '127.0.0.1', resolve));
		cleanups.push(() => {
			victim.close();
		});
		const before = snmpRcvbufErrors();
		const flooder = dgram.createSocket('udp4');
		cleanups.push(() => {
			flooder.close();
		});
		const {port} = victim.address();
		let sent = 0;
		await new Promise<void>((resolve) => {
			for (let index = 0; index < 500; index++) {
				flooder.send(Buffer.alloc(1000), port, '127.0.0.1', () => {
					if (++sent === 500) {
						resolve();
					}
				});
			}
		});
		await until(() => snmpRcvbufErrors() > before, () => `RcvbufErrors still ${snmpRcvbufErrors()}`);

		// Then netdash says nothing about it, over several watch intervals
		const watchedUntil = Date.now() + 400;
		await until(() => Date.now() >= watchedUntil, () => 'time passed');
		expect(events.of('kernel-drops-changed')).toEqual([]);
		expect(core.openSockets).toBe(0);
	});
});

/** Udp RcvbufErrors of this namespace. */
function snmpRcvbufErrors(): number {
	const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Udp:'));
	const names = lines[0]!.split(/\s+/);
	return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')]);
}
