import {readFileSync} from 'node:fs';
import fc from 'fast-check';
import {describe, expect, it} from 'vitest';
import {
	clampName,
	decode,
	DECODE_FAILURES,
	type DecodeFailure,
	type DiscoveryPacket,
	encode,
	encodingLength,
	hasMagic,
	MAGIC,
	MAX_PACKET_BYTES,
	type PacketKind,
	randomInstanceId,
	randomRequestId,
} from '../../source/core/discovery/codec.js';

type RawFields = {
	magic?: string;
	version?: number;
	kind?: number;
	flags?: number;
	instanceId?: string;
	requestId?: number;
	name?: string | Uint8Array;
	nameLength?: number;
	ports?: number[];
	portCount?: number;
	tail?: number[];
};

/** Builds packet bytes by hand, field by field, so tests can break any one field. */
function craft(fields: RawFields = {}): Buffer {
	const {magic = 'NDSH', version = 1, kind = 1, flags = 0, instanceId = '0123456789abcdef', requestId = 0, name = 'host', ports = [], tail = []} = fields;
	const nameBytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : Buffer.from(name);
	const head = Buffer.alloc(19);
	head.write(magic, 0, 'latin1');
	head.writeUInt8(version, 4);
	head.writeUInt8(kind, 5);
	head.writeUInt8(flags, 6);
	head.write(instanceId, 7, 'hex');
	head.writeUInt32BE(requestId, 15);
	const portBytes = Buffer.alloc(ports.length * 2);
	for (const [index, port] of ports.entries()) {
		portBytes.writeUInt16BE(port, index * 2);
	}

	return Buffer.concat([
		head,
		Buffer.from([fields.nameLength ?? nameBytes.length]),
		nameBytes,
		Buffer.from([fields.portCount ?? ports.length]),
		portBytes,
		Buffer.from(tail),
	]);
}

function roundTrip(packet: DiscoveryPacket): DiscoveryPacket {
	const bytes = encode(packet);
	expect(bytes.length).toBe(encodingLength(packet));
	const result = decode(bytes);
	if (!result.ok) {
		throw new Error(`decode refused an encoded packet: ${result.reason}`);
	}

	expect(encode(result.packet).equals(bytes)).toBe(true);
	return result.packet;
}

function reasonOf(bytes: Uint8Array): DecodeFailure | 'ok' {
	const result = decode(bytes);
	return result.ok ? 'ok' : result.reason;
}

const examples: DiscoveryPacket[] = [
	{kind: 'announce', instanceId: '0123456789abcdef', requestId: 0, name: 'alpha', ports: [22, 8080]},
	{kind: 'probe', instanceId: 'fedcba9876543210', requestId: 0xDE_AD_BE_EF, name: '', ports: []},
	{kind: 'reply', instanceId: 'ffffffffffffffff', requestId: 1, name: 'héllo-✓-😀', ports: [65_535, 1]},
	{kind: 'bye', instanceId: '0000000000000000', requestId: 0, name: 'n'.repeat(64), ports: Array.from({length: 32}, (_, index) => index + 1)},
];

const kinds: PacketKind[] = ['announce', 'probe', 'reply', 'bye'];

/** Any packet encode accepts. */
const validPacket: fc.Arbitrary<DiscoveryPacket> = fc.record({
	kind: fc.constantFrom(...kinds),
	instanceId: fc.uint8Array({minLength: 8, maxLength: 8}).map(bytes => Buffer.from(bytes).toString('hex')),
	nonZeroId: fc.integer({min: 1, max: 0xFF_FF_FF_FF}),
	name: fc.oneof(fc.string({unit: 'binary', maxLength: 20}), fc.string({unit: 'binary', maxLength: 80}).map(clampName), fc.string({unit: 'binary-ascii', maxLength: 64})),
	ports: fc.array(fc.integer({min: 1, max: 65_535}), {maxLength: 32}),
}).map(({kind, instanceId, nonZeroId, name, ports}) => ({
	kind,
	instanceId,
	requestId: kind === 'probe' || kind === 'reply' ? nonZeroId : 0,
	name,
	ports,
}));

