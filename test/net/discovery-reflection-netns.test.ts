import {execFileSync, spawn} from 'node:child_process';
import process from 'node:process';
import readline from 'node:readline';
import {fileURLToPath} from 'node:url';
import {afterEach, describe, expect, it} from 'vitest';
import {decode, encode, randomInstanceId} from '../../source/core/discovery/codec.js';
import {spawnJson, type JsonChild} from '../helpers/cli.js';

/**
 * Reflection through discovery, on a real subnet of network namespaces:
 * three netdash hosts and a hostile one on a bridge. The hostile host owns
 * the subnet's broadcast address (as a /32, so it can bind it) and an
 * address from no subnet of ours (TEST-NET 192.0.2.7), and sends a probe
 * from each. Answering the first would broadcast the reply to the whole
 * subnet (N instances: N replies, N² deliveries); answering the second
 * reflects traffic to a host that is not on our subnet. Needs root (CI runs
 * as root); skipped with a printed reason otherwise.
 */

const PORT = 47_474;
const prefix = `ndr-${process.pid}`;
const subnet = `10.78.${(process.pid % 250) + 1}`;
const hosts = ['a', 'b', 'c'] as const;
type Host = typeof hosts[number];
const addressOf = (host: Host) => `${subnet}.${hosts.indexOf(host) + 1}`;
const namespaceOf = (name: string) => `${prefix}-${name}`;
const broadcast = `${subnet}.255`;
const offSubnet = '192.0.2.7';
const proberPath = fileURLToPath(new URL('../fixtures/spoof-prober.mjs', import.meta.url));

function ip(...args: string[]): void {
	execFileSync('ip', args, {stdio: 'pipe'});
}

function whyNot(): string | undefined {
	if (process.getuid?.() !== 0) {
		return 'not root: network namespaces need root (CI runs as root)';
	}

	try {
		ip('netns', 'add', namespaceOf('probe'));
		ip('netns', 'del', namespaceOf('probe'));
		return undefined;
	} catch (error) {
		return `ip netns failed: ${(error as Error).message.split('\n', 1)[0]}`;
	}
}

const reason = whyNot();
if (reason) {
	console.warn(`skipping the discovery reflection test: ${reason}`);
}

let madeNamespaces: string[] = [];
const children: Array<{kill: () => void; exited: Promise<unknown>}> = [];

