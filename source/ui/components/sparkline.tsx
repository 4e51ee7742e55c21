import {Text} from 'ink';

const bars = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * The last `width` samples as bars scaled to their maximum: a space for
 * zero, so an idle connection draws nothing.
 */
export function sparkline(values: readonly number[], width: number): string {
	const recent = values.slice(-width);
	const max = Math.max(0, ...recent);
	let line = '';
	for (const value of recent) {
		line += value <= 0 || max === 0 ? ' ' : bars[Math.min(bars.length - 1, Math.floor((value / max) * (bars.length - 1) + 0.5))]!;
	}

	return line.padStart(width);
}

/** Props of {@link Sparkline}. */
export type SparklineProps = {
	readonly values: readonly number[];
	readonly width: number;
	readonly color?: string;
};

/** A one-line bar chart of recent rates. */
export function Sparkline({values, width, color}: SparklineProps) {
	return <Text color={color}>{sparkline(values, width)}</Text>;
}
