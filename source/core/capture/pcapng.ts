/**
 * A pcapng encoder (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html):
 * the blocks netdash writes and the IPv4 / IPv6 / TCP / UDP headers it
 * synthesizes around the bytes it carried. Pure and self-contained (node
 * builtins only), so the capture worker thread can load it from the source
 * or the bundle alike.
 *
 * Written here rather than taken from npm: the pcapng packages there are
 * readers, or writers unmaintained for years that only write the legacy
 * pcap format (no comments, no interface block); the part netdash needs is
 * three block types and a checksum, which is smaller than a dependency.
 */
import {isIPv4} from 'node:net';

/** LINKTYPE_RAW: each packet starts with its IPv4 or IPv6 header (the version nibble tells which). */
export const linktypeRaw = 101;
/** The most TCP payload one synthesized segment carries: an IPv4 total length is 16 bits (65,535 − 20 − 20). */
export const maxSegmentBytes = 65_495;

const blockShb = 0x0a_0d_0d_0a;
const blockIdb = 0x00_00_00_01;
const blockEpb = 0x00_00_00_06;
const optEnd = 0;
const optComment = 1;
const shbUserAppl = 4;
const ifName = 2;

function pad4(length: number): number {
	return (length + 3) & ~3;
}

/** Options as (code, value) pairs, each padded to 32 bits, ended by opt_endofopt; empty when there are none. */
function optionsLength(options: ReadonlyArray<readonly [number, Buffer]>): number {
	if (options.length === 0) {
		return 0;
	}

	let length = 4;
	for (const [, value] of options) {
		length += 4 + pad4(value.length);
	}

	return length;
}

function writeOptions(block: Buffer, at: number, options: ReadonlyArray<readonly [number, Buffer]>): number {
	if (options.length === 0) {
		return at;
	}

	for (const [code, value] of options) {
		block.writeUInt16LE(code, at);
		block.writeUInt16LE(value.length, at + 2);
		value.copy(block, at + 4);
		block.fill(0, at + 4 + value.length, at + 4 + pad4(value.length));
		at += 4 + pad4(value.length);
	}

	block.writeUInt16LE(optEnd, at);
	block.writeUInt16LE(0, at + 2);
	return at + 4;
}

/** A block: type, total length, body, options, total length again (every block is a multiple of 4 bytes). */
function block(type: number, body: Buffer, options: ReadonlyArray<readonly [number, Buffer]>): Buffer {
	const total = 12 + pad4(body.length) + optionsLength(options);
	const out = Buffer.alloc(total);
	out.writeUInt32LE(type, 0);
	out.writeUInt32LE(total, 4);
	body.copy(out, 8);
	writeOptions(out, 8 + pad4(body.length), options);
	out.writeUInt32LE(total, total - 4);
	return out;
}

/** The Section Header Block (little-endian byte-order magic, version 1.0, section length unknown). */
export function sectionHeader(application: string): Buffer {
	const body = Buffer.alloc(16);
	body.writeUInt32LE(0x1a_2b_3c_4d, 0);
	body.writeUInt16LE(1, 4);
	body.writeUInt16LE(0, 6);
	// Section length -1: not known while writing.
	body.writeBigInt64LE(-1n, 8);
	return block(blockShb, body, [[shbUserAppl, Buffer.from(application)]]);
}

/** The one Interface Description Block: raw IP, no snap length, microsecond timestamps (the default if_tsresol). */
export function interfaceDescription(name: string): Buffer {
	const body = Buffer.alloc(8);
	body.writeUInt16LE(linktypeRaw, 0);
	body.writeUInt32LE(0, 4);
	return block(blockIdb, body, [[ifName, Buffer.from(name)]]);
}

