import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, test} from 'vitest';
import {createSystemSocketReader} from '../../source/core/system/read.js';

/*
 * The reading glue over a /proc tree the test writes: the same files the
 * kernel has (socket tables, fd links, comm), so what netdash says for each
 * source, present or missing, can be checked exactly.
 */

const header = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const listener = (slot: number, port: string, inode: number) => `   ${slot}: 0100007F:${port} 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 ${inode} 1 0000000000000000 100 0 0 10 0\n`;

let root = '';
afterEach(() => {
	rmSync(root, {recursive: true, force: true});
});

function fakeProc(): string {
	root = mkdtempSync(path.join(os.tmpdir(), 'nd-proc-'));
	mkdirSync(path.join(root, 'net'));
	for (const table of ['tcp6', 'udp', 'udp6']) {
		writeFileSync(path.join(root, 'net', table), header);
	}

	return root;
}

function addProcess(pid: number, name: string, inodes: number[]): void {
	mkdirSync(path.join(root, String(pid), 'fd'), {recursive: true});
	writeFileSync(path.join(root, String(pid), 'comm'), `${name}\n`);
	for (const [fd, inode] of inodes.entries()) {
		symlinkSync(`socket:[${inode}]`, path.join(root, String(pid), 'fd', String(fd + 3)));
	}
}

describe('reading the machine\'s sockets from /proc', () => {
	test('each socket gets the process whose fd links to it, and a socket opened later is found on the next refresh', async () => {
		fakeProc();
		writeFileSync(path.join(root, 'net', 'tcp'), header + listener(0, '1F90', 5001));
		addProcess(100, 'web', [5001]);
		const read = createSystemSocketReader({procRoot: root, ssCommand: '/nonexistent/ss', platform: 'linux'});
		const first = await read();
		expect(first.sockets.map((socket) => [socket.local.port, socket.pid, socket.process])).toEqual([[8080, 100, 'web']]);

		// When another program opens a socket between two refreshes.
		writeFileSync(path.join(root, 'net', 'tcp'), header + listener(0, '1F90', 5001) + listener(1, '1F91', 5002));
		addProcess(200, 'db', [5002]);
		const second = await read();
		expect(second.sockets.map((socket) => [socket.local.port, socket.pid, socket.process])).toEqual([[8080, 100, 'web'], [8081, 200, 'db']]);
	});

	test('an fd number reused by a new socket after its socket closed names the new socket\'s process on the next refresh, without reading the other links again', async () => {
		fakeProc();
		writeFileSync(path.join(root, 'net', 'tcp'), header + listener(0, '1F90', 5001) + listener(1, '1F91', 5002));
		addProcess(100, 'web', [5001, 5002]);
		const read = createSystemSocketReader({procRoot: root, ssCommand: '/nonexistent/ss', platform: 'linux'});
		expect((await read()).sockets.map((socket) => [socket.inode, socket.pid])).toEqual([[5001, 100], [5002, 100]]);

		// When socket 5002 closes and the same process's fd 4 now links to a new socket 5003.
		rmSync(path.join(root, '100', 'fd', '4'));
		symlinkSync('socket:[5003]', path.join(root, '100', 'fd', '4'));
		// (fd 3 still links to 5001: turning it into a file shows whether known links are read again)
		rmSync(path.join(root, '100', 'fd', '3'));
		symlinkSync('/dev/null', path.join(root, '100', 'fd', '3'));
		writeFileSync(path.join(root, 'net', 'tcp'), header + listener(0, '1F90', 5001) + listener(1, '1F92', 5003));
		const second = await read();
		expect(second.sockets.map((socket) => [socket.inode, socket.pid, socket.process])).toEqual([[5001, 100, 'web'], [5003, 100, 'web']]);
	});

	test('a missing ss, a missing table and another OS are said, not crashed on', async () => {
		fakeProc();
		rmSync(path.join(root, 'net', 'tcp6'));
		writeFileSync(path.join(root, 'net', 'tcp'), header + listener(0, '1F90', 5001));
		const reading = await createSystemSocketReader({procRoot: root, ssCommand: '/nonexistent/ss', platform: 'linux'})();
		expect(reading.missing).toEqual(['TCP over IPv6: /proc/net/tcp6 cannot be read (ENOENT)', 'TCP bytes and rtt: `ss` (iproute2) is not installed']);
		expect(reading.sockets[0]).toMatchObject({pid: null, process: '?', bytesIn: null});
		const other = await createSystemSocketReader({platform: 'darwin'})();
		expect(other.sockets).toEqual([]);
		expect(other.missing[0]).toMatch(/Linux only/);
	});
});
