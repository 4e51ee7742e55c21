import {Buffer} from 'node:buffer';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, createStore, type BusEvent, type Core} from '../../source/core/index.js';
import {createFramer} from '../../source/core/framing/index.js';
import {canReadShared} from '../../source/core/tcp/shared-reads.js';
import {record, until} from '../helpers/recorder.js';

/*
 * Plain TCP connections read into one buffer shared by every connection
 * (source/core/tcp/shared-reads.ts). vitest.config.ts sets
 * NETDASH_POISON_READS=1, so the buffer is overwritten with 0xEE after
 * each read: bytes kept without a copy read back as 0xEE here.
 */

const cores: Core[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
	for (const socket of sockets.splice(0)) {
		socket.destroy();
	}

	await Promise.all(cores.splice(0).map(async (core) => core.closeAll(200)));
});

/** Each connection's bytes as a borrowing subscriber saw them (copied during delivery), and the buffers they came in. */
type Borrowed = {text: Map<string, string>; buffers: Set<ArrayBufferLike>; kept: Buffer[]; messages: Buffer[]};

function borrower(core: Core): Borrowed {
	const seen: Borrowed = {text: new Map(), buffers: new Set(), kept: [], messages: []};
	core.bus.subscribe((event: BusEvent) => {
		if (event.type === 'data-received') {
			seen.text.set(event.connection, (seen.text.get(event.connection) ?? '') + event.data.toString('latin1'));
			seen.buffers.add(event.data.buffer);
			// Kept on purpose, without a copy: what a careless subscriber would hold.
			seen.kept.push(event.data);
		} else if (event.type === 'message-received') {
			seen.messages.push(Buffer.from(event.data));
		}
	}, {borrows: true});
	return seen;
}

async function listen(core: Core, framing?: 'line' | 'u32'): Promise<number> {
	const events = record(core.bus);
	const id = core.listen('127.0.0.1', 0, framing ? {framing: {kind: framing}} : {});
	const opened = await events.waitFor('listener-opened', (event) => event.listener === id);
	events.stop();
	return opened.port;
}

async function dial(port: number): Promise<net.Socket> {
	return new Promise((resolve, reject) => {
		const socket = net.connect({host: '127.0.0.1', port}, () => {
			resolve(socket);
		});
		socket.on('error', reject);
		sockets.push(socket);
	});
}

/** `count` bytes of a pattern that says which sender and which offset they are. */
function pattern(tag: string, count: number): string {
	let text = '';
	for (let index = 0; text.length < count; index++) {
		text += `${tag}${index};`;
	}

	return text.slice(0, count);
}

