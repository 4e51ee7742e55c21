import dgram from 'node:dgram';
import {afterEach, describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {ServiceTable} from '../../source/core/discovery/services/service-table.js';
import {keys, renderDashboard, type Dashboard} from '../helpers/ink.js';
import {record, type Recorder} from '../helpers/recorder.js';
import {freeUdpPort as freePort} from '../helpers/ports.js';

const dashboards: Dashboard[] = [];
const cleanups: Array<() => void | Promise<void>> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}

	await Promise.all(dashboards.splice(0).map(async (dashboard) => dashboard.dispose()));
});

async function open(): Promise<Dashboard> {
	const dashboard = await renderDashboard();
	dashboards.push(dashboard);
	return dashboard;
}

/** Run a `:` command line as a person types it. */
async function command(dashboard: Dashboard, line: string): Promise<void> {
	await dashboard.type(':', 'tab completes');
	await dashboard.type(line, (frame) => frame.includes(`:${line.slice(0, 60)}`));
	await dashboard.type(keys.enter, (frame) => !frame.includes('tab completes'));
}

/** A UDP server on loopback that answers every datagram with `replies` copies of `reply`, all in one turn of the loop; its port. */
async function udpResponder(replies: number, reply: Buffer): Promise<number> {
	const responder = dgram.createSocket('udp4');
	cleanups.push(() => {
		responder.close();
	});
	responder.on('message', (_, from) => {
		for (let index = 0; index < replies; index++) {
			responder.send(reply, from.port, from.address);
		}
	});
	await new Promise<void>((resolve) => {
		responder.bind(0, '127.0.0.1', resolve);
	});
	return responder.address().port;
}

function resize(dashboard: Dashboard, columns: number, rows: number): void {
	Object.defineProperty(dashboard.stdout, 'columns', {configurable: true, get: () => columns});
	Object.defineProperty(dashboard.stdout, 'rows', {configurable: true, get: () => rows});
	dashboard.stdout.emit('resize');
}

/** The line of the Listeners pane that shows UDP socket `id`. */
function udpRowOf(frame: string, id: string): string {
	return frame.split('\n').find((line) => new RegExp(`^[│┃].. ● ${id} `).test(line)) ?? '';
}

/** The bound port a UDP row shows (`127.0.0.1:41234/udp`). */
function udpPortOf(frame: string, id: string): number {
	return Number(/:(\d+)\/udp/.exec(udpRowOf(frame, id))?.[1] ?? Number.NaN);
}


/** A second netdash core beside the dashboard's, closed after the test. */
function otherCore(): {core: Core; events: Recorder} {
	const core = new Core();
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(100);
		core.dispose();
	});
	return {core, events};
}

/** Every character a hostile name or payload could use to drive the terminal. */
const controls = /[\u001B\u0007\u009B\u202A-\u202E\u2066-\u2069]/;

