import {Buffer} from 'node:buffer';
import fc from 'fast-check';
import {afterEach, describe, expect, test, vi} from 'vitest';
import {NetdashError} from '../../source/core/errors.js';
import {
	createFramer,
	encodeFrame,
	formatFraming,
	MAX_FIXED_SIZE,
	parseFraming,
	type Framer,
	type FramerOptions,
	type FramingSpec,
} from '../../source/core/framing/index.js';

type Overflow = {bytes: number; reason: string};

type Received = {
	framer: Framer;
	messages: Buffer[];
	overflows: Overflow[];
	/** Sum of all overflow counts so far. */
	discarded(): number;
};

/** A framer whose sink records what it is called with (message buffers kept as given, not copied). */
function receive(spec: FramingSpec, options?: FramerOptions): Received {
	const messages: Buffer[] = [];
	const overflows: Overflow[] = [];
	const framer = createFramer(spec, {
		message(payload) {
			messages.push(payload);
		},
		overflow(bytes, reason) {
			overflows.push({bytes, reason});
		},
	}, options);
	if (framer === undefined) {
		throw new Error(`no framer for ${formatFraming(spec)}`);
	}

	return {
		framer,
		messages,
		overflows,
		discarded: () => overflows.reduce((sum, overflow) => sum + overflow.bytes, 0),
	};
}

/** Pushes every chunk, in order, and returns what came out. */
function feed(spec: FramingSpec, chunks: Buffer[], options?: FramerOptions): Received {
	const received = receive(spec, options);
	for (const chunk of chunks) {
		received.framer.push(chunk);
	}

	return received;
}

function thrownBy(run: () => unknown): NetdashError {
	try {
		run();
	} catch (error) {
		expect(error).toBeInstanceOf(NetdashError);
		return error as NetdashError;
	}

	throw new Error('expected a throw');
}

const text = (value: string) => Buffer.from(value, 'latin1');
const strings = (buffers: Buffer[]) => buffers.map(buffer => buffer.toString('latin1'));

/** Where to cut a stream: at random offsets (repeats make empty chunks), or into single bytes. */
type ChunkPlan = {kind: 'cuts'; cuts: number[]} | {kind: 'single-bytes'};

const chunkPlan: fc.Arbitrary<ChunkPlan> = fc.oneof(
	fc.record({kind: fc.constant('cuts' as const), cuts: fc.array(fc.nat(), {maxLength: 30})}),
	fc.constant({kind: 'single-bytes' as const}),
);

/**
 * Cuts `stream` into chunks following `plan`. Each chunk is copied into its own
 * memory, so a framer that reads past a chunk's end cannot pass by luck.
 */
function split(stream: Buffer, plan: ChunkPlan): Buffer[] {
	const empty = Buffer.alloc(0);
	if (plan.kind === 'single-bytes') {
		return [empty, ...[...stream].map(byte => Buffer.from([byte])), empty];
	}

	const positions = plan.cuts.map(cut => cut % (stream.length + 1)).sort((a, b) => a - b);
	const bounds = [0, ...positions, stream.length];
	return bounds.slice(1).map((end, index) => Buffer.from(stream.subarray(bounds[index], end)));
}

/** Bytes with LF and CR (and a plain letter) far more often than chance. */
const streamByte = fc.oneof(
	fc.constantFrom(0x0A, 0x0D, 0x61),
	fc.integer({min: 0, max: 255}),
);

/** A line's content: any bytes but LF, with many CRs. */
const lineContent = fc.array(streamByte, {maxLength: 24})
	.map(bytes => Buffer.from(bytes.map(byte => byte === 0x0A ? 0x0D : byte)));

const payload = (maxLength: number) => fc.uint8Array({maxLength}).map(bytes => Buffer.from(bytes));

afterEach(() => {
	vi.restoreAllMocks();
});