describe('discovery codec round trip', () => {
	it.each(examples)('a $kind packet decodes to what was encoded', packet => {
		expect(roundTrip(packet)).toEqual(packet);
	});

	it('lays the announce out byte by byte as documented', () => {
		expect(encode(examples[0]!).toString('hex')).toBe([
			'4e445348', // NDSH
			'01', // version
			'01', // announce
			'00', // flags
			'0123456789abcdef', // instance id
			'00000000', // request id
			'05', '616c706861', // 'alpha'
			'02', '0016', '1f90', // ports 22, 8080
		].join(''));
	});

	it('any valid packet survives encode then decode, and encodingLength is exact', () => {
		fc.assert(fc.property(validPacket, packet => {
			expect(roundTrip(packet)).toEqual(packet);
		}), {seed: 1, numRuns: 2000});
	});

	it('decodes a packet that sits inside a larger buffer', () => {
		const bytes = encode(examples[2]!);
		const backing = new Uint8Array(bytes.length + 10);
		backing.set(bytes, 5);
		expect(decode(backing.subarray(5, 5 + bytes.length))).toEqual({ok: true, packet: examples[2]});
	});

	it('keeps control bytes and a byte order mark in a name exactly (escaping is the display\'s job)', () => {
		const name = '\uFEFFx\u001B]0;title\u0007\r\u202E';
		const packet = {...examples[0]!, name};
		expect(roundTrip(packet).name).toBe(name);
	});
});

describe('discovery codec refuses bad bytes with a reason', () => {
	const cases: Array<[DecodeFailure, string, Uint8Array]> = [
		['too-short', 'nothing at all', new Uint8Array(0)],
		['too-short', 'one byte less than the smallest packet', craft({name: ''}).subarray(0, 20)],
		['too-large', 'one byte over MAX_PACKET_BYTES', Buffer.concat([craft(), Buffer.alloc(MAX_PACKET_BYTES + 1 - craft().length)])],
		['bad-magic', 'lowercase magic', craft({magic: 'ndsh'})],
		['bad-version', 'version 2', craft({version: 2})],
		['bad-kind', 'kind 0', craft({kind: 0})],
		['bad-kind', 'kind 5', craft({kind: 5})],
		['bad-flags', 'a reserved flag bit', craft({flags: 0x40})],
		['bad-request-id', 'an announce with a request id', craft({requestId: 9})],
		['bad-request-id', 'a bye with a request id', craft({kind: 4, requestId: 9})],
		['bad-request-id', 'a probe with request id 0', craft({kind: 2, requestId: 0})],
		['bad-request-id', 'a reply with request id 0', craft({kind: 3, requestId: 0})],
		['bad-name', 'name length 65', craft({name: 'n'.repeat(65)})],
		['bad-name', 'a lone continuation byte', craft({name: new Uint8Array([0x61, 0x80])})],
		['bad-name', 'an overlong encoding', craft({name: new Uint8Array([0xC0, 0x80])})],
		['bad-name', 'an encoded surrogate', craft({name: new Uint8Array([0xED, 0xA0, 0x80])})],
		['bad-name', 'a sequence cut short by the end of the name', craft({name: new Uint8Array([0xE2, 0x82])})],
		['truncated', 'a name length past the end', craft({nameLength: 30})],
		['truncated', 'no port count after the name', craft({ports: [1]}).subarray(0, 24)],
		['truncated', 'a port count past the end', craft({ports: [1, 2], portCount: 3})],
		['truncated', 'half a port', craft({ports: [1, 2]}).subarray(0, 28)],
		['bad-port', 'port 0', craft({ports: [80, 0]})],
		['too-many-ports', '33 ports', craft({ports: Array.from({length: 33}, (_, index) => index + 1)})],
		['trailing-bytes', 'a byte after the last port', craft({ports: [22], tail: [0]})],
		['trailing-bytes', 'a second packet appended', Buffer.concat([craft(), craft({kind: 4})])],
	];

	it.each(cases)('%s: %s', (reason, _description, bytes) => {
		expect(decode(bytes)).toEqual({ok: false, reason});
	});

	it('has a crafted case for every reason', () => {
		expect(new Set(cases.map(([reason]) => reason))).toEqual(new Set(DECODE_FAILURES));
	});

	it('never decodes a packet cut short, at any length', () => {
		for (const packet of examples) {
			const bytes = encode(packet);
			for (let length = 0; length < bytes.length; length++) {
				expect(reasonOf(bytes.subarray(0, length))).toBe(length < 21 ? 'too-short' : 'truncated');
			}
		}
	});

	it('tells netdash bytes from foreign ones by the magic', () => {
		expect(hasMagic(craft({version: 9}))).toBe(true);
		expect(hasMagic(MAGIC)).toBe(true);
		expect(hasMagic(Buffer.from('NDS'))).toBe(false);
		expect(hasMagic(Buffer.from('GET / HTTP/1.1'))).toBe(false);
	});
});

