import {execFile} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, describe, expect, test} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {until} from '../helpers/recorder.js';
import {hasTool} from '../helpers/requires.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const hasPython = hasTool('python3');
if (!hasPython) {
	console.warn('skipping the book-style UDP client test: python3 is not installed (.ci/run installs it)');
}

const children: JsonChild[] = [];
afterEach(() => {
	for (const child of children.splice(0)) {
		child.child.kill();
	}
});

/** Run the book-style client (test/fixtures/udp-backoff-client.py) against host:port. */
async function runBookClient(port: number): Promise<{code: number; stdout: string}> {
	return new Promise((resolve) => {
		execFile('python3', [path.join(fixtures, 'udp-backoff-client.py'), '127.0.0.1', String(port)], {timeout: 20_000}, (error, stdout) => {
			resolve({code: error ? Number((error as {code?: number}).code ?? 1) : 0, stdout});
		});
	});
}

describe.skipIf(!hasPython)('auto-replies from the command line', () => {
	test('a book-style UDP client that resends with backoff gets "Your data was 23 bytes long" from --respond, with no script', async () => {
		// Given netdash bound to a UDP port with one rule and nothing else
		const netdash = spawnJson(['--json', '--udp', '127.0.0.1:0', '--respond', '.* => Your data was ${len} bytes long']);
		children.push(netdash);
		const bound = await netdash.waitFor((event) => event.type === 'udp-bound', 'udp-bound');

		// When the client sends its 23-byte message
		const {code, stdout} = await runBookClient(bound['port'] as number);

		// Then it prints the server's answer and exits 0, and the reply is an event tied to the rule
		expect(stdout).toContain("The server says 'Your data was 23 bytes long'");
		expect(code).toBe(0);
		const replied = await netdash.waitFor((event) => event.type === 'rule-replied', 'rule-replied');
		expect(replied).toMatchObject({rule: 'A1', target: 'U1', bytes: 27});
		netdash.send({cmd: 'rules', ref: 'list'});
		const listed = await netdash.waitFor((event) => event.type === 'rules-listed', 'rules-listed');
		expect(listed['rules'][0]).toMatchObject({rule: 'A1', pattern: '.*', state: 'active', hits: 1, replies: 1});
		expect(netdash.badLines).toEqual([]);
	});

	test('a bad --respond pattern is refused at start with one line', async () => {
		const netdash = spawnJson(['--json', '--udp', '127.0.0.1:0', '--respond', '(a)\\1 => x']);
		children.push(netdash);
		expect(await netdash.exited).not.toBe(0);
		expect(netdash.stderr().trim().split('\n')).toHaveLength(1);
		expect(netdash.stderr()).toContain('--respond');
	});
});

describe('repeated sends and raw saves from a JSON script', () => {
	test('send with count 3 arrives three times, and save reports the bytes the peer sent by the close', async () => {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-wb-'));
		try {
			const netdash = spawnJson(['--json', '--listen', '127.0.0.1:0', '--framing', 'line']);
			children.push(netdash);
			const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
			const client = net.connect(opened['port'] as number, '127.0.0.1');
			let received = '';
			client.on('data', (chunk: Buffer) => {
				received += chunk.toString();
			});
			await netdash.waitFor((event) => event.type === 'connection-opened', 'connection-opened');
			const file = path.join(directory, 'in.bin');
			netdash.send({cmd: 'save', connection: 'C1', path: file, direction: 'in', ref: 's'});
			netdash.send({cmd: 'send', connection: 'C1', text: 'hi', framed: true, count: 3, ref: 'r'});
			await netdash.waitFor((event) => event.type === 'schedule-finished' && event['reason'] === 'done' && event['sent'] === 3, 'schedule-finished');
			await netdash.waitFor((event) => event.type === 'save-started' && event['ref'] === 's', 'save-started');
			client.end('from the peer\n');
			const finished = await netdash.waitFor((event) => event.type === 'save-finished', 'save-finished');
			expect(finished['bytes']).toBe(14);
			expect(readFileSync(file, 'utf8')).toBe('from the peer\n');
			await until(() => received === 'hi\nhi\nhi\n', () => `the peer got ${JSON.stringify(received)}`);
			expect(netdash.badLines).toEqual([]);
		} finally {
			rmSync(directory, {recursive: true, force: true});
		}
	});
});

describe('auto-replies under a pipelined burst through --json', () => {
	test('5,000 pipelined requests get 5,000 answers in order, and --json writes every event: seq has no gap, one rule-replied per reply', async () => {
		// Given a line listener with a rule, read through --json (whose lines are written in batches)
		const netdash = spawnJson(['--json', '--listen', '127.0.0.1:0', '--framing', 'line', '--respond', String.raw`^PING (\d+)$ => PONG $1`]);
		children.push(netdash);
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
		const client = net.connect(opened['port'] as number, '127.0.0.1');
		let received = '';
		client.on('data', (chunk: Buffer) => {
			received += chunk.toString('latin1');
		});

		// When a client writes 5,000 requests at once
		const total = 5000;
		client.write(Array.from({length: total}, (_, index) => `PING ${index}\n`).join(''));
		await until(() => received.split('\n').length > total, () => `${received.split('\n').length - 1} answers`);
		client.end();
		netdash.send({cmd: 'rules', ref: 'list'});
		const listed = await netdash.waitFor((event) => event.type === 'rules-listed', 'rules-listed');

		// Then every answer came, in the order asked, and every event is on stdout once, in order
		expect(received).toBe(Array.from({length: total}, (_, index) => `PONG ${index}\n`).join(''));
		expect(listed['rules'][0]).toMatchObject({rule: 'A1', hits: total, replies: total});
		const seqs = netdash.events.map((event) => event['seq'] as number);
		expect(seqs).toEqual(Array.from({length: seqs.length}, (_, index) => seqs[0]! + index));
		expect(netdash.events.filter((event) => event.type === 'message-received')).toHaveLength(total);
		expect(netdash.events.filter((event) => event.type === 'rule-replied')).toHaveLength(total);
		expect(netdash.badLines).toEqual([]);
	});
});