describe('TCP reads into one shared buffer', () => {
	it('this Node lets accepted and dialed sockets read into it', () => {
		// If Node changes its onread internals, netdash falls back to a buffer per read: this says so.
		expect(canReadShared()).toBe(true);
	});

	it('while every subscriber borrows, two connections\' chunks come in the one shared buffer, each connection\'s bytes whole and in order', async () => {
		const core = createCore();
		cores.push(core);
		createStore(core.bus);
		const seen = borrower(core);
		expect(core.bus.lendsReceivedBytes).toBe(true);
		const port = await listen(core);
		const [a, b] = await Promise.all([dial(port), dial(port)]);
		const sentA = pattern('a', 300_000);
		const sentB = pattern('b', 300_000);
		for (let offset = 0; offset < sentA.length; offset += 50_000) {
			a.write(sentA.slice(offset, offset + 50_000));
			b.write(sentB.slice(offset, offset + 50_000));
		}

		await until(() => [...seen.text.values()].reduce((sum, text) => sum + text.length, 0) === 600_000, () => `received ${[...seen.text.values()].map((text) => text.length).join(' + ')} of 600000`);
		const texts = [...seen.text.values()].sort();
		expect(texts[0] === sentA).toBe(true);
		expect(texts[1] === sentB).toBe(true);
		// One ArrayBuffer for every chunk of both connections: no buffer per read.
		expect(seen.buffers.size).toBe(1);
		// A chunk kept without a copy holds nothing once its read is over (poisoned here, the next read's bytes in use).
		expect(seen.kept.every((chunk) => chunk.every((byte) => byte === 0xEE))).toBe(true);
	});

	it('a subscriber that keeps what it is given gets chunks of their own, intact after later reads; once it leaves, chunks are lent again', async () => {
		const core = createCore();
		cores.push(core);
		const seen = borrower(core);
		const events = record(core.bus);
		expect(core.bus.lendsReceivedBytes).toBe(false);
		const port = await listen(core);
		const [a, b] = await Promise.all([dial(port), dial(port)]);
		const sentA = pattern('A', 200_000);
		const sentB = pattern('B', 200_000);
		a.write(sentA);
		b.write(sentB);
		await until(() => events.of('data-received').reduce((sum, event) => sum + event.bytes, 0) === 400_000, () => 'all bytes recorded');
		const kept = new Map<string, string>();
		for (const event of events.of('data-received')) {
			kept.set(event.connection, (kept.get(event.connection) ?? '') + event.data.toString('latin1'));
		}

		expect([...kept.values()].sort()).toEqual([sentA, sentB]);
		// Every subscriber then gets the copy: the borrower's unguarded references still hold their bytes.
		expect(seen.kept.length).toBe(events.of('data-received').length);
		expect(seen.kept.some((chunk) => chunk.includes(0xEE))).toBe(false);

		events.stop();
		expect(core.bus.lendsReceivedBytes).toBe(true);
		seen.buffers.clear();
		a.write(pattern('again', 100_000));
		b.write(pattern('AGAIN', 100_000));
		await until(() => [...seen.text.values()].reduce((sum, text) => sum + text.length, 0) === 600_000, () => 'the second round');
		expect(seen.buffers.size).toBe(1);
	});

	it.each(['line', 'u32'] as const)('%s messages that span reads are whole after the shared buffer was reused', async (framing) => {
		const core = createCore();
		cores.push(core);
		const seen = borrower(core);
		const port = await listen(core, framing);
		const client = await dial(port);
		// Messages of 1 byte to 200 kB: most span several 64 KiB reads, and several end inside one.
		const sizes = [1, 70_000, 3, 200_000, 65_536, 65_535, 10, 130_000];
		const messages = sizes.map((size, index) => Buffer.from(pattern(`m${index}-`, size), 'latin1'));
		for (const message of messages) {
			if (framing === 'line') {
				client.write(Buffer.concat([message, Buffer.from('\n')]));
			} else {
				const prefix = Buffer.alloc(4);
				prefix.writeUInt32BE(message.length);
				client.write(Buffer.concat([prefix, message]));
			}
		}

		await until(() => seen.messages.length === messages.length, () => `${seen.messages.length} of ${messages.length} messages`);
		expect(seen.messages.map((message) => message.length)).toEqual(sizes);
		for (const [index, message] of seen.messages.entries()) {
			expect(message.equals(messages[index]!)).toBe(true);
		}
	});

	it('reading held by the core stops reads of a shared-buffer connection, and bytes sent meanwhile arrive whole once released', async () => {
		const core = createCore();
		cores.push(core);
		const seen = borrower(core);
		const port = await listen(core);
		const client = await dial(port);
		client.write('before|');
		await until(() => [...seen.text.values()].join('') === 'before|', () => 'the first bytes');
		core.holdReading('test', true);
		const held = pattern('held', 100_000);
		client.write(held);
		// Long enough for the kernel to have delivered them, were netdash reading.
		await new Promise((resolve) => {
			setTimeout(resolve, 300);
		});
		expect([...seen.text.values()].join('')).toBe('before|');
		core.holdReading('test', false);
		await until(() => [...seen.text.values()].join('').length === 7 + held.length, () => 'the held bytes');
		expect([...seen.text.values()].join('') === `before|${held}`).toBe(true);
	});

	it('the framer copies the unfinished message of a borrowed chunk (and keeps a view of an owned one)', () => {
		for (const spec of [{kind: 'line'}, {kind: 'u16'}] as const) {
			for (const isBorrowed of [true, false]) {
				const messages: string[] = [];
				const framer = createFramer(spec, {
					message(payload) {
						messages.push(payload.toString('latin1'));
					},
					overflow() {},
				})!;
				const whole = spec.kind === 'line' ? Buffer.from('hello world\n') : Buffer.concat([Buffer.from([0, 11]), Buffer.from('hello world')]);
				const first = Buffer.from(whole.subarray(0, whole.length - 4));
				framer.push(first, isBorrowed);
				// The next read reuses the buffer.
				first.fill(0x21);
				framer.push(Buffer.from(whole.subarray(whole.length - 4)), isBorrowed);
				if (isBorrowed) {
					expect(messages).toEqual(['hello world']);
				} else {
					// Zero copy: an owned chunk's memory is the message's (nobody changes it in netdash).
					expect(messages[0]).not.toBe('hello world');
				}
			}
		}
	});
});
