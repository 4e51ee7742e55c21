import {spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {until} from '../helpers/recorder.js';

/**
 * Issue 10, points 5 and 6, against the real binary: memory stays bounded
 * when the reader of stdout is slow (or gone quiet), and whatever comes on
 * stdin (a flood of bad commands, a line of any length, deep nesting).
 */

const flooderPath = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'udp-flooder.ts');
const MiB = 1024 * 1024;
/** The bound the issue sets; a bare netdash --json sits near 60 MiB. */
const maxRssMiB = 150;

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

/** The child's peak resident set so far (VmHWM), in MiB. */
function peakRssMiB(netdash: JsonChild): number {
	const status = readFileSync(`/proc/${netdash.child.pid}/status`, 'utf8');
	return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)![1]) / 1024;
}

/** Resolves once the child has stopped taking stdin: all written, or nothing taken for 1 s. */
async function untilStdinSettles(netdash: JsonChild): Promise<void> {
	let last = -1;
	let sameSince = Date.now();
	await until(
		() => {
			const waiting = netdash.child.stdin.writableLength;
			if (waiting !== last) {
				last = waiting;
				sameSince = Date.now();
			}

			return waiting === 0 || Date.now() - sameSince >= 1000;
		},
		() => `stdin to settle (${last} bytes waiting)`,
		60_000,
	);
}

async function flood(port: number, size: number, seconds: number): Promise<{sent: number; failed: number; ms: number}> {
	const child = spawn(process.execPath, [flooderPath, String(port), String(Number.MAX_SAFE_INTEGER), String(size), '2', '127.0.0.1', String(seconds)], {stdio: ['ignore', 'pipe', 'pipe']});
	let output = '';
	child.stdout.on('data', (chunk: Buffer) => {
		output += chunk.toString();
	});
	const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
	expect(code).toBe(0);
	return JSON.parse(output) as {sent: number; failed: number; ms: number};
}

describe('netdash --json with a reader of stdout that stops reading', () => {
	it('200,000 bad commands: stdin is read only as fast as stdout is, memory stays bounded, and every command-failed arrives in order', async () => {
		const count = 200_000;
		const netdash = start(['--json']);
		netdash.child.stdout.pause();
		netdash.child.stdin.write(Array.from({length: count}, (_, index) => `{"cmd":"fly","ref":"r${index}"}\n`).join(''));
		await untilStdinSettles(netdash);
		const peakWhileUnread = peakRssMiB(netdash);
		// The unread stdout held stdin back: most of the commands still wait in our pipe.
		expect(netdash.child.stdin.writableLength).toBeGreaterThan(count * 20);

		netdash.child.stdout.resume();
		await until(() => netdash.events.length >= count, () => `${count} events (have ${netdash.events.length})`, 120_000);
		const peak = peakRssMiB(netdash);
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		const failures = netdash.events.filter((event) => event.type === 'command-failed');
		expect(failures).toHaveLength(count);
		expect(failures.every((event, index) => event.ref === `r${index}` && event.code === 'BAD_COMMAND')).toBe(true);
		expect(netdash.events.some((event) => event.type === 'output-shed')).toBe(false);
		console.log(`200,000 bad commands: peak RSS ${peakWhileUnread.toFixed(0)} MiB while stdout was unread, ${peak.toFixed(0)} MiB at the end`);
		expect(peak).toBeLessThan(maxRssMiB);
	}, 180_000);

	it('an 8 s UDP flood: datagrams are dropped and counted, not queued, memory stays bounded, and the counts add up to what was sent', async () => {
		const netdash = start(['--json']);
		netdash.send({cmd: 'udp', port: 0});
		const bound = await netdash.waitFor((event) => event.type === 'udp-bound', 'udp-bound');
		netdash.child.stdout.pause();
		const result = await flood(bound.port as number, 200, 8);
		const peak = peakRssMiB(netdash);
		netdash.child.stdout.resume();

		// Every datagram the kernel took is received, dropped by netdash (output behind) or dropped by the kernel (buffer full).
		const tally = () => {
			const received = netdash.events.filter((event) => event.type === 'datagram-received').length;
			const dropped = netdash.events.filter((event) => event.type === 'datagrams-dropped').reduce((sum, event) => sum + (event.count as number), 0);
			const kernel = (netdash.events.findLast((event) => event.type === 'kernel-drops-changed')?.socketDrops as number | undefined) ?? 0;
			return {received, dropped, kernel};
		};

		await until(
			() => {
				const {received, dropped, kernel} = tally();
				return received + dropped + kernel === result.sent;
			},
			() => `received + dropped + kernel drops to equal ${result.sent} sent: ${JSON.stringify(tally())}`,
			20_000,
		);
		const {received, dropped, kernel} = tally();
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		const closed = netdash.events.find((event) => event.type === 'udp-closed')!;
		expect(closed.dropped).toBe(dropped);
		expect(closed.datagramsIn).toBe(received);
		console.log(
			`8 s UDP flood, stdout unread: ${result.sent} sent, ${received} shown, ${dropped} dropped by netdash for backpressure, ${kernel} dropped by the kernel; peak RSS ${peak.toFixed(0)} MiB`,
		);
		expect(result.failed).toBe(0);
		expect(dropped).toBeGreaterThan(0);
		// Shown: those before stdout filled and those left in the socket's buffer, not the flood.
		expect(received).toBeLessThan(result.sent / 10);
		expect(peak).toBeLessThan(maxRssMiB);
	}, 120_000);
});

describe('netdash --json stdin limits', () => {
	it('a 600 MiB line is refused with command-failed and skipped without being held; a 20 MB nested line is refused before parsing; the next command runs', async () => {
		const netdash = start(['--json']);
		const stdin = netdash.child.stdin;
		// Over 512 MiB crashed readline; any line is held only up to the 64 MiB limit, then skipped.
		stdin.write(Buffer.alloc(600 * MiB, 'x'));
		stdin.write('\n');
		stdin.write(`${'['.repeat(20_000_000)}\n`);
		const startedAt = Date.now();
		netdash.send({cmd: 'listen', port: 0, ref: 'after'});
		await netdash.waitFor((event) => event.type === 'listener-opened' && event.ref === 'after', 'the listen after the long lines', 60_000);
		const peak = peakRssMiB(netdash);
		const failures = netdash.events.filter((event) => event.type === 'command-failed');
		expect(failures.map((event) => event.code)).toEqual(['LINE_TOO_LONG', 'BAD_JSON']);
		expect(failures[0]!.message).toContain(`longer than ${64 * MiB} bytes`);
		expect(failures[1]!.message).toContain('deeper than 16');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		console.log(`600 MiB line + 20 MB of [: refused, next command after ${Date.now() - startedAt} ms, peak RSS ${peak.toFixed(0)} MiB`);
		// Memory for the limit's worth of line (64 MiB held until it is known to be too long) and V8's
		// slack for read buffers not yet collected (up to 64 MiB), far from the 600 MiB of the line.
		expect(peak).toBeLessThan(256);
	}, 120_000);
});
