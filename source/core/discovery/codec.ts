/**
 * The discovery packet: pure `encode` / `decode` / `encodingLength` in the
 * manner of dns-packet. `decode` never throws; a datagram that fails to
 * decode is a reason string the glue reports and drops.
 *
 * Wire layout (big-endian), 21..149 bytes:
 *
 * | offset | size  | field                                              |
 * | ------ | ----- | -------------------------------------------------- |
 * | 0      | 4     | magic `NDSH`                                       |
 * | 4      | 1     | version (1)                                        |
 * | 5      | 1     | kind: 1 announce, 2 probe, 3 reply, 4 bye          |
 * | 6      | 1     | flags, reserved: must be 0                         |
 * | 7      | 8     | instance id                                        |
 * | 15     | 4     | request id: 0 in announce/bye, non-zero otherwise  |
 * | 19     | 1     | name length n (≤ 64)                               |
 * | 20     | n     | name, valid UTF-8                                  |
 * | 20+n   | 1     | port count p (≤ 32)                                |
 * | 21+n   | 2 × p | TCP ports, each 1..65535                           |
 *
 * Nothing may follow the last port.
 */
import {crypto} from '../builtin.js';
import {NetdashError} from '../errors.js';

/** The four bytes every netdash discovery packet starts with: `NDSH`. */
export const MAGIC: Buffer = Buffer.from('NDSH', 'latin1');

/** The packet version this codec reads and writes. */
export const VERSION = 1;

/** Upper bound on a datagram's size before decode even looks at it; fits any path MTU. */
export const MAX_PACKET_BYTES = 1200;

/** Longest name, in UTF-8 bytes. */
export const MAX_NAME_BYTES = 64;

/** Most TCP ports one packet lists. */
export const MAX_PORTS = 32;

/** Size of the smallest valid packet: empty name, no ports. */
export const MIN_PACKET_BYTES = 21;

/**
 * What a packet says: `announce` (I am here), `probe` (who is there?),
 * `reply` (answer to a probe, same request id) and `bye` (I am leaving).
 */
export type PacketKind = 'announce' | 'probe' | 'reply' | 'bye';

/** A decoded discovery packet, or one to encode. */
export type DiscoveryPacket = {
	/** What the packet says. */
	kind: PacketKind;
	/** The sender's instance id: 16 lowercase hex characters (8 random bytes). */
	instanceId: string;
	/** u32: 0 in announce and bye; non-zero in a probe and copied into its reply. */
	requestId: number;
	/** The sender's name (usually its hostname), at most 64 UTF-8 bytes. */
	name: string;
	/** TCP ports the sender listens on, in order, each 1..65535, at most 32. */
	ports: number[];
};

/** Every reason `decode` can give for refusing bytes. */
export const DECODE_FAILURES = [
	'too-short',
	'too-large',
	'bad-magic',
	'bad-version',
	'bad-kind',
	'bad-flags',
	'bad-request-id',
	'truncated',
	'bad-name',
	'bad-port',
	'too-many-ports',
	'trailing-bytes',
] as const;

/**
 * Why `decode` refused bytes. It reads field by field and reports the first
 * problem it meets:
 * - `too-large`: more than MAX_PACKET_BYTES (checked before anything else).
 * - `too-short`: fewer than MIN_PACKET_BYTES, so no packet at all.
 * - `bad-magic`, `bad-version`, `bad-kind`: not NDSH, not version 1, not kind 1..4.
 * - `bad-flags`: a reserved flag bit is set.
 * - `bad-request-id`: non-zero in announce/bye, or zero in probe/reply.
 * - `bad-name`: length over 64, or the bytes are not valid UTF-8.
 * - `too-many-ports`: port count over 32.
 * - `truncated`: a length or count points past the end of the bytes.
 * - `bad-port`: a port is 0.
 * - `trailing-bytes`: bytes follow the last port.
 */
export type DecodeFailure = typeof DECODE_FAILURES[number];

/** The outcome of `decode`: a packet, or the reason there is none. */
export type DecodeResult = {ok: true; packet: DiscoveryPacket} | {ok: false; reason: DecodeFailure};

