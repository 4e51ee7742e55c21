/**
 * The one HTTP request netdash makes on a peer's say-so: GET of a UPnP
 * device description, bounded in size and time. The caller has already
 * checked that the URL's host is the address the announcement came from;
 * this module checks it again, follows no redirect, resolves no name, and
 * never throws: every outcome is a result.
 */
import type http from 'node:http';
import {isIPv4} from 'node:net';
import {builtin} from '../../builtin.js';

/** Loaded by the first description fetched (builtin.ts). */
const httpModule = builtin<typeof http>('node:http');

/** How a description fetch ended. */
export type FetchResult =
	| {outcome: 'fetched'; body: string; bytes: number; ms: number}
	| {outcome: 'too-large' | 'timeout' | 'failed' | 'refused-host' | 'bad-location' | 'http-status'; bytes: number; ms: number; detail?: string};

/** Bounds of one fetch. */
export type FetchLimits = {
	/** Bytes of body read; more is cut off (the connection is destroyed). @default 65536 */
	maxBytes: number;
	/** Time from the request to the last byte; later is cut off. @default 2000 */
	timeoutMs: number;
};

/** The limits of the issue: 64 KiB within 2 s. */
export const DEFAULT_FETCH_LIMITS: Readonly<FetchLimits> = {maxBytes: 64 * 1024, timeoutMs: 2000};

/**
 * Why `location` may not be fetched for an announcement from `sender`, or
 * undefined when it may: plain `http:` to an IPv4 literal equal to the
 * sender. A name would need a DNS lookup whose answer a peer could steer.
 */
export function whyNotFetch(location: string, sender: string): 'bad-location' | 'refused-host' | undefined {
	let url: URL;
	try {
		url = new URL(location);
	} catch {
		return 'bad-location';
	}

	if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') {
		return 'bad-location';
	}

	return isIPv4(url.hostname) && url.hostname === sender ? undefined : 'refused-host';
}

/** In-flight fetches, so closing the browser cancels them all. */
export class DescriptionFetcher {
	readonly #limits: FetchLimits;
	readonly #active = new Set<http.ClientRequest>();

	constructor(limits: Partial<FetchLimits> = {}) {
		this.#limits = {...DEFAULT_FETCH_LIMITS, ...limits};
	}

	/** Fetches under way. */
	get active(): number {
		return this.#active.size;
	}

	/** GET `location` (an announcement from `sender`); resolves once, whatever happens. */
	async fetch(location: string, sender: string): Promise<FetchResult> {
		const startedAt = performance.now();
		const elapsed = () => Math.round(performance.now() - startedAt);
		const refusal = whyNotFetch(location, sender);
		if (refusal) {
			return {outcome: refusal, bytes: 0, ms: 0};
		}

		const {maxBytes, timeoutMs} = this.#limits;
		return new Promise((resolve) => {
			let bytes = 0;
			const chunks: Buffer[] = [];
			let request: http.ClientRequest | undefined;
			let isDone = false;
			const finish = (result: FetchResult) => {
				if (isDone) {
					return;
				}

				isDone = true;
				clearTimeout(timer);
				if (request) {
					this.#active.delete(request);
					request.destroy();
				}

				resolve(result);
			};

			// One clock for connect, headers and body: a slow drip of bytes is cut off like silence.
			const timer = setTimeout(() => {
				finish({outcome: 'timeout', bytes, ms: elapsed()});
			}, timeoutMs);
			timer.unref();
			try {
				request = httpModule().get(location, {agent: false, maxHeaderSize: 8192, headers: {'user-agent': 'netdash UPnP/1.1', connection: 'close'}}, (response) => {
					response.on('error', (error) => {
						finish({outcome: 'failed', bytes, ms: elapsed(), detail: error.message});
					});
					if (response.statusCode !== 200) {
						finish({outcome: 'http-status', bytes, ms: elapsed(), detail: String(response.statusCode)});
						return;
					}

					const declared = Number(response.headers['content-length']);
					if (Number.isFinite(declared) && declared > maxBytes) {
						finish({outcome: 'too-large', bytes, ms: elapsed(), detail: `declared ${declared} bytes`});
						return;
					}

					response.on('data', (chunk: Buffer) => {
						bytes += chunk.length;
						if (bytes > maxBytes) {
							finish({outcome: 'too-large', bytes, ms: elapsed()});
							return;
						}

						chunks.push(chunk);
					});
					response.on('end', () => {
						finish({outcome: 'fetched', body: Buffer.concat(chunks).toString('utf8'), bytes, ms: elapsed()});
					});
				});
				this.#active.add(request);
				request.on('error', (error) => {
					finish({outcome: 'failed', bytes, ms: elapsed(), detail: (error as NodeJS.ErrnoException).code ?? error.message});
				});
			} catch (error) {
				finish({outcome: 'failed', bytes, ms: elapsed(), detail: error instanceof Error ? error.message : String(error)});
			}
		});
	}

	/** Cut every fetch under way (browsing stopped). */
	close(): void {
		for (const request of this.#active) {
			request.destroy();
		}

		this.#active.clear();
	}
}
