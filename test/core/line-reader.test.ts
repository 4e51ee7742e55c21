import {PassThrough, Writable} from 'node:stream';
import fc from 'fast-check';
import {afterEach, describe, expect, it, vi} from 'vitest';
import {createCore, type BusEvent} from '../../source/core/index.js';
import {JsonNestingGuard, runJsonLines} from '../../source/core/json-lines.js';
import {LineReader, type RefusedLine} from '../../source/core/line-reader.js';
import {until} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	vi.restoreAllMocks();
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

/** A reader over a PassThrough, recording what it delivers. */
function reader(maxLineBytes: number, guard?: JsonNestingGuard): {input: PassThrough; lines: string[]; refused: RefusedLine[]; ended: () => boolean; reader: LineReader} {
	const input = new PassThrough();
	const lines: string[] = [];
	const refused: RefusedLine[] = [];
	let isEnded = false;
	const lineReader = new LineReader(input, {maxLineBytes, ...(guard ? {guard} : {})}, {
		line(text) {
			lines.push(text);
		},
		refused(why) {
			refused.push(why);
		},
		end() {
			isEnded = true;
		},
	});
	return {input, lines, refused, ended: () => isEnded, reader: lineReader};
}

describe('the stdin line splitter', () => {
	it('delivers the same lines whatever the chunk boundaries, CRLF included, and a last line without LF', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(fc.string({unit: 'grapheme', maxLength: 30}).map((text) => text.replaceAll(/[\r\n]/g, '')), {minLength: 1, maxLength: 20}),
				fc.array(fc.integer({min: 1, max: 40}), {minLength: 1, maxLength: 50}),
				fc.boolean(),
				async (texts, cuts, isCrlf) => {
					const bytes = Buffer.from(texts.join(isCrlf ? '\r\n' : '\n'));
					const {input, lines, ended} = reader(1024);
					let at = 0;
					for (const cut of cuts) {
						input.write(bytes.subarray(at, at + cut));
						at += cut;
					}

					input.end(bytes.subarray(at));
					await until(ended, () => 'the end of input');
					// A final empty line (no bytes after the last LF) is no line, as with readline.
					expect(lines).toEqual(texts.at(-1) === '' ? texts.slice(0, -1) : texts);
				},
			),
			{numRuns: 200},
		);
	});

	it('reports a line over the limit once, skips it up to its LF without holding it, and reads the next line', async () => {
		const {input, lines, refused, ended} = reader(1000);
		input.write('{"cmd":"first"}\n');
		for (let index = 0; index < 100; index++) {
			input.write('x'.repeat(999)); // 99,900 bytes of one line, over many chunks
		}

		input.write('\n{"cmd":"after"}\n');
		input.write(`${'y'.repeat(1001)}\n`); // over by one byte, in one chunk with its LF
		input.end(`${'z'.repeat(1000)}\n`); // exactly the limit: kept
		await until(ended, () => 'the end of input');
		expect(refused).toEqual([
			{kind: 'too-long', limitBytes: 1000},
			{kind: 'too-long', limitBytes: 1000},
		]);
		expect(lines).toEqual(['{"cmd":"first"}', '{"cmd":"after"}', 'z'.repeat(1000)]);
	});

	it('delivers nothing while held, even lines already read in the same chunk, and resumes where it stopped', async () => {
		const {input, lines, ended, reader: lineReader} = reader(1000);
		lineReader.hold('test', true);
		input.end('a\nb\nc\n');
		await new Promise((resolve) => {
			setImmediate(resolve);
		});
		expect(lines).toEqual([]);
		lineReader.hold('test', false);
		await until(ended, () => 'the end of input');
		expect(lines).toEqual(['a', 'b', 'c']);
	});
});

describe('nesting is checked as the bytes arrive, before JSON.parse', () => {
	it('counts arrays and objects, not brackets inside strings, and refuses a deep line as soon as it is too deep', async () => {
		const {input, lines, refused, ended} = reader(1 << 20, new JsonNestingGuard(2));
		input.write('{"cmd":"admission","allow":["10.0.0.0/8"]}\n');
		input.write('{"text":"[[[[{{{{\\"[[[","more":"\\\\"}\n');
		input.write('[[[1]]]\n');
		input.write(']]]]][[[1]]]\n');
		// Split across writes: the depth carries over; after the LF it starts again.
		input.write('[[');
		input.write('[');
		input.end(']]]\n[[1]]\n');
		await until(ended, () => 'the end of input');
		expect(lines).toEqual(['{"cmd":"admission","allow":["10.0.0.0/8"]}', '{"text":"[[[[{{{{\\"[[[","more":"\\\\"}', '[[1]]']);
		expect(refused).toEqual(Array.from({length: 3}, () => ({kind: 'guard', message: 'a command nests arrays or objects deeper than 2 levels'})));
		for (const line of lines) {
			expect(() => JSON.parse(line) as unknown).not.toThrow();
		}
	});
});

