import {execFileSync, spawn} from 'node:child_process';
import process from 'node:process';
import {describe, expect, onTestFinished, test} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {closedTcpPort} from '../helpers/ports.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';
import {peersForEachTest, python, pythonName, whyNoPython} from '../helpers/sock-peer.js';

/*
 * The machine's sockets (`sockets`, `watch-sockets`) against other programs
 * the test starts: a Python listener and its client, socat, UDP sockets.
 */

type Row = Record<string, any>;

const {startPeer, children} = peersForEachTest();

function startNetdash(options: Parameters<typeof spawnJson>[1] = {}): JsonChild {
	const netdash = spawnJson(['--json'], options);
	children.push(netdash.child);
	return netdash;
}

let nextRef = 1;

/** Ask for every socket until `find` picks a row out of the answer (or 15 s pass); returns the row and the whole answer. */
async function pollSockets(netdash: JsonChild, find: (sockets: Row[]) => Row | undefined, what: string): Promise<{row: Row; answer: Row}> {
	const deadline = Date.now() + 15_000;
	let last: Row | undefined;
	while (Date.now() < deadline) {
		const ref = `s${nextRef++}`;
		netdash.send({cmd: 'sockets', ref});
		// eslint-disable-next-line no-await-in-loop
		last = await netdash.waitFor((event) => event['type'] === 'system-sockets' && event['ref'] === ref, `system-sockets ${ref}`, 15_000);
		const row = find(last['sockets'] as Row[]);
		if (row) {
			return {row, answer: last};
		}
	}

	throw new Error(`no ${what} within 15 s; last answer's missing: ${JSON.stringify(last?.['missing'])}, ${(last?.['sockets'] as Row[] | undefined)?.length} sockets`);
}

const isAt = (row: Row, local: number, remote?: number) => row['local'].port === local && (remote === undefined || row['remote'].port === remote);

