/**
 * The request/reply header netdash puts in front of a UDP payload so a
 * reply can be matched to its request: pure `encodeRequest` / `encodeReply`
 * / `decodeHeader`, and the backoff schedule of resends.
 *
 * Wire layout (big-endian), 10 bytes then the payload:
 *
 * | offset | size | field                                                      |
 * | ------ | ---- | ---------------------------------------------------------- |
 * | 0      | 4    | magic `NDRQ`                                               |
 * | 4      | 1    | type: 1 request, 2 reply                                   |
 * | 5      | 1    | attempt: 1, 2, … (the reply copies it)                     |
 * | 6      | 4    | request id: random, non-zero (the reply copies it)         |
 * | 10     | n    | payload (an echo's reply carries the request's payload)    |
 *
 * The id is random, not sequential, so an off-path sender cannot guess the
 * next one. Copying the attempt number lets the requester time the attempt
 * that was answered, not the first one (Karn's problem).
 */

/** The four bytes every request and reply starts with: `NDRQ`. */
export const REQUEST_MAGIC: Buffer = Buffer.from('NDRQ', 'latin1');

/** Bytes the header adds in front of the payload. */
export const REQUEST_HEADER_BYTES = 10;

/** What `decodeHeader` found. */
export type RequestHeader = {
	type: 'request' | 'reply';
	attempt: number;
	requestId: number;
	/** A view of the bytes after the header (no copy). */
	payload: Buffer;
};

function encode(type: 1 | 2, requestId: number, attempt: number, payload: Uint8Array): Buffer {
	const buffer = Buffer.allocUnsafe(REQUEST_HEADER_BYTES + payload.length);
	REQUEST_MAGIC.copy(buffer, 0);
	buffer.writeUInt8(type, 4);
	buffer.writeUInt8(Math.min(attempt, 255), 5);
	buffer.writeUInt32BE(requestId, 6);
	buffer.set(payload, REQUEST_HEADER_BYTES);
	return buffer;
}

/** A request: header then payload. `requestId` is a non-zero u32. */
export function encodeRequest(requestId: number, attempt: number, payload: Uint8Array): Buffer {
	return encode(1, requestId, attempt, payload);
}

/** The reply to a request: the same id and attempt, then the payload. */
export function encodeReply(requestId: number, attempt: number, payload: Uint8Array): Buffer {
	return encode(2, requestId, attempt, payload);
}

/** The header of a datagram, or undefined when it has none (any other datagram). Never throws. */
export function decodeHeader(bytes: Buffer): RequestHeader | undefined {
	// Byte by byte, not subarray().equals(): this runs on every datagram received, and a
	// subarray is a Buffer object made (and collected) per datagram.
	if (bytes.length < REQUEST_HEADER_BYTES || bytes[0] !== REQUEST_MAGIC[0] || bytes[1] !== REQUEST_MAGIC[1] || bytes[2] !== REQUEST_MAGIC[2] || bytes[3] !== REQUEST_MAGIC[3]) {
		return undefined;
	}

	const type = bytes[4] === 1 ? 'request' : bytes[4] === 2 ? 'reply' : undefined;
	const requestId = bytes.readUInt32BE(6);
	if (type === undefined || requestId === 0) {
		return undefined;
	}

	return {type, attempt: bytes[5]!, requestId, payload: bytes.subarray(REQUEST_HEADER_BYTES)};
}

/**
 * How long attempt `attempt` (1-based) waits for its reply: `firstMs`
 * doubled per attempt and capped — 500, 1000, 2000, 4000, 8000, 8000 … ms
 * with the defaults.
 */
export function backoffDelay(attempt: number, firstMs: number, capMs: number): number {
	return Math.min(capMs, firstMs * (2 ** Math.max(0, attempt - 1)));
}