describe('round trips', () => {
	test('line framer returns the exact lines whatever the chunk boundaries', () => {
		fc.assert(fc.property(
			fc.array(fc.record({content: lineContent, isCrlf: fc.boolean()}), {maxLength: 20}),
			lineContent,
			chunkPlan,
			(lines, tailContent, plan) => {
				// Given lines ending in LF (encodeFrame) or CRLF, and an unfinished last line
				const frames = lines.map(({content, isCrlf}) =>
					// A line ending in CR then LF reads as CRLF, so such content needs CRLF itself.
					isCrlf || content.at(-1) === 0x0D ? Buffer.concat([content, text('\r\n')]) : encodeFrame({kind: 'line'}, content));
				const stream = Buffer.concat([...frames, tailContent]);

				// When the stream arrives in arbitrary chunks
				const received = feed({kind: 'line'}, split(stream, plan));

				// Then exactly the lines come out, and the unfinished one waits
				expect(strings(received.messages)).toEqual(strings(lines.map(line => line.content)));
				expect(received.overflows).toEqual([]);
				expect(received.framer.buffered).toBe(tailContent.length);
			},
		), {numRuns: 500});
	});

	test('u16 and u32 framers return the exact messages whatever the chunk boundaries', () => {
		fc.assert(fc.property(
			fc.constantFrom<FramingSpec>({kind: 'u16'}, {kind: 'u32'}),
			fc.array(payload(300), {maxLength: 12}),
			payload(20),
			fc.nat(),
			chunkPlan,
			(spec, messages, last, cut, plan) => {
				// Given framed messages and the beginning of one more
				const lastFrame = encodeFrame(spec, last);
				const tail = lastFrame.subarray(0, cut % lastFrame.length);
				const stream = Buffer.concat([...messages.map(message => encodeFrame(spec, message)), tail]);

				const received = feed(spec, split(stream, plan));

				expect(received.messages).toEqual(messages);
				expect(received.overflows).toEqual([]);
				expect(received.framer.buffered).toBe(tail.length);
			},
		), {numRuns: 300});
	});

	test('fixed framer returns every block of its size whatever the chunk boundaries', () => {
		fc.assert(fc.property(
			fc.integer({min: 1, max: 9}).chain(size => fc.record({
				size: fc.constant(size),
				messages: fc.array(fc.uint8Array({minLength: size, maxLength: size}).map(bytes => Buffer.from(bytes)), {maxLength: 20}),
				tailLength: fc.integer({min: 0, max: size - 1}),
			})),
			chunkPlan,
			({size, messages, tailLength}, plan) => {
				const spec: FramingSpec = {kind: 'fixed', size};
				const stream = Buffer.concat([...messages.map(message => encodeFrame(spec, message)), Buffer.alloc(tailLength, 7)]);

				const received = feed(spec, split(stream, plan));

				expect(received.messages).toEqual(messages);
				expect(received.framer.buffered).toBe(tailLength);
			},
		), {numRuns: 300});
	});

	test('raw framing has no framer and sends bytes unchanged', () => {
		const message = text('as is\n');
		expect(createFramer({kind: 'raw'}, {message() {}, overflow() {}})).toBeUndefined();
		expect(encodeFrame({kind: 'raw'}, message)).toBe(message);
	});
});