describe('the machine\'s sockets, with programs the test starts', () => {
	skipEachIf(whyNoPython ?? missingTool('socat') ?? missingTool('ss', 'iproute2'));

	test('a python listener and its client show their pids, names, and the bytes sent within 1%', async () => {
		const size = 1_000_000;
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		const client = startPeer(['dial', '127.0.0.1', String(port), String(size)]);
		const clientPort = Number((await client.waitLine(/^connected (\d+)/, 'connected'))[1]);
		await client.waitLine(/^sent/, 'sent');
		const netdash = startNetdash();

		const {row: accepted, answer} = await pollSockets(netdash, (sockets) => sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, port, clientPort) && row['bytesIn'] >= size * 0.99), 'the accepted socket with the bytes in');
		expect(accepted).toMatchObject({state: 'ESTAB', pid: server.child.pid, process: pythonName, isOwn: false});
		expect(Math.abs(accepted['bytesIn'] - size)).toBeLessThanOrEqual(size * 0.01);
		const sockets = answer['sockets'] as Row[];
		expect(sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, port, 0))).toMatchObject({state: 'LISTEN', pid: server.child.pid, process: pythonName});
		const dialed = sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, clientPort, port));
		expect(dialed).toMatchObject({state: 'ESTAB', pid: client.child.pid, process: pythonName});
		expect(Math.abs(dialed!['bytesOut'] - size)).toBeLessThanOrEqual(size * 0.01);
		expect(dialed!['rttMs']).toBeGreaterThan(0);
		expect(answer['missing']).toEqual([]);
		expect(netdash.badLines).toEqual([]);
	});

	test('socat\'s listener, UDP sockets over IPv4 and IPv6, and netdash\'s own listener are named', async () => {
		const port = await closedTcpPort();
		const socat = spawn('socat', ['-u', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, 'STDOUT'], {stdio: 'pipe'});
		children.push(socat);
		const udp4 = startPeer(['udp', '127.0.0.1']);
		const udp6 = startPeer(['udp', '::1']);
		const udp4Port = Number((await udp4.waitLine(/^port (\d+)/, 'port'))[1]);
		const udp6Port = Number((await udp6.waitLine(/^port (\d+)/, 'port'))[1]);
		const netdash = startNetdash();
		netdash.send({cmd: 'listen', port: 0});
		const own = (await netdash.waitFor((event) => event['type'] === 'listener-opened', 'listener-opened'))['port'] as number;

		const {answer} = await pollSockets(netdash, (sockets) => sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, port, 0)), 'socat\'s listener');
		const sockets = answer['sockets'] as Row[];
		expect(sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, port, 0))).toMatchObject({state: 'LISTEN', pid: socat.pid, process: 'socat', isOwn: false});
		expect(sockets.find((row) => row['protocol'] === 'udp' && isAt(row, udp4Port))).toMatchObject({family: 4, state: 'UNCONN', pid: udp4.child.pid, process: pythonName, bytesIn: null});
		expect(sockets.find((row) => row['protocol'] === 'udp' && isAt(row, udp6Port))).toMatchObject({family: 6, local: {address: '::1'}, pid: udp6.child.pid});
		expect(sockets.find((row) => row['protocol'] === 'tcp' && isAt(row, own, 0))).toMatchObject({state: 'LISTEN', pid: netdash.child.pid, process: 'netdash', isOwn: true});
	});

	test('a watch shows a connection opening, its rate while it sends, and the rate falling to 0 when it stops', async () => {
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		const netdash = startNetdash();
		netdash.send({cmd: 'watch-sockets', interval: 0.3, ref: 'w'});
		await netdash.waitFor((event) => event['type'] === 'system-sockets-changed', 'the first refresh');
		const client = startPeer(['dial', '127.0.0.1', String(port), '1000']);
		const clientPort = Number((await client.waitLine(/^connected (\d+)/, 'connected'))[1]);
		const rowsOf = (event: Row, key: 'opened' | 'changed') => (event[key] as Row[] | undefined)?.filter((row) => row['protocol'] === 'tcp' && isAt(row, port, clientPort)) ?? [];
		const opened = await netdash.waitFor((event) => event['type'] === 'system-sockets-changed' && rowsOf(event, 'opened').some((row) => row['bytesIn'] === 1000), 'the accepted connection opened with 1000 bytes in');
		expect(rowsOf(opened, 'opened')[0]).toMatchObject({pid: server.child.pid, rateIn: null});

		// When the client sends 600,000 more bytes between two refreshes.
		client.send('send 600000');
		const busy = await netdash.waitFor((event) => event['type'] === 'system-sockets-changed' && rowsOf(event, 'changed').some((row) => row['bytesIn'] === 601_000), 'the bytes counted');
		// Then each refresh's rate accounts for the bytes since the previous one (rounded to whole bytes per second),
		// however the kernel split them between refreshes.
		let previous = 1000;
		let rates = 0;
		for (const event of netdash.events.filter((event) => event['type'] === 'system-sockets-changed' && event['seq'] > opened['seq'] && event['seq'] <= busy['seq'])) {
			for (const row of rowsOf(event, 'changed')) {
				const delta = (row['bytesIn'] as number) - previous;
				expect(Math.abs((row['rateIn'] as number) * (event['intervalMs'] as number) / 1000 - delta)).toBeLessThanOrEqual(delta * 0.01 + 2);
				previous = row['bytesIn'] as number;
				rates += row['rateIn'] > 0 ? 1 : 0;
			}
		}

		expect(rates).toBeGreaterThanOrEqual(1);
		const quiet = await netdash.waitFor((event) => event['seq'] > busy['seq'] && rowsOf(event, 'changed').length > 0, 'the rate falling');
		expect(rowsOf(quiet, 'changed')[0]).toMatchObject({bytesIn: 601_000, rateIn: 0});

		netdash.send({cmd: 'unwatch-sockets', ref: 'u'});
		netdash.send({cmd: 'unwatch-sockets', ref: 'u2'});
		expect(await netdash.waitFor((event) => event['type'] === 'command-failed' && event['ref'] === 'u2', 'the second unwatch refused')).toMatchObject({code: 'NOT_WATCHING'});
		expect(netdash.events.some((event) => event['type'] === 'command-failed' && event['ref'] === 'u')).toBe(false);
		// With no watch and no socket, the end of stdin ends the session.
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(0);
	});

	test('without ss the sockets are still listed, with counters unknown and the reason given', async () => {
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		// The CLI runs by absolute path; an empty PATH leaves ss out of reach.
		const netdash = startNetdash({env: {PATH: '/nonexistent'}});
		const {row, answer} = await pollSockets(netdash, (sockets) => sockets.find((socket) => isAt(socket, port, 0)), 'the listener');
		expect(row).toMatchObject({pid: server.child.pid, bytesIn: null, bytesOut: null, rttMs: null});
		expect(answer['missing']).toEqual([expect.stringMatching(/ss.*not installed/)]);
	});
});

