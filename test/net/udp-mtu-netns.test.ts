import {execFileSync} from 'node:child_process';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';

/**
 * The fragmentation warning follows the route's MTU. Two namespaces made
 * here (named with the pid) joined by a veth pair with MTU 1400: netdash in
 * the first sends to the second; nothing leaves them.
 */

const nsA = `ndmtu-${process.pid}-a`;
const nsB = `ndmtu-${process.pid}-b`;
const vethA = `nm${process.pid}a`;
const vethB = `nm${process.pid}b`;
const subnet = `10.79.${process.pid % 250}`;
const hostA = `${subnet}.1`;
const peer = `${subnet}.2`;

function run(command: string, ...args: string[]): string {
	return execFileSync(command, args, {encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

function quietly(action: () => unknown): void {
	try {
		action();
	} catch {
		// Cleanup of something that may not exist.
	}
}

/** Why namespaces cannot be made here, or undefined when they can. */
function whyNotNetns(): string | undefined {
	if (process.getuid?.() !== 0) {
		return 'not root: network namespaces need CAP_SYS_ADMIN';
	}

	const probe = `ndmtu-${process.pid}-probe`;
	try {
		run('ip', 'netns', 'add', probe);
		run('ip', 'netns', 'del', probe);
		return undefined;
	} catch (error) {
		return `ip netns add failed: ${error instanceof Error ? error.message.split('\n', 1)[0] : String(error)}`;
	}
}

const skipReason = whyNotNetns();
if (skipReason) {
	console.warn(`route MTU test skipped: ${skipReason}`);
}

function removeHosts(): void {
	quietly(() => run('ip', 'netns', 'del', nsA));
	quietly(() => run('ip', 'netns', 'del', nsB));
}

let netdash: JsonChild | undefined;

describe.skipIf(skipReason !== undefined)('fragmentation warning on a real route', () => {
	beforeAll(() => {
		removeHosts();
		run('ip', 'netns', 'add', nsA);
		run('ip', 'netns', 'add', nsB);
		run('ip', 'link', 'add', vethA, 'netns', nsA, 'mtu', '1400', 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB, 'mtu', '1400');
		for (const ns of [nsA, nsB]) {
			run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
		}

		run('ip', '-n', nsA, 'addr', 'add', `${hostA}/24`, 'dev', vethA);
		run('ip', '-n', nsB, 'addr', 'add', `${peer}/24`, 'dev', vethB);
		run('ip', '-n', nsA, 'link', 'set', vethA, 'up');
		run('ip', '-n', nsB, 'link', 'set', vethB, 'up');
	});

	afterAll(() => {
		netdash?.child.kill('SIGKILL');
		removeHosts();
	});

	it('a datagram over the route MTU less headers (1400 − 28 = 1372) is warned about with that MTU; on loopback (65,536) 1473 bytes are not', async () => {
		netdash = spawnJson(['--json'], {prefix: ['ip', 'netns', 'exec', nsA]});
		netdash.send({cmd: 'udp', host: '0.0.0.0', port: 0, ref: 'bind'});
		const bound = await netdash.waitFor((event) => event.type === 'udp-bound' && event.ref === 'bind', 'udp-bound');
		const send = (host: string, bytes: number, ref: string) => {
			netdash!.send({cmd: 'sendto', socket: bound.socket, host, port: 9, hex: '00'.repeat(bytes), ref});
		};

		send(peer, 1372, 'fits');
		send(peer, 1373, 'fragments');
		send('127.0.0.1', 1473, 'loopback');
		const fits = await netdash.waitFor((event) => event.type === 'datagram-sent' && event.ref === 'fits', 'datagram-sent fits');
		const fragments = await netdash.waitFor((event) => event.type === 'datagram-sent' && event.ref === 'fragments', 'datagram-sent fragments');
		const loopback = await netdash.waitFor((event) => event.type === 'datagram-sent' && event.ref === 'loopback', 'datagram-sent loopback');
		expect(fits['warning']).toBeUndefined();
		expect(fragments['warning']).toBe("1373 bytes will fragment (over 1372 on the route's 1400-byte MTU); a lost fragment loses all of it");
		expect(loopback['warning']).toBeUndefined();
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
	});
});