describe('line framer', () => {
	test('says which terminator ended each line, LF or CRLF, even when the CR ends one chunk and the LF starts the next', () => {
		const seen: Array<[string, number | undefined]> = [];
		const framer = createFramer({kind: 'line'}, {
			message(payload, delimiterBytes) {
				seen.push([payload.toString(), delimiterBytes]);
			},
			overflow() {},
		})!;
		framer.push(Buffer.from('one\r\ntwo\nthree\r'));
		framer.push(Buffer.from('\nfour'));
		expect(seen).toEqual([['one', 2], ['two', 1], ['three', 2]]);
		expect(framer.buffered).toBe(4);
	});

	test('line framer strips a CR at the end of one chunk when the LF starts the next', () => {
		const received = feed({kind: 'line'}, [text('abc\r'), text('\ndef\r'), text('\n')]);
		expect(strings(received.messages)).toEqual(['abc', 'def']);
	});

	test('line framer keeps a CR inside a line and all but the last CR before an LF', () => {
		const received = feed({kind: 'line'}, [text('a\rb\nc\r\r\n\r\rd\r\n')]);
		expect(strings(received.messages)).toEqual(['a\rb', 'c\r', '\r\rd']);
	});

	test('line framer reports empty lines as empty messages', () => {
		const received = feed({kind: 'line'}, [text('\n\r\n'), text('\r'), text('\n\n')]);
		expect(strings(received.messages)).toEqual(['', '', '', '']);
	});

	test('line framer keeps a line of exactly the limit even when its CR arrives before the LF', () => {
		// Given a 3-byte limit and a 3-byte line whose CR LF is split
		const received = receive({kind: 'line'}, {maxMessageBytes: 3});
		received.framer.push(text('abc\r'));
		// Then the CR might be a terminator, so nothing is discarded yet
		expect(received.overflows).toEqual([]);
		expect(received.framer.buffered).toBe(4);

		received.framer.push(text('\n'));
		expect(strings(received.messages)).toEqual(['abc']);
		expect(received.overflows).toEqual([]);
		expect(received.framer.buffered).toBe(0);
	});

	test('line framer discards a line one byte over the limit', () => {
		const received = feed({kind: 'line'}, [text('abcd\r'), text('\nok\n')], {maxMessageBytes: 3});
		expect(strings(received.messages)).toEqual(['ok']);
		expect(received.discarded()).toBe(4);
	});

	test('line framer discards an over-long line as it arrives, counts it exactly and still delivers the next line', () => {
		// Given a 10-byte limit
		const received = receive({kind: 'line'}, {maxMessageBytes: 10});

		// When a 25-byte line arrives in pieces, its CR LF split across chunks
		received.framer.push(text('x'.repeat(7)));
		received.framer.push(text('x'.repeat(7)));
		// Then the overflow is reported as soon as the line outgrows the limit, and nothing is held
		expect(received.discarded()).toBe(14);
		expect(received.framer.buffered).toBe(0);

		received.framer.push(text('x'.repeat(7)));
		received.framer.push(text('xxxx\r'));
		received.framer.push(text('\nhello\n'));

		// Then the next line arrives and the discarded count is the line without its CR LF
		expect(strings(received.messages)).toEqual(['hello']);
		expect(received.discarded()).toBe(25);
		expect(received.framer.buffered).toBe(0);
		for (const overflow of received.overflows) {
			expect(overflow.bytes).toBeGreaterThan(0);
			expect(overflow.reason).toMatch(/^[^\n]+$/);
		}
	});

	test('line framer counts a CR that turns out not to end an over-long line', () => {
		const received = feed({kind: 'line'}, [text('x'.repeat(12)), text('\r'), text(''), text('y\r'), text('\r\n'), text('next\n')], {maxMessageBytes: 10});
		// The line is 12 x, CR, y, CR; the last CR belongs to the terminator.
		expect(received.discarded()).toBe(15);
		expect(strings(received.messages)).toEqual(['next']);
	});

	test('line framer discards an over-long line found whole in one chunk', () => {
		const received = feed({kind: 'line'}, [text(`${'y'.repeat(20)}\r\nok\n`)], {maxMessageBytes: 10});
		expect(strings(received.messages)).toEqual(['ok']);
		expect(received.overflows).toHaveLength(1);
		expect(received.discarded()).toBe(20);
	});

	test('line framer with a small limit keeps short lines and counts every discarded byte', () => {
		fc.assert(fc.property(
			fc.array(streamByte, {maxLength: 80}).map(bytes => Buffer.from(bytes)),
			fc.integer({min: 1, max: 6}),
			chunkPlan,
			(stream, max, plan) => {
				// A model of the whole stream at once: each line kept or discarded whole
				const expected: Buffer[] = [];
				let discarded = 0;
				let start = 0;
				for (let lf = stream.indexOf(0x0A); lf !== -1; lf = stream.indexOf(0x0A, start)) {
					const line = stream.subarray(start, stream[lf - 1] === 0x0D && lf > start ? lf - 1 : lf);
					if (line.length > max) {
						discarded += line.length;
					} else {
						expected.push(line);
					}

					start = lf + 1;
				}

				// The unfinished last line is held, or discarded once surely too long
				// (a last CR may yet start its terminator, so it is not counted).
				const rest = stream.subarray(start);
				const restSize = rest.length - (rest.at(-1) === 0x0D ? 1 : 0);
				let buffered = rest.length;
				if (restSize > max) {
					discarded += restSize;
					buffered = 0;
				}

				const received = feed({kind: 'line'}, split(stream, plan), {maxMessageBytes: max});

				expect(strings(received.messages)).toEqual(strings(expected));
				expect(received.discarded()).toBe(discarded);
				expect(received.framer.buffered).toBe(buffered);
				expect(received.overflows.every(overflow => overflow.bytes > 0)).toBe(true);
			},
		), {numRuns: 1000});
	});
});