describe('UDP in the dashboard', () => {
	it(':udp 0 lists a UDP socket with the listeners, and a datagram :sendto it from a second socket is logged with its sender, as text and as hex', async () => {
		// Given two UDP sockets bound from the command line
		const dashboard = await open();
		await command(dashboard, 'udp 0');
		let frame = await dashboard.see((current) => udpRowOf(current, 'U1') !== '');
		expect(udpRowOf(frame, 'U1')).toMatch(/● U1\s+127\.0\.0\.1:\d+\/udp\s+0 in 0 out\s+.*bcast off/);
		expect(frame).toContain('3 Log U1 · following');
		await command(dashboard, 'udp 0');
		frame = await dashboard.see((current) => udpRowOf(current, 'U2') !== '');
		const [first, second] = [udpPortOf(frame, 'U1'), udpPortOf(frame, 'U2')];
		expect(first).toBeGreaterThan(0);
		expect(second).toBeGreaterThan(0);

		// When U2 (selected: the line just opened it) sends to U1
		await command(dashboard, `sendto 127.0.0.1:${first} hello\\x07`);
		frame = await dashboard.see(/→ out\s+6 B\s+to 127\.0\.0\.1:\d+\s+hello\^G/);
		expect(frame).toContain(`to 127.0.0.1:${first}  hello^G`);

		// Then U1 counts it, and its log (enter on its row) names the sender
		await dashboard.see((current) => /1 in 0 out/.test(udpRowOf(current, 'U1')));
		await dashboard.type('1', '┏━ 1 Listeners');
		await dashboard.type('k', (current) => udpRowOf(current, 'U1').startsWith('┃›'));
		frame = await dashboard.type(keys.enter, '3 Log U1');
		expect(frame).toMatch(new RegExp(`← in\\s+6 B\\s+from 127\\.0\\.0\\.1:${second}  hello\\^G`));
		expect(frame).toMatch(/3 Log U1 · following · text · 127\.0\.0\.1:\d+\/udp bound · broadcast off · 1 in 0 out/);

		// The hex view shows the bytes, the header still names the sender
		frame = await dashboard.type('x', '68 65 6c 6c 6f 07');
		expect(frame).toContain(`datagram from 127.0.0.1:${second}`);
		expect(frame).toContain('|hello.|');
		await dashboard.type('x', '· text');

		// The log filter finds datagrams by their peer too
		await dashboard.type('3', '┏━ 3 Log');
		await dashboard.type('/', 'log filter:');
		frame = await dashboard.type(`in ${second}`, `/in ${second}`);
		expect(frame).toContain('hello^G');
		expect(frame).not.toContain('UDP bound to');
		await dashboard.type(keys.escape, (current) => current.includes('UDP bound to'));
	});

	it('a 1500-byte datagram over loopback (MTU 65,536) is sent with no note that it will fragment', async () => {
		const dashboard = await open();
		await command(dashboard, 'udp 0');
		const frame = await dashboard.see((current) => udpRowOf(current, 'U1') !== '');
		const port = udpPortOf(frame, 'U1');
		// To itself: 1500 bytes would not fit a 1500-byte Ethernet frame, but this route is loopback's
		await dashboard.type(':', 'tab completes');
		await dashboard.type(`sendto 127.0.0.1:${port} ${'a'.repeat(1500)}`);
		await dashboard.type(keys.enter, (current) => !current.includes('tab completes'));
		const logged = await dashboard.see(/← in\s+1\.46 KiB\s+from 127\.0\.0\.1:\d+\s+aaaa/);
		expect(logged).toMatch(/→ out\s+1\.46 KiB\s+to 127\.0\.0\.1:\d+\s+aaaa/);
		expect(logged).not.toMatch(/will fragment/);
	});

	it(':broadcast turns SO_BROADCAST on and reaches a socket bound to 0.0.0.0; d closes a UDP row', async () => {
		const dashboard = await open();
		// A receiver on every address (only those hear broadcasts), and a sender
		await command(dashboard, 'udp 0.0.0.0:0');
		let frame = await dashboard.see(/U1\s+0\.0\.0\.0:\d+\/udp/);
		const port = Number(/0\.0\.0\.0:(\d+)\/udp/.exec(frame)![1]);
		await command(dashboard, 'udp 0');
		await dashboard.see((current) => udpRowOf(current, 'U2') !== '');

		// Loopback's broadcast address: the test never sends off this machine
		await command(dashboard, `broadcast 127.255.255.255:${port} to all`);
		frame = await dashboard.see((current) => /1 in 0 out/.test(udpRowOf(current, 'U1')));
		expect(udpRowOf(frame, 'U2')).toMatch(/0 in 1 out\s+.*bcast on/);
		expect(frame).toMatch(/→ out\s+6 B\s+to 127\.255\.255\.255:\d+\s+to all/);

		// d on U2's row asks, y closes it
		await dashboard.type('1', '┏━ 1 Listeners');
		await dashboard.type('d', 'close UDP socket U2?');
		frame = await dashboard.type('y', /○ U2\s+127\.0\.0\.1:\d+\/udp\s+0 in 1 out\s+.*closed/);
		expect(dashboard.core.udpSocketIds()).toEqual(['U1']);
	});
});

