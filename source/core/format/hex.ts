/** Options for {@link hexDump}. */
export type HexDumpOptions = {
	/**
	 * Offset printed for the first byte, e.g. the byte's position in the stream.
	 * @default 0
	 */
	offset?: number;
	/**
	 * Bytes per line (a positive integer).
	 * @default 16
	 */
	width?: number;
};

/** Two lower-case hex digits for every byte value. */
const hexPairs: string[] = [];
/** The ASCII column's character for every byte value. */
const asciiChars: string[] = [];
for (let byte = 0; byte < 0x1_00; byte++) {
	hexPairs.push(byte.toString(16).padStart(2, '0'));
	asciiChars.push(byte >= 0x20 && byte <= 0x7E ? String.fromCharCode(byte) : '.');
}

/**
 * Classic hex dump lines in the layout of `hexdump -C`:
 * `'00000000  48 65 6c 6c 6f 0a                                 |Hello.|'`.
 * Each line has the offset in hex (at least 8 digits), two spaces, `width`
 * bytes in hex with an extra space after every eighth, padding so the ASCII
 * columns line up, and the bytes between bars with '.' for anything outside
 * 0x20–0x7E (so the dump is always safe to paint). No bytes give no lines.
 */
export function hexDump(bytes: Uint8Array, options?: HexDumpOptions): string[] {
	const width = options?.width ?? 16;
	const start = options?.offset ?? 0;
	if (!Number.isSafeInteger(width) || width < 1) {
		throw new RangeError(`hexDump width must be a positive integer, got ${width}`);
	}

	if (!Number.isSafeInteger(start) || start < 0) {
		throw new RangeError(`hexDump offset must be a non-negative integer, got ${start}`);
	}

	// Hex column of a full line: 3 characters a byte plus one per group of 8.
	const hexWidth = (width * 3) + Math.floor((width - 1) / 8);
	const lines: string[] = [];
	for (let lineStart = 0; lineStart < bytes.length; lineStart += width) {
		const lineEnd = Math.min(lineStart + width, bytes.length);
		let hex = '';
		let ascii = '';
		for (let index = lineStart; index < lineEnd; index++) {
			const byte = bytes[index]!;
			const column = index - lineStart;
			hex += (column > 0 && column % 8 === 0 ? '  ' : ' ') + hexPairs[byte]!;
			ascii += asciiChars[byte]!;
		}

		const offset = (start + lineStart).toString(16).padStart(8, '0');
		lines.push(offset + ' ' + hex.padEnd(hexWidth) + '  |' + ascii + '|');
	}

	return lines;
}