describe('discovery codec refuses to encode a bad packet', () => {
	const base = examples[0]!;
	it.each<[string, DiscoveryPacket]>([
		['a name over 64 bytes', {...base, name: 'é'.repeat(33)}],
		['a lone surrogate in the name', {...base, name: 'a\uD800b'}],
		['port 0', {...base, ports: [0]}],
		['port 65536', {...base, ports: [65_536]}],
		['a fractional port', {...base, ports: [80.5]}],
		['33 ports', {...base, ports: Array.from({length: 33}, (_, index) => index + 1)}],
		['an uppercase instance id', {...base, instanceId: '0123456789ABCDEF'}],
		['a short instance id', {...base, instanceId: '0123456789abcde'}],
		['a request id on an announce', {...base, requestId: 5}],
		['request id 0 on a probe', {...base, kind: 'probe', requestId: 0}],
		['a request id over u32', {...base, kind: 'probe', requestId: 2 ** 32}],
		['a negative request id', {...base, kind: 'reply', requestId: -1}],
		['an unknown kind', {...base, kind: 'hello' as PacketKind}],
	])('%s throws BAD_PACKET with a one-line message', (_description, packet) => {
		let caught: unknown;
		try {
			encode(packet);
		} catch (error) {
			caught = error;
		}

		expect(caught).toMatchObject({name: 'NetdashError', code: 'BAD_PACKET'});
		expect((caught as Error).message).toMatch(/^[\x20-\x7E…]+$/);
	});
});

describe('clampName', () => {
	it.each([
		['short names stay as they are', 'alpha', 'alpha'],
		['ASCII is cut at 64 bytes', 'a'.repeat(70), 'a'.repeat(64)],
		['two-byte characters are never split', 'é'.repeat(40), 'é'.repeat(32)],
		['a character that would straddle the limit is dropped', `${'a'.repeat(63)}é`, 'a'.repeat(63)],
		['four-byte characters are never split', '😀'.repeat(17), '😀'.repeat(16)],
		['a lone surrogate becomes U+FFFD', 'a\uDC00b', 'a\uFFFDb'],
	])('%s', (_description, input, expected) => {
		expect(clampName(input)).toBe(expected);
	});

	it('always gives an encodable prefix of at most 64 bytes', () => {
		fc.assert(fc.property(fc.string({unit: 'binary', maxLength: 100}), name => {
			const clamped = clampName(name);
			expect(Buffer.byteLength(clamped)).toBeLessThanOrEqual(64);
			expect(name.startsWith(clamped)).toBe(true);
			expect(() => encode({...examples[0]!, name: clamped})).not.toThrow();
		}), {seed: 2, numRuns: 2000});
	});
});

describe('random ids', () => {
	it('instance ids are 16 lowercase hex characters and differ', () => {
		const ids = Array.from({length: 100}, () => randomInstanceId());
		for (const id of ids) {
			expect(id).toMatch(/^[\da-f]{16}$/);
		}

		expect(new Set(ids).size).toBe(100);
	});

	it('request ids are never 0 and not sequential over 1,000 calls', () => {
		const ids = Array.from({length: 1000}, () => randomRequestId());
		expect(ids.every(id => Number.isInteger(id) && id >= 1 && id <= 0xFF_FF_FF_FF)).toBe(true);
		const differences = ids.slice(1).map((id, index) => id - ids[index]!);
		expect(differences.every(difference => difference === 1)).toBe(false);
		expect(new Set(ids).size).toBeGreaterThan(990);
	});
});

