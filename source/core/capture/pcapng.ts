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

/**
 * An Enhanced Packet Block on interface 0, at `micros` since the epoch,
 * with an opt_comment; `fill(block, at)` writes the packet's
 * `packetLength` bytes in place (one allocation, one copy of the payload).
 */
function enhancedPacketWith(micros: number, packetLength: number, comment: string, fill: (block: Buffer, at: number) => void): Buffer {
	const commentBytes = Buffer.from(comment);
	const bodyLength = 20 + packetLength;
	const total = 12 + pad4(bodyLength) + optionsLength([[optComment, commentBytes]]);
	// Its own memory, word-aligned, so checksums can read it as 16-bit words.
	const out = Buffer.allocUnsafeSlow(total);
	out.writeUInt32LE(blockEpb, 0);
	out.writeUInt32LE(total, 4);
	out.writeUInt32LE(0, 8);
	const time = BigInt(Math.round(micros));
	out.writeUInt32LE(Number(time >> 32n), 12);
	out.writeUInt32LE(Number(time & 0xff_ff_ff_ffn), 16);
	out.writeUInt32LE(packetLength, 20);
	out.writeUInt32LE(packetLength, 24);
	fill(out, 28);
	out.fill(0, 28 + packetLength, 8 + pad4(bodyLength));
	writeOptions(out, 8 + pad4(bodyLength), [[optComment, commentBytes]]);
	out.writeUInt32LE(total, total - 4);
	return out;
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

/** Whether 16-bit arrays read words little-endian here (then a sum is taken on swapped words and swapped back: RFC 1071 §2(B)). */
const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The one's-complement sum of `data` as 16-bit big-endian words (odd length: a zero byte pads it), not yet folded. */
function sum16(data: Buffer, start: number, end: number, initial: number): number {
	let sum = initial;
	let at = start;
	const address = data.byteOffset + start;
	if (isLittleEndian && address % 2 === 0 && end - start >= 64) {
		// The payload is most of the bytes: sum whole words natively, fold, and swap the result's bytes.
		const words = new Uint16Array(data.buffer, address, (end - start) >>> 1);
		let wide = 0;
		for (let index = 0; index < words.length; index++) {
			wide += words[index]!;
		}

		const folded = fold(wide);
		sum += ((folded & 0xff) << 8) | (folded >>> 8);
		at = start + words.length * 2;
	}

	for (; at + 1 < end; at += 2) {
		sum += (data[at]! << 8) | data[at + 1]!;
	}

	if (at < end) {
		sum += data[at]! << 8;
	}

	return sum;
}

function fold(sum: number): number {
	while (sum > 0xff_ff) {
		sum = (sum & 0xff_ff) + Math.floor(sum / 0x1_00_00);
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
 * Write one IP packet into `block` at `at`, carrying `transport` (its
 * header, checksum still zero) and `payload`: the IP header, then the
 * transport checksum over the pseudo-header, header and payload.
 */
function writeIpPacket(block: Buffer, at: number, source: Buffer, destination: Buffer, protocol: number, transport: Buffer, payload: Buffer, checksumAt: number): void {
	const isV4 = source.length === 4;
	const ipLength = isV4 ? 20 : 40;
	const transportLength = transport.length + payload.length;
	if (isV4) {
		block.writeUInt8(0x45, at);
		block.writeUInt8(0, at + 1);
		block.writeUInt16BE(ipLength + transportLength, at + 2);
		// Identification 0 with Don't Fragment: what Linux sends for TCP.
		block.writeUInt16BE(0, at + 4);
		block.writeUInt16BE(0x40_00, at + 6);
		block.writeUInt8(64, at + 8);
		block.writeUInt8(protocol, at + 9);
		block.writeUInt16BE(0, at + 10);
		source.copy(block, at + 12);
		destination.copy(block, at + 16);
		block.writeUInt16BE(~fold(sum16(block, at, at + 20, 0)) & 0xff_ff, at + 10);
	} else {
		block.writeUInt32BE(0x60_00_00_00, at);
		block.writeUInt16BE(transportLength, at + 4);
		block.writeUInt8(protocol, at + 6);
		block.writeUInt8(64, at + 7);
		source.copy(block, at + 8);
		destination.copy(block, at + 24);
	}

	const start = at + ipLength;
	transport.copy(block, start);
	payload.copy(block, start + transport.length);
	// Pseudo-header: addresses, protocol, transport length.
	let sum = sum16(source, 0, source.length, 0);
	sum = sum16(destination, 0, destination.length, sum);
	sum += protocol + (transportLength & 0xff_ff) + Math.floor(transportLength / 0x1_00_00);
	sum = sum16(block, start, start + transportLength, sum);
	let checksum = ~fold(sum) & 0xff_ff;
	// UDP sends a computed zero as all ones (zero means "no checksum").
	if (protocol === protoUdp && checksum === 0) {
		checksum = 0xff_ff;
	}

	block.writeUInt16BE(checksum, start + checksumAt);
}

function ipLengthOf(source: Buffer): number {
	return source.length === 4 ? 20 : 40;
}

/** An Enhanced Packet Block holding an IPv4 or IPv6 packet (by the addresses' length) with one TCP segment. */
export function tcpBlock(micros: number, comment: string, source: Buffer, destination: Buffer, fields: TcpFields, payload: Buffer): Buffer {
	const header = Buffer.alloc(20);
	header.writeUInt16BE(fields.sourcePort, 0);
	header.writeUInt16BE(fields.destinationPort, 2);
	header.writeUInt32BE(fields.seq >>> 0, 4);
	header.writeUInt32BE(fields.ack >>> 0, 8);
	// Data offset 5 words, no options.
	header.writeUInt8(5 << 4, 12);
	header.writeUInt8(fields.flags, 13);
	header.writeUInt16BE(65_535, 14);
	return enhancedPacketWith(micros, ipLengthOf(source) + 20 + payload.length, comment, (block, at) => {
		writeIpPacket(block, at, source, destination, protoTcp, header, payload, 16);
	});
}

/** An Enhanced Packet Block holding an IPv4 or IPv6 packet with one UDP datagram. */
export function udpBlock(micros: number, comment: string, source: Buffer, destination: Buffer, sourcePort: number, destinationPort: number, payload: Buffer): Buffer {
	const header = Buffer.alloc(8);
	header.writeUInt16BE(sourcePort, 0);
	header.writeUInt16BE(destinationPort, 2);
	// A jumbo IPv6 datagram cannot be written in 16 bits; netdash never carries one (dgram caps at 65,507 / 65,527).
	header.writeUInt16BE((8 + payload.length) & 0xff_ff, 4);
	return enhancedPacketWith(micros, ipLengthOf(source) + 8 + payload.length, comment, (block, at) => {
		writeIpPacket(block, at, source, destination, protoUdp, header, payload, 6);
	});
}