const KINDS: readonly PacketKind[] = ['announce', 'probe', 'reply', 'bye'];
const KIND_CODES: Readonly<Record<PacketKind, number>> = {announce: 1, probe: 2, reply: 3, bye: 4};
const INSTANCE_ID_BYTES = 8;
const NAME_LENGTH_OFFSET = 19;
// `ignoreBOM` keeps a leading U+FEFF in the name, so a decoded packet
// re-encodes to exactly the bytes it came from.
const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true});
const instanceIdPattern = /^[\da-f]{16}$/;
const loneSurrogate = /\p{Cs}/u;

/**
 * Reads one datagram. Never throws, whatever the bytes: the result is a
 * packet, or a reason from DECODE_FAILURES. A packet that decodes encodes
 * back to exactly the same bytes.
 */
export function decode(bytes: Uint8Array): DecodeResult {
	if (bytes.length > MAX_PACKET_BYTES) {
		return fail('too-large');
	}

	if (bytes.length < MIN_PACKET_BYTES) {
		return fail('too-short');
	}

	// A view, not a copy; `bytes` may be a slice of a larger buffer.
	const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
	if (!hasMagic(buffer)) {
		return fail('bad-magic');
	}

	if (buffer[4] !== VERSION) {
		return fail('bad-version');
	}

	const kind = KINDS[buffer.readUInt8(5) - 1];
	if (kind === undefined) {
		return fail('bad-kind');
	}

	if (buffer[6] !== 0) {
		return fail('bad-flags');
	}

	const instanceId = buffer.toString('hex', 7, 7 + INSTANCE_ID_BYTES);
	const requestId = buffer.readUInt32BE(15);
	if (!isRequestIdValid(kind, requestId)) {
		return fail('bad-request-id');
	}

	const nameLength = buffer.readUInt8(NAME_LENGTH_OFFSET);
	if (nameLength > MAX_NAME_BYTES) {
		return fail('bad-name');
	}

	const nameEnd = NAME_LENGTH_OFFSET + 1 + nameLength;
	// The port count byte must follow the name.
	if (nameEnd + 1 > buffer.length) {
		return fail('truncated');
	}

	let name: string;
	try {
		name = utf8.decode(buffer.subarray(NAME_LENGTH_OFFSET + 1, nameEnd));
	} catch {
		return fail('bad-name');
	}

	const portCount = buffer.readUInt8(nameEnd);
	if (portCount > MAX_PORTS) {
		return fail('too-many-ports');
	}

	const end = nameEnd + 1 + (2 * portCount);
	if (end > buffer.length) {
		return fail('truncated');
	}

	const ports: number[] = [];
	for (let offset = nameEnd + 1; offset < end; offset += 2) {
		const port = buffer.readUInt16BE(offset);
		if (port === 0) {
			return fail('bad-port');
		}

		ports.push(port);
	}

	if (end !== buffer.length) {
		return fail('trailing-bytes');
	}

	return {ok: true, packet: {kind, instanceId, requestId, name, ports}};
}

/**
 * Writes a packet to a new Buffer of `encodingLength(packet)` bytes.
 *
 * @throws NetdashError `BAD_PACKET` when the packet breaks a rule decode enforces (name too long or not well-formed, bad port, bad instance id, request id wrong for the kind…).
 */
export function encode(packet: DiscoveryPacket): Buffer {
	assertEncodable(packet);
	const buffer = Buffer.alloc(encodingLength(packet));
	MAGIC.copy(buffer, 0);
	buffer.writeUInt8(VERSION, 4);
	buffer.writeUInt8(KIND_CODES[packet.kind], 5);
	buffer.writeUInt8(0, 6);
	buffer.write(packet.instanceId, 7, INSTANCE_ID_BYTES, 'hex');
	buffer.writeUInt32BE(packet.requestId, 15);
	const nameLength = buffer.write(packet.name, NAME_LENGTH_OFFSET + 1, 'utf8');
	buffer.writeUInt8(nameLength, NAME_LENGTH_OFFSET);
	let offset = buffer.writeUInt8(packet.ports.length, NAME_LENGTH_OFFSET + 1 + nameLength);
	for (const port of packet.ports) {
		offset = buffer.writeUInt16BE(port, offset);
	}

	return buffer;
}

/** The number of bytes `encode(packet)` writes, for a valid packet. */
export function encodingLength(packet: DiscoveryPacket): number {
	return MIN_PACKET_BYTES + Buffer.byteLength(packet.name, 'utf8') + (2 * packet.ports.length);
}