describe('another user\'s sockets when netdash runs unprivileged', () => {
	const isRoot = process.getuid?.() === 0;
	skipEachIf(whyNoPython ?? missingTool('setpriv', 'util-linux') ?? (isRoot ? undefined : 'not root: the test runs netdash as nobody beside a root-owned socket (CI runs as root)'));

	test('a root-owned listener shows ? and why, netdash\'s own socket still shows its process', async () => {
		const server = startPeer(['serve', '127.0.0.1']);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		const netdash = startNetdash({prefix: ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups']});
		netdash.send({cmd: 'listen', port: 0});
		const own = (await netdash.waitFor((event) => event['type'] === 'listener-opened', 'listener-opened'))['port'] as number;

		const {row, answer} = await pollSockets(netdash, (sockets) => sockets.find((socket) => socket['protocol'] === 'tcp' && isAt(socket, port, 0)), 'the root listener');
		expect(row).toMatchObject({pid: null, process: '?', uid: 0, state: 'LISTEN'});
		expect(row['whyUnknown']).toMatch(/uid 0.*readable only by root/);
		expect(answer['missing']).toContainEqual(expect.stringMatching(/other users' processes/));
		const mine = (answer['sockets'] as Row[]).find((socket) => socket['protocol'] === 'tcp' && isAt(socket, own, 0));
		expect(mine).toMatchObject({pid: netdash.child.pid, isOwn: true});
		expect(mine!['uid']).not.toBe(0);
	});
});

describe('a connection\'s states as the test drives them', () => {
	const whyNot = whyNoPython ?? missingTool('nft', 'nftables') ?? whyNoNetns();
	skipEachIf(whyNot);

	test('watch-sockets shows SYN-SENT, then ESTAB, then FIN-WAIT, then TIME-WAIT for one connection', async () => {
		// Given a namespace of our own, where a SYN to the listener is dropped until we say so.
		const ns = `nd-sys-${process.pid}`;
		execFileSync('ip', ['netns', 'add', ns]);
		onTestFinished(() => {
			execFileSync('ip', ['netns', 'del', ns]);
		});
		execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
		const inNs = ['ip', 'netns', 'exec', ns];
		const server = startPeer(['serve', '127.0.0.1'], inNs);
		const port = Number((await server.waitLine(/^port (\d+)/, 'port'))[1]);
		execFileSync('ip', ['netns', 'exec', ns, 'nft', `add table inet nd; add chain inet nd out { type filter hook output priority 0; }; add rule inet nd out tcp dport ${port} drop`]);
		const netdash = startNetdash({prefix: inNs});
		netdash.send({cmd: 'watch-sockets', interval: 0.2, ref: 'w'});

		const states: string[] = [];
		let clientPort = 0;
		const note = (event: Row) => {
			for (const row of [...(event['opened'] as Row[]), ...(event['changed'] as Row[])]) {
				if (row['protocol'] === 'tcp' && row['remote'].port === port && (clientPort === 0 || row['local'].port === clientPort) && states.at(-1) !== row['state']) {
					states.push(row['state'] as string);
				}
			}
		};

		let seen = 0;
		const waitState = async (pattern: RegExp) => netdash.waitFor(() => {
			for (const event of netdash.events.slice(seen)) {
				seen++;
				if (event['type'] === 'system-sockets-changed') {
					note(event);
				}
			}

			return states.some((state) => pattern.test(state));
		}, `a state matching ${pattern} (seen ${states.join(' → ')})`, 15_000);

		// When a client dials: its SYN is dropped, so it stays in SYN-SENT.
		const client = startPeer(['dial', '127.0.0.1', String(port), '1000'], inNs);
		await waitState(/^SYN-SENT$/);
		// Then the drop ends: the kernel's next SYN retransmission gets through.
		execFileSync('ip', ['netns', 'exec', ns, 'nft', 'delete table inet nd']);
		clientPort = Number((await client.waitLine(/^connected (\d+)/, 'connected'))[1]);
		await waitState(/^ESTAB$/);
		// The client closes first (FIN-WAIT), then the server: the client's side waits in TIME-WAIT.
		client.send('close');
		await waitState(/^FIN-WAIT-[12]$/);
		await server.waitLine(/^eof 1000/, 'eof');
		server.send('close');
		const event = await waitState(/^TIME-WAIT$/);
		expect(event['ref']).toBe('w');

		const order = ['SYN-SENT', 'ESTAB', 'FIN-WAIT', 'TIME-WAIT'].map((state) => states.findIndex((seenState) => seenState.startsWith(state)));
		expect(order.every((index) => index >= 0), states.join(' → ')).toBe(true);
		expect([...order].sort((a, b) => a - b)).toEqual(order);
		netdash.send({cmd: 'unwatch-sockets'});
		netdash.child.stdin.end();
		expect(await netdash.exited).toBe(0);
	});
});