describe('discovery codec fuzz', () => {
	const validBytes = validPacket.map(packet => encode(packet));
	const byte = fc.integer({min: 0, max: 255});

	/** Overwrites one byte of a copy. */
	const withByte = (bytes: Buffer, offset: number, value: number): Buffer => {
		const copy = Buffer.from(bytes);
		copy[offset] = value;
		return copy;
	};

	// Offset of the port count byte in an encoded packet.
	const portCountOffset = (bytes: Buffer): number => 20 + bytes[19]!;

	const invalidUtf8 = fc.constantFrom([0x80], [0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xFF], [0xFE], [0xE2, 0x82], [0xF0, 0x9F, 0x98]);
	const controlByte = fc.oneof(fc.integer({min: 0, max: 0x1F}), fc.constant(0x7F));
	const hostileName = fc.array(fc.oneof(
		controlByte.map(value => [value]),
		invalidUtf8,
		fc.integer({min: 0x80, max: 0x9F}).map(value => [0xC2, value]), // C1 controls, valid UTF-8
		fc.constant([0xE2, 0x80, 0xAE]), // RIGHT-TO-LEFT OVERRIDE
		fc.constant([0xEF, 0xBB, 0xBF]), // BYTE ORDER MARK
		byte.map(value => [value]),
		fc.constant([0x61]),
	), {maxLength: 24}).map(parts => Uint8Array.from(parts.flat()).subarray(0, 64));

	const input: fc.Arbitrary<Uint8Array> = fc.oneof(
		// (a) random bytes, foreign or with a plausible header
		{arbitrary: fc.uint8Array({maxLength: 200}), weight: 3},
		{arbitrary: fc.uint8Array({maxLength: 160}).map(tail => Buffer.concat([MAGIC, Buffer.from([1]), tail])), weight: 2},
		// (b) structure-aware mutations of valid packets
		fc.tuple(validBytes, fc.nat()).map(([bytes, cut]) => bytes.subarray(0, cut % (bytes.length + 1))),
		fc.tuple(validBytes, fc.array(fc.nat(), {minLength: 1, maxLength: 4})).map(([bytes, bits]) => {
			const copy = Buffer.from(bytes);
			for (const bit of bits) {
				const at = bit % (copy.length * 8);
				copy[at >> 3] = copy[at >> 3]! ^ (1 << (at & 7));
			}

			return copy;
		}),
		fc.tuple(validBytes, fc.integer({min: 0, max: 3}), byte).map(([bytes, at, value]) => withByte(bytes, at, value === MAGIC[at] ? value ^ 0xFF : value)),
		fc.tuple(validBytes, byte).map(([bytes, version]) => withByte(bytes, 4, version)),
		fc.tuple(validBytes, byte).map(([bytes, kind]) => withByte(bytes, 5, kind)),
		fc.tuple(validBytes, byte).map(([bytes, flags]) => withByte(bytes, 6, flags)),
		fc.tuple(validBytes, fc.integer({min: 0, max: 0xFF_FF_FF_FF})).map(([bytes, requestId]) => {
			const copy = Buffer.from(bytes);
			copy.writeUInt32BE(requestId, 15);
			return copy;
		}),
		fc.tuple(validBytes, byte).map(([bytes, nameLength]) => withByte(bytes, 19, nameLength)),
		fc.tuple(validBytes, byte).map(([bytes, portCount]) => withByte(bytes, portCountOffset(bytes), portCount)),
		fc.tuple(validBytes, fc.nat(), fc.constantFrom(0, 1, 0xFFFF)).map(([bytes, which, port]) => {
			const count = bytes[portCountOffset(bytes)]!;
			if (count === 0) {
				return bytes;
			}

			const copy = Buffer.from(bytes);
			copy.writeUInt16BE(port, portCountOffset(bytes) + 1 + (2 * (which % count)));
			return copy;
		}),
		// Control bytes and invalid UTF-8 in the name, with a correct length byte
		fc.tuple(validBytes, hostileName).map(([bytes, name]) => Buffer.concat([bytes.subarray(0, 19), Buffer.from([name.length]), name, bytes.subarray(portCountOffset(bytes))])),
		fc.tuple(validBytes, fc.uint8Array({minLength: 1, maxLength: 64})).map(([bytes, garbage]) => Buffer.concat([bytes, garbage])),
		fc.tuple(validBytes, fc.integer({min: 1, max: 200})).map(([bytes, extra]) => Buffer.concat([bytes, Buffer.alloc(MAX_PACKET_BYTES - bytes.length + extra)])),
	);

	it('decode never throws on 100,000 seeded inputs, and what decodes re-encodes to the same bytes', () => {
		const known = new Set<string>(DECODE_FAILURES);
		const counts = new Map<string, number>();
		let checked = 0;
		fc.assert(fc.property(input, bytes => {
			checked++;
			const result = decode(bytes);
			const outcome = result.ok ? 'ok' : result.reason;
			counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
			if (result.ok) {
				return hasMagic(bytes) && encode(result.packet).equals(bytes);
			}

			return known.has(result.reason);
		}), {seed: 0x4E_44_53_48, numRuns: 100_000});

		const table = [...counts].sort(([, a], [, b]) => b - a).map(([outcome, count]) => `${outcome}=${count}`).join(' ');
		console.log(`discovery codec fuzz: ${checked} inputs checked; ${table}`);
		expect(checked).toBeGreaterThanOrEqual(100_000);
		// The structure-aware mutations reach every branch of the decoder.
		for (const outcome of ['ok', ...DECODE_FAILURES]) {
			expect(counts.get(outcome), outcome).toBeGreaterThan(0);
		}
	});
});

describe('discovery regression corpus', () => {
	type CorpusCase = {description: string; expect: DecodeFailure | 'ok'; hex: string};
	const corpus = JSON.parse(readFileSync(new URL('../fixtures/discovery-corpus.json', import.meta.url), 'utf8')) as CorpusCase[];

	it.each(corpus)('$expect: $description', entry => {
		const bytes = Buffer.from(entry.hex, 'hex');
		expect(reasonOf(bytes)).toBe(entry.expect);
		const result = decode(bytes);
		if (result.ok) {
			expect(encode(result.packet).toString('hex')).toBe(entry.hex);
		}
	});

	it('covers every reason and every kind', () => {
		expect(new Set(corpus.map(entry => entry.expect))).toEqual(new Set(['ok', ...DECODE_FAILURES]));
		const decodedKinds = corpus.map(entry => decode(Buffer.from(entry.hex, 'hex'))).flatMap(result => result.ok ? [result.packet.kind] : []);
		expect(new Set(decodedKinds)).toEqual(new Set(kinds));
	});
});
