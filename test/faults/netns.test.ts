import {execFileSync, spawn, type ChildProcess} from 'node:child_process';
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {until} from '../helpers/recorder.js';
import {missingTool, skipEachIf, whyNoNetns} from '../helpers/requires.js';

/*
 * Two hosts made of network namespaces joined by a veth pair:
 *
 *   ndf-PID-a (netdash)  vethA 10.78.N.1 ──── vethB 10.78.N.2  ndf-PID-b (the peer host)
 *
 * Host a routes only 10.78.N.0/25 (the address has `noprefixroute`), so
 * 10.78.N.99 is on the link with nobody behind it (ARP fails) and
 * 10.78.N.200 has no route at all. Nothing here ever leaves these namespaces.
 */
const nsA = `ndf-${process.pid}-a`;
const nsB = `ndf-${process.pid}-b`;
const vethA = `nd${process.pid}a`;
const vethB = `nd${process.pid}b`;
const subnet = `10.78.${process.pid % 250}`;
const hostA = `${subnet}.1`;
const peer = `${subnet}.2`;
const emptyOnLink = `${subnet}.99`;
const noRoute = `${subnet}.200`;

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

/** Why the file cannot run here, or undefined when it can. */
const skipReason = whyNoNetns();
/** Why the dropped-SYN case cannot run here (it needs nft), or undefined. */
const noNft = missingTool('nft', 'nftables');

function removeHosts(): void {
	quietly(() => run('ip', 'netns', 'del', nsA));
	quietly(() => run('ip', 'netns', 'del', nsB));
}

function makeHosts(): void {
	removeHosts(); // A leftover of a crashed run with the same pid.
	run('ip', 'netns', 'add', nsA);
	run('ip', 'netns', 'add', nsB);
	run('ip', 'link', 'add', vethA, 'netns', nsA, 'type', 'veth', 'peer', 'name', vethB, 'netns', nsB);
	for (const ns of [nsA, nsB]) {
		run('ip', '-n', ns, 'link', 'set', 'lo', 'up');
	}

	run('ip', '-n', nsA, 'addr', 'add', `${hostA}/24`, 'dev', vethA, 'noprefixroute');
	run('ip', '-n', nsB, 'addr', 'add', `${peer}/24`, 'dev', vethB);
	run('ip', '-n', nsA, 'link', 'set', vethA, 'up');
	run('ip', '-n', nsB, 'link', 'set', vethB, 'up');
	run('ip', '-n', nsA, 'route', 'add', `${subnet}.0/25`, 'dev', vethA);
	// A small send buffer on host a: the stall case then queues in netdash after ~256 KiB, not after 4 MiB.
	run('ip', 'netns', 'exec', nsA, 'sysctl', '-q', '-w', 'net.ipv4.tcp_wmem=4096 16384 262144');
}

const children: ChildProcess[] = [];
afterEach(() => {
	for (const child of children.splice(0)) {
		child.kill('SIGKILL');
	}
});

/** netdash on host a, as a user would run it. */
function netdashOnHostA(): JsonChild {
	const netdash = spawnJson(['--json', '--connect-timeout', '2', '--stall-timeout', '1'], {prefix: ['ip', 'netns', 'exec', nsA]});
	children.push(netdash.child);
	return netdash;
}

/** Dial, and return the failure netdash reports for that dial (matched by ref). */
async function dialFails(netdash: JsonChild, host: string, port: number, ref: string, timeoutSeconds?: number) {
	netdash.send({cmd: 'connect', host, port, ref, ...(timeoutSeconds === undefined ? {} : {timeout: timeoutSeconds})});
	const dialing = await netdash.waitFor((event) => event.type === 'connection-dialing' && event.ref === ref, `dialing ${ref}`);
	const failed = await netdash.waitFor((event) => event.type === 'socket-failed' && event.ref === ref, `socket-failed for ${ref}`, 15_000);
	const closed = await netdash.waitFor((event) => event.type === 'connection-closed' && event.connection === failed.target, `connection-closed for ${ref}`);
	expect(closed).toMatchObject({reason: 'failed', code: failed.code});
	return {code: failed.code as string, message: failed.message as string, elapsedMs: (failed.at as number) - (dialing.at as number)};
}

/** The process is alive and answering: `quit` ends it with exit code 0. */
async function quitsCleanly(netdash: JsonChild): Promise<void> {
	netdash.send({cmd: 'quit'});
	expect(await netdash.exited).toBe(0);
	expect(netdash.badLines).toEqual([]);
}

/** Host b drops SYNs to `port` (nftables) until the returned function is called. */
function dropSyns(port: number): () => void {
	run('ip', 'netns', 'exec', nsB, 'nft', 'add', 'table', 'inet', 'ndf');
	const undo = () => quietly(() => run('ip', 'netns', 'exec', nsB, 'nft', 'delete', 'table', 'inet', 'ndf'));
	try {
		run('ip', 'netns', 'exec', nsB, 'nft', 'add', 'chain', 'inet', 'ndf', 'input', '{ type filter hook input priority 0; }');
		run('ip', 'netns', 'exec', nsB, 'nft', 'add', 'rule', 'inet', 'ndf', 'input', 'tcp', 'dport', String(port), 'drop');
	} catch (error) {
		undo();
		throw error;
	}

	return undo;
}

