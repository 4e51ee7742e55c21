/**
 * Syncthing local discovery (v2): a 4-byte magic `0x2EA7D90B`, then a
 * protobuf `Announce {bytes id = 1; repeated string addresses = 2; int64
 * instance_id = 3}`. The message is tiny, so it is decoded by hand, with a
 * bound on every length; decode never throws.
 */

/** UDP port of Syncthing local discovery. */
export const SYNCTHING_PORT = 21_027;
/** First four bytes of an announcement (big-endian). */
export const SYNCTHING_MAGIC = 0x2E_A7_D9_0B;
/** Larger than any real announcement (a device lists a handful of addresses). */
export const MAX_ANNOUNCE_BYTES = 4096;
/** Addresses kept from one announcement. */
export const MAX_ADDRESSES = 16;

/** A decoded announcement. */
export type Announce = {
	/** The 32-byte device id (SHA-256 of its certificate). */
	id: Buffer;
	addresses: string[];
	/** Random per run: a new one means the device restarted. Decimal text (int64). */
	instanceId: string;
};

/** Why a datagram is not an announcement. */
export type AnnounceError = 'too-large' | 'bad-magic' | 'truncated' | 'bad-field' | 'no-id';

/** Read a varint at `offset`: [value, next offset], or undefined when cut off or longer than 10 bytes. */
function readVarint(data: Buffer, offset: number): [bigint, number] | undefined {
	let value = 0n;
	for (let index = 0; index < 10; index++) {
		if (offset + index >= data.length) {
			return undefined;
		}

		const byte = data[offset + index]!;
		value |= BigInt(byte & 0x7F) << BigInt(7 * index);
		if ((byte & 0x80) === 0) {
			return [value, offset + index + 1];
		}
	}

	return undefined;
}

/** Decode one datagram. */
export function decodeAnnounce(data: Buffer): Announce | {error: AnnounceError} {
	if (data.length > MAX_ANNOUNCE_BYTES) {
		return {error: 'too-large'};
	}

	if (data.length < 4 || data.readUInt32BE(0) !== SYNCTHING_MAGIC) {
		return {error: 'bad-magic'};
	}

	let id: Buffer | undefined;
	const addresses: string[] = [];
	let instanceId = 0n;
	let offset = 4;
	while (offset < data.length) {
		const key = readVarint(data, offset);
		if (!key) {
			return {error: 'truncated'};
		}

		offset = key[1];
		const field = Number(key[0] >> 3n);
		const wire = Number(key[0] & 7n);
		if (wire === 0) {
			const value = readVarint(data, offset);
			if (!value) {
				return {error: 'truncated'};
			}

			offset = value[1];
			if (field === 3) {
				instanceId = BigInt.asIntN(64, value[0]);
			}
		} else if (wire === 2) {
			const length = readVarint(data, offset);
			if (!length || length[0] > BigInt(data.length - length[1])) {
				return {error: 'truncated'};
			}

			const start = length[1];
			const end = start + Number(length[0]);
			offset = end;
			if (field === 1) {
				id = Buffer.from(data.subarray(start, end));
			} else if (field === 2 && addresses.length < MAX_ADDRESSES) {
				addresses.push(data.toString('utf8', start, end));
			}
		} else if (wire === 1 || wire === 5) {
			// Fixed 64 / 32 bits of a field this version does not know: skip it.
			offset += wire === 1 ? 8 : 4;
			if (offset > data.length) {
				return {error: 'truncated'};
			}
		} else {
			return {error: 'bad-field'};
		}
	}

	if (!id || id.length === 0 || id.length > 64) {
		return {error: 'no-id'};
	}

	return {id, addresses, instanceId: instanceId.toString()};
}

const base32Alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as Syncthing writes device ids (before its check characters). */
function base32(data: Buffer): string {
	let bits = 0;
	let value = 0;
	let text = '';
	for (const byte of data) {
		value = (value << 8) | byte;
		bits += 8;
		while (bits >= 5) {
			text += base32Alphabet[(value >>> (bits - 5)) & 31];
			bits -= 5;
		}

		value &= (1 << bits) - 1;
	}

	return bits > 0 ? text + base32Alphabet[(value << (5 - bits)) & 31] : text;
}

/** The short form Syncthing shows: the first seven base32 characters of the id (`MFZWI3D`). */
export function shortDeviceId(id: Buffer): string {
	return base32(id).slice(0, 7);
}