/** runJsonLines over a PassThrough stdin and a stdout the test controls. */
function session(output: Writable, options: {maxOutputBytes?: number} = {}): {input: PassThrough; core: ReturnType<typeof createCore>; events: BusEvent[]} {
	const core = createCore();
	const input = new PassThrough();
	const events: BusEvent[] = [];
	core.bus.subscribe((event) => {
		events.push(event);
	});
	const running = runJsonLines({core, input, output, graceMs: 200, ...options});
	cleanups.push(async () => {
		await running.quit();
		core.dispose();
	});
	return {input, core, events};
}

/** A stdout that keeps what is written and can be made to stop taking it. */
function stdout(highWaterMark = 1024): {output: Writable; text: () => string; block: (isBlocked: boolean) => void} {
	const written: Buffer[] = [];
	let pending: Array<() => void> | undefined;
	const output = new Writable({
		highWaterMark,
		write(chunk: Buffer, _encoding, callback) {
			written.push(chunk);
			if (pending) {
				pending.push(callback);
			} else {
				callback();
			}
		},
	});
	return {
		output,
		text: () => Buffer.concat(written).toString(),
		block(isBlocked) {
			if (isBlocked) {
				pending ??= [];
				return;
			}

			const callbacks = pending ?? [];
			pending = undefined;
			for (const callback of callbacks) {
				callback();
			}
		},
	};
}

describe('--json reading', () => {
	it('parses each line once, malformed ones included, and still echoes the ref of a bad command', async () => {
		const {output, text} = stdout();
		const parse = vi.spyOn(JSON, 'parse');
		const {input, events} = session(output);
		input.write('{"cmd":"listen","port":70000,"ref":"r1"}\n{"cmd":"fly","ref":"r2"}\n{"cmd":"listen","port":0}\n');
		await until(() => events.some((event) => event.type === 'listener-opened'), () => 'listener-opened');
		expect(parse).toHaveBeenCalledTimes(3);
		expect(events.filter((event) => event.type === 'command-failed').map((event) => event.ref)).toEqual(['r1', 'r2']);
		expect(text()).toContain('"type":"listener-opened"');
	});

	it('a stdout that is not read stops stdin being read; what comes past the cap is shed and reported when it drains', async () => {
		// Given a session whose stdout takes nothing, and accepts that keep coming
		const {output, text, block} = stdout();
		const maxOutputBytes = 4096;
		const {input, events} = session(output, {maxOutputBytes});
		input.write('{"cmd":"listen","port":0}\n');
		await until(() => events.some((event) => event.type === 'listener-opened'), () => 'listener-opened');
		const {port} = events.find((event) => event.type === 'listener-opened') as BusEvent & {port: number};
		block(true);
		const net = await import('node:net');
		const clients = Array.from({length: 100}, () => net.connect(port, '127.0.0.1').on('error', () => {}));
		cleanups.push(() => {
			for (const client of clients) {
				client.destroy();
			}
		});
		await until(() => events.filter((event) => event.type === 'connection-opened').length === 100, () => 'all 100 accepted');
		// When commands arrive meanwhile, they wait in the pipe: none is carried out.
		const late = '{"cmd":"listen","port":0,"ref":"late-1"}\n{"cmd":"fly","ref":"late-2"}\n';
		input.write(late);
		await new Promise((resolve) => {
			setImmediate(resolve);
		});
		expect(input.readableLength).toBe(late.length);
		expect(events.filter((event) => event.ref === 'late-1' || event.ref === 'late-2')).toEqual([]);
		expect(output.writableLength).toBeLessThan(maxOutputBytes + 1024);

		// Then once stdout is read again, the report comes, the seqs missing are exactly those it counts, and the waiting commands run.
		block(false);
		await until(() => events.some((event) => event.ref === 'late-2'), () => 'the late commands');
		await until(() => text().includes('"type":"output-shed"'), () => 'output-shed');
		const written = text()
			.trim()
			.split('\n')
			.map((line) => JSON.parse(line) as BusEvent);
		const shedReport = written.find((event) => event.type === 'output-shed') as BusEvent & {events: number; firstSeq: number; lastSeq: number; types: Record<string, number>};
		const writtenSeqs = new Set(written.map((event) => event.seq));
		const missing = events.filter((event) => !writtenSeqs.has(event.seq) && event.seq < shedReport.seq);
		expect(missing.length).toBe(shedReport.events);
		expect(missing.length).toBeGreaterThan(0);
		expect(Math.min(...missing.map((event) => event.seq))).toBe(shedReport.firstSeq);
		expect(Math.max(...missing.map((event) => event.seq))).toBe(shedReport.lastSeq);
		expect(shedReport.types['connection-opened']).toBe(missing.filter((event) => event.type === 'connection-opened').length);
		expect(written.some((event) => event.ref === 'late-1' && event.type === 'listener-opened')).toBe(true);
	});
});