describe('faults across real hosts (network namespaces)', () => {
	skipEachIf(skipReason);

	beforeAll(() => {
		if (skipReason !== undefined) {
			return;
		}

		try {
			makeHosts();
		} catch (error) {
			removeHosts();
			throw error;
		}
	});

	afterAll(() => {
		removeHosts();
	});

	it('nothing listening on the peer host: ECONNREFUSED, with its own message naming the address', async () => {
		const netdash = netdashOnHostA();
		const failure = await dialFails(netdash, peer, 7, 'refused');
		expect(failure.code).toBe('ECONNREFUSED');
		expect(failure.message).toBe(`connection refused by ${peer}:7 — nothing is listening there`);
		await quitsCleanly(netdash);
		console.log(`netns refused: ${failure.code} in ${failure.elapsedMs} ms — "${failure.message}"; exit 0 after`);
	});

	it('an on-link address with no host behind it: EHOSTUNREACH once ARP gives up', async () => {
		const netdash = netdashOnHostA();
		// ARP takes ~3 s to give up (3 probes, 1 s apart): this dial gets a longer timeout than --connect-timeout 2.
		const failure = await dialFails(netdash, emptyOnLink, 80, 'host-unreachable', 10);
		expect(failure.code).toBe('EHOSTUNREACH');
		expect(failure.message).toBe(`host ${emptyOnLink}:80 is unreachable — no route or no answer to ARP`);
		await quitsCleanly(netdash);
		console.log(`netns host unreachable: ${failure.code} in ${failure.elapsedMs} ms — "${failure.message}"; exit 0 after`);
	});

	it('an address with no route to it: ENETUNREACH at once', async () => {
		const netdash = netdashOnHostA();
		const failure = await dialFails(netdash, noRoute, 80, 'network-unreachable');
		expect(failure.code).toBe('ENETUNREACH');
		expect(failure.message).toBe(`network of ${noRoute}:80 is unreachable — no route to it`);
		expect(failure.elapsedMs).toBeLessThan(1000);
		await quitsCleanly(netdash);
		console.log(`netns network unreachable: ${failure.code} in ${failure.elapsedMs} ms — "${failure.message}"; exit 0 after`);
	});

	it('a SYN dropped by the peer host (nftables): ETIMEDOUT after --connect-timeout 2', async (context) => {
		if (noNft !== undefined) {
			context.skip(noNft);
		}

		const port = 9;
		const undo = dropSyns(port);
		try {
			const netdash = netdashOnHostA();
			const failure = await dialFails(netdash, peer, port, 'timeout');
			expect(failure.code).toBe('ETIMEDOUT');
			expect(failure.message).toBe(`connect to ${peer}:${port} timed out after 2 s — no answer (host down or packets dropped)`);
			// netdash's own timer, not the kernel's (~127 s with 6 SYN retries).
			expect(failure.elapsedMs).toBeGreaterThanOrEqual(1900);
			expect(failure.elapsedMs).toBeLessThan(4000);
				await quitsCleanly(netdash);
			console.log(`netns dropped SYN: ${failure.code} in ${failure.elapsedMs} ms (--connect-timeout 2) — "${failure.message}"; exit 0 after`);
		} finally {
			undo();
		}
	});

	it('the peer link goes down mid-transfer: the connection is marked stalled within seconds, and a reset ends it', async () => {
		// A sink on host b: reads and discards.
		const port = 9000;
		const sink = spawn('ip', ['netns', 'exec', nsB, process.execPath, '-e', `
			const net = require('node:net');
			net.createServer((socket) => { socket.on('error', () => {}); socket.resume(); })
				.listen(${port}, '${peer}', () => console.log('listening'));
		`], {stdio: ['ignore', 'pipe', 'inherit']});
		children.push(sink);
		let sinkOutput = '';
		sink.stdout.on('data', (chunk: Buffer) => {
			sinkOutput += chunk.toString();
		});
		await until(() => sinkOutput.includes('listening'), () => `the sink on ${nsB} to listen (output: ${sinkOutput})`);
		const linkUp = () => quietly(() => run('ip', '-n', nsB, 'link', 'set', vethB, 'up'));

		try {
			const netdash = netdashOnHostA();
			netdash.send({cmd: 'connect', host: peer, port, ref: 'stream'});
			const {connection} = await netdash.waitFor((event) => event.type === 'connection-opened' && event.ref === 'stream', 'the stream to open');
			const chunk = Buffer.alloc(256 * 1024, 0x5a).toString('base64');
			const sentSoFar = () => netdash.events.filter((event) => event.type === 'data-sent').reduce((sum, event) => sum + (event.bytes as number), 0);
			let sends = 0;
			const sendChunk = async () => {
				const ref = `chunk-${++sends}`;
				netdash.send({cmd: 'send', connection, base64: chunk, ref});
				return netdash.waitFor((event) => (event.type === 'send-queued' || event.type === 'command-failed') && event.ref === ref, ref);
			};

			// The stream flows across the link: 2 MiB at least have reached the peer host's kernel.
			while (sentSoFar() < 2 * 1024 * 1024 && sends < 64) {
				await sendChunk();
				await until(() => netdash.events.filter((event) => event.type === 'data-sent').length > 0, () => 'data to leave');
			}

			expect(sentSoFar()).toBeGreaterThanOrEqual(2 * 1024 * 1024);

			// When the peer's link goes down with bytes still coming
			run('ip', '-n', nsB, 'link', 'set', vethB, 'down');
			const downAt = Date.now();
			const beforeDown = sentSoFar();
			for (let index = 0; index < 8; index++) {
				const answer = await sendChunk();
				if (answer.type === 'command-failed') {
					break;
				}
			}

			// Then netdash marks it stalled (stall timeout 1 s, checked each second) — TCP alone would say nothing for ~15 minutes
			const stalled = await netdash.waitFor((event) => event.type === 'connection-stalled' && event.connection === connection, 'connection-stalled', 8000);
			const stalledAfterMs = (stalled.at as number) - downAt;
			expect(stalled.queued).toBeGreaterThan(0);
			expect(stalledAfterMs).toBeLessThan(6000);
			expect(netdash.events.some((event) => event.type === 'connection-closed')).toBe(false);

			// And the offered reset ends it, with the unsent bytes counted; the process is still alive
			netdash.send({cmd: 'reset', id: connection, ref: 'give-up'});
			const closed = await netdash.waitFor((event) => event.type === 'connection-closed' && event.connection === connection, 'the reset connection to close');
			expect(closed.reason).toBe('reset');
			expect(closed.unsent).toBeGreaterThan(0);
			await quitsCleanly(netdash);
			console.log(
				`netns link down mid-transfer: ${beforeDown} B sent before, stalled ${stalledAfterMs} ms after the link went down ` +
					`with ${stalled.queued as number} B queued; reset left ${closed.unsent as number} B unsent (counted); exit 0 after`,
			);
		} finally {
			linkUp();
		}
	});

	it('a listener asks for as deep an accept queue as the kernel allows: with somaxconn raised, the queue is 65535', async () => {
		// somaxconn is per namespace; host a's is raised for this case only (Node's default backlog is 511, netdash's was 4096).
		const before = run('ip', 'netns', 'exec', nsA, 'sysctl', '-n', 'net.core.somaxconn').trim();
		run('ip', 'netns', 'exec', nsA, 'sysctl', '-q', '-w', 'net.core.somaxconn=65535');
		try {
			const netdash = spawnJson(['--json', '--listen', '0'], {prefix: ['ip', 'netns', 'exec', nsA]});
			children.push(netdash.child);
			const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
			// For a listening socket, ss shows the accept queue's limit as Send-Q.
			const line = run('ip', 'netns', 'exec', nsA, 'ss', '-ltnH', `sport = :${opened.port as number}`).trim();
			const limit = Number(line.split(/\s+/)[2]);
			expect(limit).toBe(65_535);
			await quitsCleanly(netdash);
			console.log(`netns accept queue: somaxconn ${before} → 65535 in host a; netdash's listener on port ${opened.port as number}: ss Send-Q ${limit}`);
		} finally {
			run('ip', 'netns', 'exec', nsA, 'sysctl', '-q', '-w', `net.core.somaxconn=${before}`);
		}
	});

	it('each fault has its own message, and each names the address', async (context) => {
		if (noNft !== undefined) {
			context.skip(noNft);
		}

		// Its own four dials at once, in one netdash: nothing here depends on what the cases above did.
		const undo = dropSyns(9);
		try {
			const netdash = netdashOnHostA();
			const failures = await Promise.all([
				dialFails(netdash, peer, 7, 'refused'),
				dialFails(netdash, emptyOnLink, 80, 'host-unreachable', 10),
				dialFails(netdash, noRoute, 80, 'network-unreachable'),
				dialFails(netdash, peer, 9, 'timeout'),
			]);
			expect(failures.map((failure) => failure.code)).toEqual(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);
			const messages = failures.map((failure) => failure.message);
			expect(new Set(messages).size).toBe(4);
			for (const [index, message] of messages.entries()) {
				expect(message, failures[index]!.code).toMatch(new RegExp(`${subnet.replaceAll('.', '\\.')}\\.\\d+:\\d+`));
			}

			await quitsCleanly(netdash);
			console.log(`netns: 4 faults, ${new Set(messages).size} distinct messages`);
		} finally {
			undo();
		}
	});
});
