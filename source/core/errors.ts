/**
 * Errors netdash reports to people. Every failure has a stable UPPER_SNAKE
 * `code` (a Node errno such as `ECONNREFUSED`, or one of netdash's own such
 * as `BAD_PORT`) and a one-line `message` a person understands.
 */
export class NetdashError extends Error {
	/** Stable machine-readable code. */
	readonly code: string;

	constructor(code: string, message: string, options?: {cause?: unknown}) {
		super(message, options);
		this.name = 'NetdashError';
		this.code = code;
	}
}

/** True for errors Node raises from system calls (they carry a string `code`). */
export function isErrnoError(error: unknown): error is NodeJS.ErrnoException {
	return error instanceof Error && typeof (error as NodeJS.ErrnoException).code === 'string';
}

/** The code of any thrown value: its `code` when it has one, else `UNKNOWN`. */
export function errorCode(error: unknown): string {
	return isErrnoError(error) || error instanceof NetdashError ? String(error.code) : 'UNKNOWN';
}

/** The first line of any thrown value's message (stack traces never reach the screen). */
export function oneLine(error: unknown): string {
	const text = error instanceof Error ? error.message : String(error);
	return text.split(/\r?\n/, 1)[0] ?? '';
}