describe('discovery in the dashboard', () => {
	it(':discover finds a peer with a hostile name (shown escaped), p probes it, enter connects to its port, and foreign datagrams are listed', async () => {
		const dashboard = await open();
		resize(dashboard, 200, 60);
		const [ours, theirs] = [await freePort(), await freePort()];

		// Given another netdash instance offering a TCP listener, announcing to our port only
		const other = otherCore();
		other.core.listen('0.0.0.0', 0);
		const offered = await other.events.waitFor('listener-opened');
		const name = '\u001B]0;pwned\u0007evil\u202E';
		other.core.startDiscovery({port: theirs, name, intervalMs: 300, broadcast: [`127.0.0.1:${ours}`]});
		await other.events.waitFor('discovery-started');

		// When the dashboard starts discovery on loopback, probing and announcing to it
		await command(dashboard, `discover ${ours} 127.0.0.1:${theirs}`);
		let frame = await dashboard.see((current) => current.includes('(1 peer · :'));
		expect(frame).toMatch(/4 Discovery \(1 peer · :\d+\)/);
		frame = await dashboard.see(new RegExp(`● \\^\\[\\]0;pwned\\^Gevil<U\\+202E>\\s+127\\.0\\.0\\.1\\s+${offered.port}\\s`));
		expect(frame).toMatch(/me [\da-f]{8} · dropped 0 · rate-limited 0 · probes \d+/);
		expect(frame).toMatch(/\s+name\s+address\s+port\s+rtt\s+age\s+state/);

		// Then p sends a probe, and its round trip shows on the peer's row
		const events = record(dashboard.core.bus);
		cleanups.push(() => {
			events.stop();
		});
		await dashboard.type('4', '┏━ 4 Discovery');
		await dashboard.type('p');
		const probe = await events.waitFor('probe-sent', (event) => event.attempt === 1);
		const answered = await events.waitFor('peer-updated', (event) => event.changed.includes('rtt') && event.seq > probe.seq);
		expect(answered.rttMs).not.toBeNull();
		frame = await dashboard.see(new RegExp(`127\\.0\\.0\\.1\\s+${offered.port}\\s+\\d+(\\.\\d)?ms\\s+\\d+s\\s+fresh`));

		// And enter on the peer opens a TCP connection to its offered port
		frame = await dashboard.type(keys.enter, new RegExp(`C1\\s+127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${offered.port}\\s+dialed\\s+● open`));
		expect(frame).toContain('3 Log C1');
		await other.events.waitFor('connection-opened', (event) => event.origin === 'accepted');

		// A datagram that is not netdash's is a foreign row, its bytes escaped
		const stranger = dgram.createSocket('udp4');
		cleanups.push(() => {
			stranger.close();
		});
		await new Promise<void>((resolve) => {
			stranger.bind(0, '127.0.0.1', resolve);
		});
		stranger.send(Buffer.from('M-SEARCH * \u001B[2J\r\n'), ours, '127.0.0.1');
		frame = await dashboard.see('foreign senders (not netdash): 1');
		expect(frame).toMatch(new RegExp(`◇ 127\\.0\\.0\\.1:${stranger.address().port}\\s+1×\\s+17 B\\s+M-SEARCH \\* \\^\\[\\[2J\\\\r\\\\n`));
		expect(frame).toMatch(/4 Discovery \(1 peer · 1 foreign · :\d+\)/);

		// No frame ever carried the name's or the datagram's controls
		expect(dashboard.frames.join('')).not.toMatch(controls);
	});

	it('enter on a peer that offers several ports asks which with ←/→; one that offers none says so', async () => {
		const dashboard = await open();
		// Two real listeners the fake peers point at
		const other = otherCore();
		other.core.listen('127.0.0.1', 0);
		other.core.listen('127.0.0.1', 0);
		await other.events.waitFor('listener-opened', (event) => event.listener === 'L2');
		const [first, second] = other.events.of('listener-opened').map((event) => event.port);
		// The store is told what the discovery core says about two peers
		const now = Date.now();
		const peer = {via: 'announce', address: '127.0.0.1', port: 47_474, state: 'fresh', rttMs: null, firstSeen: now, lastSeen: now} as const;
		dashboard.core.bus.emit({type: 'peer-discovered', ...peer, instanceId: 'aaaaaaaaaaaaaaaa', name: 'two-ports', ports: [first!, second!]});
		dashboard.core.bus.emit({type: 'peer-discovered', ...peer, instanceId: 'bbbbbbbbbbbbbbbb', name: 'no-ports', ports: []});
		await dashboard.see('(2 peers)');

		await dashboard.type('4', '┏━ 4 Discovery');
		let frame = await dashboard.type(keys.enter, 'connect to two-ports at 127.0.0.1 port:');
		expect(frame).toContain(`[${first}]  ${second}`);
		expect(frame).toContain('←→ pick · enter connects · esc cancels');
		await dashboard.type('\u001B[C', `[${second}]`);
		frame = await dashboard.type(keys.enter, new RegExp(`C1\\s+(127\\.0\\.0\\.1:\\d+ )?→ 127\\.0\\.0\\.1:${second}\\s+● open`));
		expect(frame).not.toContain('connect to two-ports');

		await dashboard.type('j', (current) => current.includes('›● no-ports'));
		frame = await dashboard.type(keys.enter, 'no-ports at 127.0.0.1 offers no TCP port');
		expect(frame).not.toContain('C2');
	});

	it('p with discovery off says how to start it', async () => {
		const dashboard = await open();
		const frame = await dashboard.type('p', 'discovery is not running — start it with :discover [port]');
		expect(frame).toContain('4 Discovery off · :discover or --discover finds netdash peers');
	});
});

