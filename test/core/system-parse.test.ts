import fc from 'fast-check';
import {describe, expect, test} from 'vitest';
import {diffSockets, newSocketTable} from '../../source/core/system/diff.js';
import {joinSockets} from '../../source/core/system/join.js';
import {hidepidOf, socketInodeOf, type ProcessScan} from '../../source/core/system/proc-fd.js';
import {decodeAddress, parseProcNet} from '../../source/core/system/proc-net.js';
import {parseSsInfo} from '../../source/core/system/ss-info.js';
import type {SystemSocket} from '../../source/core/system/types.js';

// Captured from this kernel (6.x), trimmed to a few rows; one line of garbage added.
const tcp4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:8BC9 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 974428 1 000000000c116e82 100 0 0 10 0
   1: 0100007F:A6AF 0100007F:B866 01 0000A000:00000B5B 00:00000000 00000000  1000        0 974431 1 000000003891932b 20 4 30 10 -1
   2: 0100007F:8638 0100007F:B237 06 00000000:00000000 03:00000661 00000000     0        0 0 3 0000000031ae8ad2
   garbage that a future kernel might print
`;
const tcp6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5001 1 0000000031ae8ad2 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:0050 0000000000000000FFFF00000200007F:C350 02 00000001:00000000 01:00000300 00000000    65534        0 5002 1 0000000031ae8ad2
   2: 000080FE00000000FF0811A2FE6E3412:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5003 1 0000000031ae8ad2
`;
const udp4 = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  581: 3500007F:0035 00000000:0000 07 00000000:00000300 00:00000000 00000000   101        0 6001 2 0000000000000000 0
`;

const ssText = `LISTEN    0      511    127.0.0.1:34309   0.0.0.0:*     ino:974428 sk:102f cgroup:/ <->
\t bbr cwnd:10                                                                          
ESTAB 0      0      127.0.0.1:42671 127.0.0.1:47206 uid:1000 ino:974431 sk:1 cgroup:/ <->
\t bbr wscale:10,10 rto:204 rtt:0.25/0.125 ato:40 mss:45568 cwnd:11 bytes_sent:2048 bytes_acked:2047 bytes_received:2907 segs_out:2 segs_in:4 minrtt:0.003 snd_wnd:91136               
TIME-WAIT 0      0      127.0.0.1:34360 127.0.0.1:45623 timer:(timewait,43sec,0) ino:0 sk:1033
\t                                                                                      
ESTAB 0      0      [::1]:8080 [::1]:50000 ino:5009 sk:2 <->
\t cubic wscale:7,7 rto:201 rtt:1.5/0.75 bytes_received:12 segs_in:3
`;

function row(overrides: Partial<SystemSocket>): SystemSocket {
	return {
		protocol: 'tcp', family: 4, local: {address: '127.0.0.1', port: 1000}, remote: {address: '127.0.0.1', port: 2000}, state: 'ESTAB',
		recvQueue: 0, sendQueue: 0, uid: 0, inode: 7, pid: 10, process: 'python3', bytesIn: 0, bytesOut: 0, rttMs: 0.1, isOwn: false, ...overrides,
	};
}

function scanOf(overrides: Partial<ProcessScan> = {}): ProcessScan {
	return {owners: new Map(), unreadable: 0, unreadableUids: new Set(), hidepid: undefined, ...overrides};
}

describe('reading the kernel socket tables', () => {
	test('IPv4 rows show their addresses, ports, state names and queues as ss does', () => {
		const sockets = parseProcNet(tcp4, 'tcp', 4);
		expect(sockets).toHaveLength(3);
		expect(sockets[0]).toEqual({protocol: 'tcp', family: 4, local: {address: '127.0.0.1', port: 35_785}, remote: {address: '0.0.0.0', port: 0}, state: 'LISTEN', recvQueue: 2, sendQueue: 0, uid: 0, inode: 974_428});
		expect(sockets[1]).toMatchObject({state: 'ESTAB', remote: {address: '127.0.0.1', port: 47_206}, sendQueue: 0xa0_00, recvQueue: 0xb5_b, uid: 1000});
		expect(sockets[2]).toMatchObject({state: 'TIME-WAIT', inode: 0});
	});

	test('IPv6 rows read loopback, IPv4-mapped and link-local addresses in RFC 5952 form', () => {
		const sockets = parseProcNet(tcp6, 'tcp', 6);
		expect(sockets.map((socket) => socket.local.address)).toEqual(['::1', '::ffff:127.0.0.1', 'fe80::a211:8ff:1234:6efe']);
		expect(sockets[0]!.remote.address).toBe('::');
		expect(sockets[1]).toMatchObject({state: 'SYN-SENT', remote: {address: '::ffff:127.0.0.2', port: 50_000}, uid: 65_534, sendQueue: 1});
	});

	test('an unconnected UDP socket shows UNCONN and its receive queue', () => {
		expect(parseProcNet(udp4, 'udp', 4)).toEqual([{protocol: 'udp', family: 4, local: {address: '127.0.0.53', port: 53}, remote: {address: '0.0.0.0', port: 0}, state: 'UNCONN', recvQueue: 0x300, sendQueue: 0, uid: 101, inode: 6001}]);
	});

	test('a zero run in the middle of an address is the one that is shortened', () => {
		expect(decodeAddress('B80D01200000000000000100' + '01000000')).toBe('2001:db8::1:0:0:1');
		expect(decodeAddress('B80D0120000000000000000001000000')).toBe('2001:db8::1');
		expect(decodeAddress('00000000000000000000000000000000')).toBe('::');
	});
});

describe('reading the socket diagnostics from ss', () => {
	test('TCP sockets get bytes received, bytes acked and rtt by inode; TIME-WAIT rows are left out', () => {
		const counters = parseSsInfo(ssText);
		expect([...counters.keys()]).toEqual([974_428, 974_431, 5009]);
		expect(counters.get(974_431)).toEqual({bytesIn: 2907, bytesOut: 2047, rttMs: 0.25});
		expect(counters.get(974_428)).toEqual({bytesIn: 0, bytesOut: 0, rttMs: null});
		expect(counters.get(5009)).toEqual({bytesIn: 12, bytesOut: 0, rttMs: 1.5});
	});
});

describe('naming the process of each socket', () => {
	test('a socket link names its inode; other files name none', () => {
		expect(socketInodeOf('socket:[974431]')).toBe(974_431);
		expect(socketInodeOf('pipe:[974431]')).toBeUndefined();
		expect(socketInodeOf('/tmp/socket:[1]')).toBeUndefined();
	});

	test('hidepid on the /proc mount is noticed', () => {
		const line = (options: string) => `22 26 0:20 / /proc rw,nosuid - proc proc ${options}`;
		expect(hidepidOf(line('rw,hidepid=invisible'))).toBe('hidepid=invisible');
		expect(hidepidOf(line('rw'))).toBeUndefined();
	});

	test('a joined socket shows its process and counters; another user\'s shows ? and says why', () => {
		const kernel = parseProcNet(tcp4, 'tcp', 4);
		const scan = scanOf({owners: new Map([[974_428, {pid: 42, process: 'python3'}]]), unreadable: 3, unreadableUids: new Set([1000])});
		const [listener, other, timeWait] = joinSockets(kernel, scan, parseSsInfo(ssText), {pid: 42, uid: 65_534});
		expect(listener).toMatchObject({pid: 42, process: 'python3', isOwn: true, bytesIn: 0});
		expect(listener!.whyUnknown).toBeUndefined();
		expect(other).toMatchObject({pid: null, process: '?', bytesIn: 2907, bytesOut: 2047, rttMs: 0.25, isOwn: false});
		expect(other!.whyUnknown).toMatch(/uid 1000.*readable only by root/);
		expect(timeWait!.whyUnknown).toMatch(/TIME-WAIT/);
		expect(timeWait!.bytesIn).toBeNull();
	});

	test('without ss every counter is null, not zero', () => {
		const [listener] = joinSockets(parseProcNet(tcp4, 'tcp', 4), scanOf(), undefined, {pid: 1, uid: 0});
		expect(listener).toMatchObject({bytesIn: null, bytesOut: null, rttMs: null});
	});
});

describe('changes between two refreshes', () => {
	test('opened, changed with a rate over the interval, and closed sockets are told apart', () => {
		const first = diffSockets(newSocketTable(), [row({}), row({local: {address: '127.0.0.1', port: 1001}})], 0);
		expect(first.opened).toHaveLength(2);
		expect(first.opened[0]!.rateIn).toBeNull();
		const second = diffSockets(first.table, [row({bytesIn: 5000, state: 'ESTAB'}), row({local: {address: '127.0.0.1', port: 1002}})], 500);
		expect(second.opened.map((socket) => socket.local.port)).toEqual([1002]);
		expect(second.closed.map((socket) => socket.local.port)).toEqual([1001]);
		expect(second.changed).toHaveLength(1);
		expect(second.changed[0]).toMatchObject({bytesIn: 5000, rateIn: 10_000, rateOut: 0});
	});

	test('an idle socket is not a change, a socket going quiet is, and ESTAB to TIME-WAIT is the same socket', () => {
		const first = diffSockets(newSocketTable(), [row({})], 0);
		expect(diffSockets(first.table, [row({})], 1000).changed).toHaveLength(0);
		const busy = diffSockets(first.table, [row({bytesIn: 100})], 1000);
		const quiet = diffSockets(busy.table, [row({bytesIn: 100})], 1000);
		expect(quiet.changed[0]).toMatchObject({rateIn: 0});
		const closing = diffSockets(quiet.table, [row({state: 'TIME-WAIT', inode: 0, pid: null, bytesIn: null})], 1000);
		expect(closing.opened).toHaveLength(0);
		expect(closing.changed[0]).toMatchObject({state: 'TIME-WAIT', rateIn: null});
	});

	test('rows handed out again, at shifted places, diff as a plain model of the rules says (the identity shortcuts change no outcome)', () => {
		// A pool of sockets, each with a few versions (bytes, state); each refresh lists some of them, in some order, reusing objects.
		const pool = Array.from({length: 6}, (_, index) => [0, 100, 100, 250].map((bytesIn, version) => row({local: {address: '127.0.0.1', port: 2000 + index}, bytesIn, state: version === 3 ? 'FIN-WAIT-1' : 'ESTAB'})));
		const refresh = fc.array(fc.tuple(fc.nat({max: 5}), fc.nat({max: 3})), {maxLength: 8}).map((picks) => {
			const seen = new Set<number>();
			return picks.filter(([socket]) => !seen.has(socket) && seen.add(socket)).map(([socket, version]) => pool[socket]![version]!);
		});
		type Seen = {state: string; bytesIn: number; rateIn: number | null};
		fc.assert(fc.property(fc.array(refresh, {minLength: 1, maxLength: 6}), (refreshes) => {
			let table = newSocketTable();
			// The model: by port, what was last shown; a row is new when it differs or its rate does.
			let model = new Map<number, Seen>();
			for (const sockets of refreshes) {
				const changes = diffSockets(table, sockets, 1000);
				const next = new Map<number, Seen>();
				const expected = {opened: [] as number[], changed: [] as Array<[number, string, number, number | null]>};
				for (const socket of sockets) {
					const port = socket.local.port;
					const before = model.get(port);
					const isSame = before !== undefined && before.state === socket.state && before.bytesIn === socket.bytesIn;
					if (isSame && (before.rateIn ?? 0) === 0) {
						next.set(port, before);
						continue;
					}

					const rateIn = before === undefined || socket.bytesIn! < before.bytesIn ? null : socket.bytesIn! - before.bytesIn;
					next.set(port, {state: socket.state, bytesIn: socket.bytesIn!, rateIn});
					if (before === undefined) {
						expected.opened.push(port);
					} else if (!isSame || (rateIn ?? 0) !== (before.rateIn ?? 0)) {
						expected.changed.push([port, socket.state, socket.bytesIn!, rateIn]);
					}
				}

				expect(changes.opened.map((socket) => socket.local.port)).toEqual(expected.opened);
				expect(changes.changed.map((socket) => [socket.local.port, socket.state, socket.bytesIn, socket.rateIn])).toEqual(expected.changed);
				expect(changes.closed.map((socket) => socket.local.port).sort()).toEqual([...model.keys()].filter((port) => !next.has(port)).sort());
				expect(changes.table.size).toBe(next.size);
				table = changes.table;
				model = next;
			}
		}), {numRuns: 2000});
	});
});