/** A bridge, three netdash hosts with `brd +` (so x.y.z.255 is their broadcast), and the hostile host `x`. */
function makeSubnet(): void {
	const bridge = namespaceOf('br');
	for (const name of [bridge, ...[...hosts, 'x'].map((host) => namespaceOf(host))]) {
		ip('netns', 'add', name);
		madeNamespaces.push(name);
	}

	ip('-n', bridge, 'link', 'add', 'br0', 'type', 'bridge');
	ip('-n', bridge, 'link', 'set', 'br0', 'up');
	for (const host of [...hosts, 'x']) {
		const namespace = namespaceOf(host);
		ip('-n', bridge, 'link', 'add', `v${host}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace);
		ip('-n', bridge, 'link', 'set', `v${host}`, 'master', 'br0');
		ip('-n', bridge, 'link', 'set', `v${host}`, 'up');
		ip('-n', namespace, 'link', 'set', 'eth0', 'up');
		ip('-n', namespace, 'link', 'set', 'lo', 'up');
	}

	for (const host of hosts) {
		ip('-n', namespaceOf(host), 'addr', 'add', `${addressOf(host)}/24`, 'brd', '+', 'dev', 'eth0');
	}

	// The hostile host holds the broadcast address and an off-subnet one as its own, so it can send from them.
	const x = namespaceOf('x');
	ip('-n', x, 'addr', 'add', `${broadcast}/32`, 'dev', 'eth0');
	ip('-n', x, 'addr', 'add', `${offSubnet}/32`, 'dev', 'eth0');
	ip('-n', x, 'route', 'add', `${subnet}.0/24`, 'dev', 'eth0', 'src', broadcast);
	// Host a can reach the off-subnet address (on-link), so only netdash's own check keeps it from answering.
	ip('-n', namespaceOf('a'), 'route', 'add', `${offSubnet}/32`, 'dev', 'eth0');
}

function removeNamespaces(): void {
	for (const name of madeNamespaces) {
		try {
			ip('netns', 'del', name);
		} catch {
			// Already gone.
		}
	}

	madeNamespaces = [];
}

type Heard = {socket?: string; from?: string; hex?: string; ready?: boolean; sent?: string; error?: string | null};

/** The hostile prober in namespace x; `lines` fills as it prints. */
function startProber(target: string, bytes: Buffer, sources: string[]): {lines: Heard[]; waitFor: (match: (line: Heard) => boolean, what: string) => Promise<Heard>} {
	const child = spawn('ip', ['netns', 'exec', namespaceOf('x'), process.execPath, proberPath, String(PORT), target, bytes.toString('hex'), ...sources], {stdio: 'pipe'});
	const exited = new Promise((resolve) => {
		child.on('exit', resolve);
	});
	children.push({kill: () => child.kill('SIGKILL'), exited});
	const lines: Heard[] = [];
	let stderr = '';
	child.stderr.on('data', (chunk: Buffer) => {
		stderr += chunk.toString();
	});
	readline.createInterface({input: child.stdout}).on('line', (line) => {
		lines.push(JSON.parse(line) as Heard);
	});
	return {
		lines,
		async waitFor(match, what) {
			const deadline = Date.now() + 10_000;
			while (!lines.some(match)) {
				if (Date.now() > deadline) {
					throw new Error(`prober: no ${what} within 10 s; stderr ${stderr}; lines ${JSON.stringify(lines)}`);
				}

				await new Promise((resolve) => {
					setTimeout(resolve, 20);
				});
			}

			return lines.find(match)!;
		},
	};
}

function startNetdash(host: Host): JsonChild {
	const child = spawnJson(['--json', '--discover', '--discover-interval', '0.5', '--name', `host-${host}`], {prefix: ['ip', 'netns', 'exec', namespaceOf(host)]});
	children.push({kill: () => child.child.kill('SIGKILL'), exited: child.exited});
	return child;
}

afterEach(async () => {
	for (const child of children) {
		child.kill();
	}

	await Promise.all(children.splice(0).map(async (child) => child.exited));
	removeNamespaces();
});

describe('discovery never reflects a forged probe', () => {
	it.skipIf(reason !== undefined)('a probe forged from the subnet\'s broadcast address or from off the subnet gets no reply, and nobody lists a peer there', async () => {
		makeSubnet();
		const all = hosts.map((host) => startNetdash(host));
		const ids = new Map<Host, string>();
		for (const [index, child] of all.entries()) {
			const started = await child.waitFor((event) => event.type === 'discovery-started', 'discovery-started');
			ids.set(hosts[index]!, started.instanceId as string);
		}

		for (const [index, child] of all.entries()) {
			for (const other of hosts.filter((host) => host !== hosts[index])) {
				await child.waitFor((event) => event.type === 'peer-discovered' && event.instanceId === ids.get(other), `peer host-${other}`);
			}
		}

		const [a, b, c] = all as [JsonChild, JsonChild, JsonChild];
		// Given a 21-byte probe (the smallest) sent to host a from the broadcast address and from 192.0.2.7
		const probe = encode({kind: 'probe', instanceId: randomInstanceId(), requestId: 0x5EED, name: '', ports: []});
		const prober = startProber(addressOf('a'), probe, [broadcast, offSubnet]);
		await prober.waitFor((line) => line.sent === broadcast && line.error === null, 'probe sent from the broadcast address');
		await prober.waitFor((line) => line.sent === offSubnet && line.error === null, 'probe sent from off the subnet');

		// When host a has handled both (the broadcast source dropped unread, the other heard as a peer)
		const dropped = await a.waitFor((event) => event.type === 'packet-dropped' && event.reason === 'bad-source' && event.from.address === broadcast, 'the forged broadcast source dropped');
		await a.waitFor((event) => (event.type === 'peer-discovered' || event.type === 'peer-updated') && event.address === offSubnet, 'the off-subnet prober heard');
		// and then sends a probe of its own to the subnet: it reaches the hostile host after any reply host a sent before it
		const before = a.events.length;
		a.send({cmd: 'probe'});
		const ownProbe = await a.waitFor((event) => event.type === 'probe-sent' && a.events.indexOf(event) >= before, 'probe-sent');
		await prober.waitFor((line) => line.from === addressOf('a') && decodeKind(line.hex) === 'probe' && decodeRequestId(line.hex) === ownProbe.requestId, 'host a\'s own broadcast probe');

		// Then the hostile host got no reply on either address
		const replies = prober.lines.filter((line) => line.hex !== undefined && decodeKind(line.hex) === 'reply');
		console.log(`forged probes: host a dropped the broadcast source (${JSON.stringify(dropped)}); the hostile host heard ${prober.lines.filter((line) => line.hex).length} datagrams, ${replies.length} of them replies`);
		expect(replies).toEqual([]);
		// And no host lists a peer at the broadcast address, nor saw a reply it never asked for
		for (const child of all) {
			expect(child.events.filter((event) => event.type?.startsWith('peer-') && event.address === broadcast)).toEqual([]);
		}

		for (const child of [b, c]) {
			expect(child.events.filter((event) => event.type === 'packet-dropped' && event.reason === 'unknown-request')).toEqual([]);
		}
	});
});

function decodeKind(hex: string | undefined): string | undefined {
	const result = hex === undefined ? undefined : decode(Buffer.from(hex, 'hex'));
	return result?.ok ? result.packet.kind : undefined;
}

function decodeRequestId(hex: string | undefined): number | undefined {
	const result = hex === undefined ? undefined : decode(Buffer.from(hex, 'hex'));
	return result?.ok ? result.packet.requestId : undefined;
}
