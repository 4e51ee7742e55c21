/** Small statistics for bench samples. */

/** The median (mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
	if (values.length === 0) {
		return Number.NaN;
	}

	const sorted = [...values].sort((a, b) => a - b);
	const middle = Math.floor(sorted.length / 2);
	return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (0–100), nearest rank; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
	if (values.length === 0) {
		return Number.NaN;
	}

	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
	return sorted[rank - 1]!;
}

/**
 * The median of per-pair ratios: each netdash run is divided by the
 * baseline run next to it in time, so a noisy spell on the shared machine
 * hits both halves of a pair and cancels.
 */
export function pairedRatio(netdash: readonly number[], baseline: readonly number[]): number {
	const ratios: number[] = [];
	for (let index = 0; index < Math.min(netdash.length, baseline.length); index++) {
		ratios.push(netdash[index]! / baseline[index]!);
	}

	return median(ratios);
}

/** Bytes per second from bytes and milliseconds. */
export function rate(bytes: number, ms: number): number {
	return bytes / (ms / 1000);
}