describe('length-prefixed and fixed framers', () => {
	test('u16 and u32 prefixes are big-endian', () => {
		const message = Buffer.alloc(258, 1);
		expect([...encodeFrame({kind: 'u16'}, message).subarray(0, 2)]).toEqual([1, 2]);
		expect([...encodeFrame({kind: 'u32'}, message).subarray(0, 4)]).toEqual([0, 0, 1, 2]);
	});

	test('u32 framer returns a 70,000-byte message split across chunks and its prefix', () => {
		const message = Buffer.alloc(70_000, 0xAB);
		const frame = encodeFrame({kind: 'u32'}, message);
		const received = feed({kind: 'u32'}, [frame.subarray(0, 1), frame.subarray(1, 3), frame.subarray(3, 40_000), frame.subarray(40_000)]);
		expect(received.messages).toEqual([message]);
	});

	test('u16 encoding refuses a message of 70,000 bytes', () => {
		const error = thrownBy(() => encodeFrame({kind: 'u16'}, Buffer.alloc(70_000)));
		expect(error.code).toBe('FRAME_TOO_LARGE');
		expect(error.message).toMatch(/70000.*u16.*65535/);
		expect(encodeFrame({kind: 'u16'}, Buffer.alloc(65_535))).toHaveLength(65_537);
	});

	test('fixed encoding refuses a message of the wrong size', () => {
		const error = thrownBy(() => encodeFrame({kind: 'fixed', size: 4}, text('abc')));
		expect(error.code).toBe('FRAME_WRONG_SIZE');
		expect(error.message).toMatch(/3 bytes.*fixed:4/);
	});

	test('u32 framer skips an absurd declared length and resyncs on the next message', () => {
		// Given the default 1 MiB limit and a frame declaring 4 GiB - 1
		const received = receive({kind: 'u32'});
		received.framer.push(Buffer.from([0xFF, 0xFF, 0xFF]));
		expect(received.framer.buffered).toBe(3);
		received.framer.push(Buffer.from([0xFF]));

		// Then the overflow is reported at once and nothing is held for it
		expect(received.overflows).toEqual([{bytes: 0xFF_FF_FF_FF, reason: expect.stringMatching(/4294967295/) as unknown}]);
		expect(received.framer.buffered).toBe(0);

		// When all those bytes and then a good frame arrive
		const block = Buffer.alloc(16 * 1024 * 1024);
		for (let index = 0; index < 255; index++) {
			received.framer.push(block);
		}

		received.framer.push(Buffer.concat([block.subarray(1), encodeFrame({kind: 'u32'}, text('after'))]));

		// Then the good frame arrives and the skip was reported only once
		expect(strings(received.messages)).toEqual(['after']);
		expect(received.overflows).toHaveLength(1);
	});

	test('u16 and u32 framers with a small limit skip exactly the long messages and keep the rest', () => {
		fc.assert(fc.property(
			fc.constantFrom<FramingSpec>({kind: 'u16'}, {kind: 'u32'}),
			fc.array(payload(12), {maxLength: 12}),
			fc.integer({min: 1, max: 8}),
			chunkPlan,
			(spec, messages, max, plan) => {
				const stream = Buffer.concat(messages.map(message => encodeFrame(spec, message)));

				const received = feed(spec, split(stream, plan), {maxMessageBytes: max});

				expect(received.messages).toEqual(messages.filter(message => message.length <= max));
				expect(received.overflows.map(overflow => overflow.bytes)).toEqual(messages.filter(message => message.length > max).map(message => message.length));
				expect(received.framer.buffered).toBe(0);
			},
		), {numRuns: 300});
	});

	test('fixed framer with a size over the limit skips every block and stays in sync', () => {
		const received = feed({kind: 'fixed', size: 4}, [text('aaaab'), text('bbbcc')], {maxMessageBytes: 3});
		expect(received.messages).toEqual([]);
		expect(received.overflows.map(overflow => overflow.bytes)).toEqual([4, 4, 4]);
		expect(received.overflows[0]?.reason).toMatch(/4 bytes.*3-byte limit/);
	});
});

