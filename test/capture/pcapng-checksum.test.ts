import {randomBytes} from 'node:crypto';
import {describe, expect, it} from 'vitest';
import {addressBytes, tcpBlock, tcpFlags, udpBlock} from '../../source/core/capture/pcapng.js';

/** RFC 1071 the slow way: big-endian 16-bit words, byte by byte, folded. */
function referenceChecksum(...parts: Uint8Array[]): number {
	const bytes = Buffer.concat(parts);
	let sum = 0;
	for (let index = 0; index < bytes.length; index += 2) {
		sum += (bytes[index]! << 8) | (bytes[index + 1] ?? 0);
	}

	while (sum > 0xff_ff) {
		sum = (sum & 0xff_ff) + (sum >>> 16);
	}

	return ~sum & 0xff_ff;
}

function pseudoHeader(source: Buffer, destination: Buffer, protocol: number, length: number): Buffer {
	const pseudo = Buffer.alloc(source.length * 2 + 4);
	source.copy(pseudo, 0);
	destination.copy(pseudo, source.length);
	pseudo.writeUInt16BE(protocol, source.length * 2);
	pseudo.writeUInt16BE(length, source.length * 2 + 2);
	return pseudo;
}

describe('pcapng packets carry the checksums a receiver computes', () => {
	// Payloads where a socket or a log line leaves them: at every offset from a word boundary, of odd and even lengths.
	const cases = [0, 1, 2, 3, 5, 6, 7].flatMap((offset) => [1, 63, 64, 65, 1000, 1001, 65_495].map((length) => ({offset, length})));

	it.each(cases)('a TCP segment of $length bytes lying $offset bytes past a word boundary, over IPv4 and IPv6', ({offset, length}) => {
		const memory = randomBytes(offset + length + 8);
		const payload = memory.subarray(offset, offset + length);
		for (const [from, to] of [
			['127.0.0.1', '127.0.0.2'],
			['::1', 'fe80::1'],
		] as const) {
			const source = addressBytes(from);
			const destination = addressBytes(to);
			const [head, middle] = tcpBlock(1_700_000_000_000_000, 'C1 data-received', source, destination, {sourcePort: 40_000, destinationPort: 80, seq: 123_456, ack: 654_321, flags: tcpFlags.psh | tcpFlags.ack}, payload);
			// The payload is written where it lies, not copied.
			expect(middle).toBe(payload);
			const tcp = head!.subarray(head!.length - 20);
			const checksum = tcp.readUInt16BE(16);
			const zeroed = Buffer.from(tcp);
			zeroed.writeUInt16BE(0, 16);
			expect(checksum).toBe(referenceChecksum(pseudoHeader(source, destination, 6, 20 + length), zeroed, payload));
		}
	});

	it('a UDP datagram at an odd offset, and the IPv4 header, sum to zero as a receiver checks them', () => {
		const memory = randomBytes(1500);
		const payload = memory.subarray(3, 1476);
		const source = addressBytes('127.0.0.1');
		const destination = addressBytes('127.0.0.9');
		const [head] = udpBlock(1_700_000_000_000_000, 'U1 datagram-sent', source, destination, 5353, 40_000, payload);
		const ip = head!.subarray(28, 48);
		const udp = head!.subarray(48, 56);
		// Summed with the checksum in place, a correct header or datagram gives zero.
		expect(referenceChecksum(ip)).toBe(0);
		expect(referenceChecksum(pseudoHeader(source, destination, 17, 8 + payload.length), udp, payload)).toBe(0);
	});
});