describe('LAN services in the dashboard', () => {
	it('enter on a TCP service asks before connecting and y dials it; a service with no TCP port says so', async () => {
		const dashboard = await open();
		resize(dashboard, 200, 40);
		// A real listener the service points at
		const other = otherCore();
		other.core.listen('127.0.0.1', 0);
		const {port} = await other.events.waitFor('listener-opened');
		// The table every LAN protocol reports into, on the dashboard's bus, hears a web service and a UPnP device
		const table = new ServiceTable((event) => dashboard.core.bus.emit(event));
		const now = Date.now();
		table.see({protocol: 'mdns', key: 'Web._http._tcp.local', name: 'Web', serviceType: '_http._tcp', host: 'web.local', address: '127.0.0.1', port, txt: {}, details: {}}, 60_000, now);
		table.see({protocol: 'ssdp', key: 'uuid:tv', name: 'TV', serviceType: 'upnp:rootdevice', host: '127.0.0.1', address: '127.0.0.1', port: 1400, txt: {}, details: {}}, 60_000, now);
		await dashboard.see('▾ 127.0.0.1  web.local · 2 services');

		await dashboard.type('4', '┏━ 4 Discovery');
		let frame = await dashboard.type(keys.enter, `connect to Web (_http._tcp) at 127.0.0.1:${port}?`);
		expect(frame).not.toContain('C1');
		frame = await dashboard.type('y', new RegExp(`C1\\s+127\\.0\\.0\\.1:\\d+ → 127\\.0\\.0\\.1:${port}\\s+dialed\\s+● open`));
		await other.events.waitFor('connection-opened', (event) => event.origin === 'accepted');

		await dashboard.type('4', '┏━ 4 Discovery');
		await dashboard.type('j', (current) => current.includes('›● TV'));
		frame = await dashboard.type(keys.enter, 'TV (ssdp) offers no TCP port to connect to');
		expect(frame).not.toContain('C2');
	});

	it(':probe ADDR:PORT text sends one datagram and lists its responder once, with round trip and reply count, its bytes escaped; :probe alone still probes for peers', async () => {
		const dashboard = await open();
		resize(dashboard, 200, 40);
		// A UDP server on loopback that answers every datagram twice
		const port = await udpResponder(2, Buffer.from('pong \u001B[2J'));

		await command(dashboard, `probe 127.0.0.1:${port} hello`);
		const frame = await dashboard.see(`probe P1 → 127.0.0.1:${port} (5 B): 1 responder, 2 replies in 2 s`, 10_000);
		expect(frame).toMatch(new RegExp(`◆ 127\\.0\\.0\\.1:${port}\\s+\\d+(\\.\\d)?ms\\s+2×\\s+9 B\\s+pong \\^\\[\\[2J`));
		expect(dashboard.frames.join('')).not.toContain('\u001B[2J');

		// Bare, it is netdash's own discovery probe, as before
		await dashboard.type(':', 'tab completes');
		await dashboard.type('probe', ':probe');
		await dashboard.type(keys.enter, 'discovery is not running');
	});

	it(':probe says how many replies the kernel dropped when they came faster than its buffer holds', async () => {
		const dashboard = await open();
		resize(dashboard, 200, 40);
		// 3,000 replies of 1,400 B sent in one turn of this process's event loop: nothing reads the probe's socket meanwhile.
		const burst = 3000;
		const port = await udpResponder(burst, Buffer.alloc(1400, 0x72));

		await command(dashboard, `probe 127.0.0.1:${port} hello`);
		const frame = await dashboard.see(/replies in 2 s, \d+ lost/, 10_000);
		const [, replies, lost] = new RegExp(`probe P1 → 127\\.0\\.0\\.1:${port} \\(5 B\\): 1 responder, (\\d+) replies in 2 s, (\\d+) lost`).exec(frame) ?? [];
		expect(Number(lost)).toBeGreaterThan(0);
		expect(Number(replies) + Number(lost)).toBe(burst);
	});
});