/**
 * True when the bytes start with MAGIC. Tells a netdash packet that failed to
 * decode (worth a warning) from foreign traffic on the same port (ignored).
 */
export function hasMagic(bytes: Uint8Array): boolean {
	return bytes.length >= MAGIC.length
		&& bytes[0] === MAGIC[0]
		&& bytes[1] === MAGIC[1]
		&& bytes[2] === MAGIC[2]
		&& bytes[3] === MAGIC[3];
}

/** A fresh instance id: 16 lowercase hex characters from `crypto.randomBytes(8)`. */
export function randomInstanceId(): string {
	return crypto().randomBytes(INSTANCE_ID_BYTES).toString('hex');
}

/**
 * A random non-zero u32 from the crypto generator, for a probe. Not
 * sequential: an off-path sender cannot guess the next one to forge a reply.
 */
export function randomRequestId(): number {
	return crypto().randomInt(1, 0x1_00_00_00_00);
}

/**
 * Cuts a name (usually `os.hostname()`) to at most 64 UTF-8 bytes without
 * splitting a code point, and replaces any lone surrogate with U+FFFD, so the
 * result always encodes.
 */
export function clampName(name: string): string {
	const wellFormed = name.replaceAll(/\p{Cs}/gu, '\uFFFD');
	let bytes = 0;
	let result = '';
	for (const codePoint of wellFormed) {
		bytes += Buffer.byteLength(codePoint, 'utf8');
		if (bytes > MAX_NAME_BYTES) {
			break;
		}

		result += codePoint;
	}

	return result;
}

function fail(reason: DecodeFailure): DecodeResult {
	return {ok: false, reason};
}

function isRequestIdValid(kind: PacketKind, requestId: number): boolean {
	return kind === 'probe' || kind === 'reply' ? requestId !== 0 : requestId === 0;
}

function assertEncodable(packet: DiscoveryPacket): void {
	if (!Object.hasOwn(KIND_CODES, packet.kind)) {
		throw badPacket(`kind must be announce, probe, reply or bye, not ${describe(packet.kind)}`);
	}

	if (typeof packet.instanceId !== 'string' || !instanceIdPattern.test(packet.instanceId)) {
		throw badPacket(`instance id must be 16 lowercase hex characters, not ${describe(packet.instanceId)}`);
	}

	if (!Number.isInteger(packet.requestId) || packet.requestId < 0 || packet.requestId > 0xFF_FF_FF_FF) {
		throw badPacket(`request id must be a u32, not ${describe(packet.requestId)}`);
	}

	if (!isRequestIdValid(packet.kind, packet.requestId)) {
		throw badPacket(packet.requestId === 0 ? `a ${packet.kind} needs a non-zero request id` : `a ${packet.kind} carries request id 0, not ${packet.requestId}`);
	}

	if (typeof packet.name !== 'string' || loneSurrogate.test(packet.name)) {
		throw badPacket('name must be a well-formed string (no lone surrogates)');
	}

	const nameBytes = Buffer.byteLength(packet.name, 'utf8');
	if (nameBytes > MAX_NAME_BYTES) {
		throw badPacket(`name is ${nameBytes} UTF-8 bytes; the limit is ${MAX_NAME_BYTES} (see clampName)`);
	}

	if (!Array.isArray(packet.ports) || packet.ports.length > MAX_PORTS) {
		throw badPacket(`ports must be an array of at most ${MAX_PORTS}`);
	}

	for (const port of packet.ports) {
		if (!Number.isInteger(port) || port < 1 || port > 65_535) {
			throw badPacket(`port must be a whole number from 1 to 65535, not ${describe(port)}`);
		}
	}
}

function badPacket(detail: string): NetdashError {
	return new NetdashError('BAD_PACKET', `Bad discovery packet: ${detail}`);
}

/** A short, printable-ASCII rendering of a value for a one-line error message. */
function describe(value: unknown): string {
	if (typeof value === 'number') {
		return String(value);
	}

	if (typeof value !== 'string') {
		return `a value of type ${typeof value}`;
	}

	// Escape everything outside printable ASCII: the message may reach a terminal.
	const text = JSON.stringify(value.slice(0, 40)).replaceAll(/[^\x20-\x7e]/g, character => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
	return value.length > 40 ? `${text}…` : text;
}