/** An address as 4 or 16 bytes; an IPv4-mapped IPv6 address stays IPv6 (its peer is IPv6 too). */
export function addressBytes(address: string): Buffer {
	if (isIPv4(address)) {
		return Buffer.from(address.split('.').map(Number));
	}

	const bare = address.replace(/%.*$/, '');
	const [head = '', tail = ''] = bare.includes('::') ? bare.split('::') : [bare, ''];
	const words: number[] = [];
	const parse = (text: string) => {
		for (const part of text.split(':').filter(Boolean)) {
			if (part.includes('.')) {
				const [a, b, c, d] = part.split('.').map(Number) as [number, number, number, number];
				words.push((a << 8) | b, (c << 8) | d);
			} else {
				words.push(Number.parseInt(part, 16));
			}
		}
	};

	parse(head);
	const headWords = words.splice(0);
	parse(tail);
	const tailWords = words.splice(0);
	const all = bare.includes('::') ? [...headWords, ...Array.from({length: 8 - headWords.length - tailWords.length}, () => 0), ...tailWords] : headWords;
	const out = Buffer.alloc(16);
	for (const [index, word] of all.slice(0, 8).entries()) {
		out.writeUInt16BE(word & 0xff_ff, index * 2);
	}

	return out;
}

/** Whether typed arrays read words little-endian here (then a lane's bytes are swapped: RFC 1071 §2(B)). */
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * The one's-complement sum of `data[start, end)` read as 16-bit big-endian
 * words (odd length: a zero byte pads it), added to `initial`, not yet
 * folded. Wherever the bytes sit in memory: the aligned middle is summed as
 * native 32-bit words (a quarter of the steps of a byte loop), and since a
 * one's-complement sum only swaps with its lanes, the result is swapped
 * back when the lanes came out crossed.
 */
function sum16(data: Uint8Array, start: number, end: number, initial: number): number {
	let sum = initial;
	let at = start;
	const base = data.byteOffset;
	if (isLittleEndian && end - start >= 64) {
		for (; (base + at) % 4 !== 0; at++) {
			sum += (at - start) % 2 === 0 ? data[at]! << 8 : data[at]!;
		}

		const words = new Uint32Array(data.buffer, base + at, (end - at) >>> 2);
		let wide = 0;
		for (let index = 0; index < words.length; index++) {
			wide += words[index]!;
		}

		const folded = fold(wide);
		// Native little-endian lanes put the byte at `at` low: right when it is an odd byte of the run, crossed when even.
		sum += (at - start) % 2 === 0 ? ((folded & 0xff) << 8) | (folded >>> 8) : folded;
		at += words.length * 4;
	}

	for (; at < end; at++) {
		sum += (at - start) % 2 === 0 ? data[at]! << 8 : data[at]!;
	}

	return sum;
}

function fold(sum: number): number {
	while (sum > 0xff_ff) {
		sum = (sum % 0x1_00_00) + Math.floor(sum / 0x1_00_00);
	}

	return sum;
}

/** TCP header fields of one synthesized segment. */
export type TcpFields = {
	sourcePort: number;
	destinationPort: number;
	seq: number;
	ack: number;
	/** Flag bits: FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10. */
	flags: number;
};

/** The TCP flag bits. */
export const tcpFlags = {fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10} as const;

const protoTcp = 6;
const protoUdp = 17;

/**
 * An Enhanced Packet Block as the pieces written one after the other: its
 * head (block header, IP and transport headers, checksums done), the
 * payload itself — never copied, a writev takes it where it is — and its
 * tail (padding, the comment, the closing length). An empty payload is
 * left out.
 */
export type BlockPieces = Buffer[];

/**
 * The pieces of an Enhanced Packet Block on interface 0, at `micros` since
 * the epoch, with an opt_comment, holding one IPv4 or IPv6 packet (by the
 * addresses' length) that carries `transport` (its header, checksum field
 * zero) and `payload`.
 */