describe('buffered bytes and copies', () => {
	test('buffered counts the bytes held for an unfinished message', () => {
		const line = receive({kind: 'line'});
		line.framer.push(text('ab'));
		line.framer.push(text('c'));
		expect(line.framer.buffered).toBe(3);
		line.framer.push(text('\nde'));
		expect(line.framer.buffered).toBe(2);

		const u32 = receive({kind: 'u32'});
		u32.framer.push(Buffer.from([0, 0]));
		expect(u32.framer.buffered).toBe(2);
		u32.framer.push(Buffer.from([0, 5, 1, 2, 3]));
		expect(u32.framer.buffered).toBe(7);
		u32.framer.push(Buffer.from([4, 5, 0]));
		expect(u32.framer.buffered).toBe(1);

		const fixed = receive({kind: 'fixed', size: 4});
		fixed.framer.push(text('abcdefg'));
		expect(fixed.framer.buffered).toBe(3);
	});

	test('a message inside one chunk is a view of that chunk', () => {
		// Small buffers share one pool, so compare offsets as well as memory.
		const isViewOf = (message: Buffer | undefined, chunk: Buffer, offset: number) =>
			message?.buffer === chunk.buffer && message.byteOffset === chunk.byteOffset + offset;

		const chunk = text('one\ntwo\r\n');
		const received = feed({kind: 'line'}, [chunk]);
		expect(strings(received.messages)).toEqual(['one', 'two']);
		expect(isViewOf(received.messages[0], chunk, 0)).toBe(true);
		expect(isViewOf(received.messages[1], chunk, 4)).toBe(true);

		const frame = encodeFrame({kind: 'u16'}, text('payload'));
		const sized = feed({kind: 'u16'}, [frame]);
		expect(isViewOf(sized.messages[0], frame, 2)).toBe(true);

		const blocks = text('abcdef');
		const fixed = feed({kind: 'fixed', size: 3}, [blocks]);
		expect(isViewOf(fixed.messages[1], blocks, 3)).toBe(true);
	});

	test('a message spread over many chunks is concatenated once', () => {
		const concat = vi.spyOn(Buffer, 'concat');
		const piece = Buffer.alloc(1000, 0x61);

		const line = receive({kind: 'line'});
		for (let index = 0; index < 200; index++) {
			line.framer.push(piece);
		}

		line.framer.push(text('\n'));
		expect(line.messages[0]).toHaveLength(200_000);
		expect(concat).toHaveBeenCalledTimes(1);

		const frame = encodeFrame({kind: 'u32'}, Buffer.alloc(200_000, 0x62));
		concat.mockClear();
		const u32 = receive({kind: 'u32'});
		for (let offset = 0; offset < frame.length; offset += 1000) {
			u32.framer.push(frame.subarray(offset, offset + 1000));
		}

		expect(u32.messages[0]).toHaveLength(200_000);
		expect(concat).toHaveBeenCalledTimes(1);
	});

	test('a framer refuses a limit or fixed size it cannot honour', () => {
		const sink = {message() {}, overflow() {}};
		expect(thrownBy(() => createFramer({kind: 'line'}, sink, {maxMessageBytes: 0})).code).toBe('BAD_MAX_MESSAGE_BYTES');
		expect(thrownBy(() => createFramer({kind: 'line'}, sink, {maxMessageBytes: 1.5})).code).toBe('BAD_MAX_MESSAGE_BYTES');
		expect(thrownBy(() => createFramer({kind: 'fixed', size: 0}, sink)).code).toBe('BAD_FRAMING');
	});
});

describe('parseFraming and formatFraming', () => {
	test.each([
		['raw', {kind: 'raw'}],
		['line', {kind: 'line'}],
		['u16', {kind: 'u16'}],
		['u32', {kind: 'u32'}],
		['fixed:1', {kind: 'fixed', size: 1}],
		['fixed:512', {kind: 'fixed', size: 512}],
		[`fixed:${MAX_FIXED_SIZE}`, {kind: 'fixed', size: MAX_FIXED_SIZE}],
		// Case does not matter on the command line.
		['LINE', {kind: 'line'}],
		['FIXED:4', {kind: 'fixed', size: 4}],
	])('framing %j is understood', (input, spec) => {
		expect(parseFraming(input)).toEqual(spec);
	});

	test.each([
		'fixed:0',
		'fixed:x',
		'fixed:',
		'fixed:-1',
		'fixed:+4',
		'fixed:1.5',
		'fixed:1e3',
		'fixed:04',
		'fixed: 4',
		`fixed:${MAX_FIXED_SIZE + 1}`,
		'bogus',
		'',
		' line',
		'u8',
		'lines\nwith a newline',
	])('framing %j is refused with one line naming it and the choices', input => {
		const error = thrownBy(() => parseFraming(input));
		expect(error.code).toBe('BAD_FRAMING');
		expect(error.message).not.toMatch(/[\r\n]/);
		expect(error.message).toContain(JSON.stringify(input).slice(1, -1));
		expect(error.message).toContain('fixed:N');
		expect(error.message).toContain(String(MAX_FIXED_SIZE));
	});

	test('an unknown framing lists every choice', () => {
		expect(thrownBy(() => parseFraming('bogus')).message).toBe(`Unknown framing "bogus": use raw, line, u16, u32 or fixed:N (N from 1 to ${MAX_FIXED_SIZE})`);
	});

	test('formatFraming and parseFraming undo each other', () => {
		const spec: fc.Arbitrary<FramingSpec> = fc.oneof(
			fc.constantFrom<FramingSpec>({kind: 'raw'}, {kind: 'line'}, {kind: 'u16'}, {kind: 'u32'}),
			fc.integer({min: 1, max: MAX_FIXED_SIZE}).map(size => ({kind: 'fixed' as const, size})),
		);
		fc.assert(fc.property(spec, value => {
			expect(parseFraming(formatFraming(value))).toEqual(value);
		}));
		expect(formatFraming(parseFraming('fixed:64'))).toBe('fixed:64');
	});
});