function packetPieces(micros: number, comment: string, source: Buffer, destination: Buffer, protocol: number, transport: Buffer, checksumAt: number, payload: Buffer): BlockPieces {
	const isV4 = source.length === 4;
	const ipLength = isV4 ? 20 : 40;
	const transportLength = transport.length + payload.length;
	const packetLength = ipLength + transportLength;
	const bodyLength = 20 + packetLength;
	const commentBytes = Buffer.from(comment);
	const optionsBytes = optionsLength([[optComment, commentBytes]]);
	const total = 12 + pad4(bodyLength) + optionsBytes;
	// Small pieces come from Node's shared pool: no allocation of their own.
	const head = Buffer.allocUnsafe(28 + ipLength + transport.length);
	head.writeUInt32LE(blockEpb, 0);
	head.writeUInt32LE(total, 4);
	head.writeUInt32LE(0, 8);
	const time = Math.round(micros);
	head.writeUInt32LE(Math.floor(time / 0x1_00_00_00_00), 12);
	head.writeUInt32LE(time % 0x1_00_00_00_00, 16);
	head.writeUInt32LE(packetLength, 20);
	head.writeUInt32LE(packetLength, 24);
	const ip = 28;
	if (isV4) {
		head.writeUInt8(0x45, ip);
		head.writeUInt8(0, ip + 1);
		head.writeUInt16BE(packetLength, ip + 2);
		// Identification 0 with Don't Fragment: what Linux sends for TCP.
		head.writeUInt16BE(0, ip + 4);
		head.writeUInt16BE(0x40_00, ip + 6);
		head.writeUInt8(64, ip + 8);
		head.writeUInt8(protocol, ip + 9);
		head.writeUInt16BE(0, ip + 10);
		source.copy(head, ip + 12);
		destination.copy(head, ip + 16);
		head.writeUInt16BE(~fold(sum16(head, ip, ip + 20, 0)) & 0xff_ff, ip + 10);
	} else {
		head.writeUInt32BE(0x60_00_00_00, ip);
		head.writeUInt16BE(transportLength, ip + 4);
		head.writeUInt8(protocol, ip + 6);
		head.writeUInt8(64, ip + 7);
		source.copy(head, ip + 8);
		destination.copy(head, ip + 24);
	}

	const start = ip + ipLength;
	transport.copy(head, start);
	// Pseudo-header (addresses, protocol, transport length), then the header and the payload where they lie.
	let sum = sum16(source, 0, source.length, 0);
	sum = sum16(destination, 0, destination.length, sum);
	sum += protocol + (transportLength % 0x1_00_00) + Math.floor(transportLength / 0x1_00_00);
	sum = sum16(head, start, start + transport.length, sum);
	// The header is an even number of bytes long, so the payload's words line up after it.
	sum = sum16(payload, 0, payload.length, sum);
	let checksum = ~fold(sum) & 0xff_ff;
	// UDP sends a computed zero as all ones (zero means "no checksum").
	if (protocol === protoUdp && checksum === 0) {
		checksum = 0xff_ff;
	}

	head.writeUInt16BE(checksum, start + checksumAt);
	const padding = pad4(bodyLength) - bodyLength;
	const tail = Buffer.allocUnsafe(padding + optionsBytes + 4);
	tail.fill(0, 0, padding);
	writeOptions(tail, padding, [[optComment, commentBytes]]);
	tail.writeUInt32LE(total, padding + optionsBytes);
	return payload.length > 0 ? [head, payload, tail] : [head, tail];
}

/** The pieces of an Enhanced Packet Block holding an IPv4 or IPv6 packet with one TCP segment. */
export function tcpBlock(micros: number, comment: string, source: Buffer, destination: Buffer, fields: TcpFields, payload: Buffer): BlockPieces {
	const header = Buffer.allocUnsafe(20).fill(0);
	header.writeUInt16BE(fields.sourcePort, 0);
	header.writeUInt16BE(fields.destinationPort, 2);
	header.writeUInt32BE(fields.seq >>> 0, 4);
	header.writeUInt32BE(fields.ack >>> 0, 8);
	// Data offset 5 words, no options.
	header.writeUInt8(5 << 4, 12);
	header.writeUInt8(fields.flags, 13);
	header.writeUInt16BE(65_535, 14);
	return packetPieces(micros, comment, source, destination, protoTcp, header, 16, payload);
}

/** The pieces of an Enhanced Packet Block holding an IPv4 or IPv6 packet with one UDP datagram. */
export function udpBlock(micros: number, comment: string, source: Buffer, destination: Buffer, sourcePort: number, destinationPort: number, payload: Buffer): BlockPieces {
	const header = Buffer.allocUnsafe(8).fill(0);
	header.writeUInt16BE(sourcePort, 0);
	header.writeUInt16BE(destinationPort, 2);
	// A jumbo IPv6 datagram cannot be written in 16 bits; netdash never carries one (dgram caps at 65,507 / 65,527).
	header.writeUInt16BE((8 + payload.length) & 0xff_ff, 4);
	return packetPieces(micros, comment, source, destination, protoUdp, header, 6, payload);
}
