import {useSyncExternalStore} from 'react';
import {Box, Text} from 'ink';
import {formatRate} from '../../core/format/index.js';
import {fit} from '../format.js';
import type {RateHistory, RateSampler, RateSeries} from '../rate-history.js';
import {colors} from '../theme.js';
import {PaneFrame} from './pane-frame.js';

/** Props of {@link RateChart}. */
export type RateChartProps = {
	readonly sampler: RateSampler;
	/** The selected socket, as the Log's title shows it. */
	readonly description: string;
	readonly isFocused: boolean;
	readonly width: number;
	readonly height: number;
};

// Braille dot bits by sub-row (top to bottom), for the left and the right column of a cell.
const leftDots = [0x01, 0x02, 0x04, 0x40];
const rightDots = [0x08, 0x10, 0x20, 0x80];

/**
 * Bars of `values` (newest last, two per cell) `rows` cells tall in braille,
 * as btop and bandwhich draw them: `up` grows from the bottom edge, `down`
 * from the top (the out half of a mirrored chart). Scaled so `max` fills
 * every dot; anything above zero shows at least one dot.
 */
export function brailleBars(values: readonly number[], max: number, cells: number, rows: number, direction: 'up' | 'down'): string[] {
	const shown = values.slice(-cells * 2);
	const offset = cells * 2 - shown.length;
	const levels = rows * 4;
	const heights = shown.map((value) => (value <= 0 || max <= 0 ? 0 : Math.max(1, Math.min(levels, Math.round((value / max) * levels)))));
	const lines: string[] = [];
	for (let row = 0; row < rows; row++) {
		let line = '';
		for (let cell = 0; cell < cells; cell++) {
			let bits = 0;
			for (const [side, dots] of [leftDots, rightDots].entries()) {
				const height = heights[cell * 2 + side - offset] ?? 0;
				for (let sub = 0; sub < 4; sub++) {
					// The dot's level counted from the baseline: the bottom edge going up, the top edge going down.
					const level = direction === 'up' ? (rows - 1 - row) * 4 + (3 - sub) : row * 4 + sub;
					if (level < height) {
						bits |= dots[sub]!;
					}
				}
			}

			line += bits === 0 ? ' ' : String.fromCodePoint(0x28_00 + bits);
		}

		lines.push(line);
	}

	return lines;
}

/** Left of the chart: a rate in human units, right-aligned. */
const axisWidth = 13;

function Panel({title, series, width, rows, cells}: {title: string; series: RateSeries; width: number; rows: number; cells: number}) {
	const nowIn = series.in.at(-1) ?? 0;
	const nowOut = series.out.at(-1) ?? 0;
	const maxIn = Math.max(0, ...series.in.slice(-cells * 2));
	const maxOut = Math.max(0, ...series.out.slice(-cells * 2));
	const chartRows = rows - 1;
	const inRows = Math.ceil(chartRows / 2);
	const outRows = chartRows - inRows;
	const inBars = chartRows > 0 ? brailleBars(series.in, maxIn, cells, inRows, 'up') : [];
	const outBars = outRows > 0 ? brailleBars(series.out, maxOut, cells, outRows, 'down') : [];
	// The axis gives each half's scale (its peak) at its outer edge; the baseline between them is 0.
	const axis = (index: number, count: number, max: number, isIn: boolean) => {
		const isScale = isIn ? index === 0 : index === count - 1;
		return fit(isScale ? formatRate(max) : '', axisWidth - 2, 'right') + (isIn ? ' ▲' : ' ▼');
	};

	return (
		<Box flexDirection="column" width={width}>
			<Text wrap="truncate-end">
				<Text bold>{` ${title}`}</Text>
				<Text color={colors.in}>{`  ← in ${formatRate(nowIn)}`}</Text>
				<Text color={colors.out}>{`  → out ${formatRate(nowOut)}`}</Text>
				<Text color={colors.muted}>{`  peak ${formatRate(maxIn)} / ${formatRate(maxOut)}`}</Text>
			</Text>
			{inBars.map((line, index) => (
				<Text key={`in-${index}`} wrap="truncate-end">
					<Text color={colors.muted}>{axis(index, inRows, maxIn, true)}</Text>
					<Text color={colors.in}>{line}</Text>
				</Text>
			))}
			{outBars.map((line, index) => (
				<Text key={`out-${index}`} wrap="truncate-end">
					<Text color={colors.muted}>{axis(index, outRows, maxOut, false)}</Text>
					<Text color={colors.out}>{line}</Text>
				</Text>
			))}
		</Box>
	);
}

/** `2 min`, `94 s`: how far back `samples` samples of `stepMs` reach. */
function span(samples: number, stepMs: number): string {
	const seconds = Math.round((samples * stepMs) / 1000);
	return seconds >= 120 && seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

/**
 * Pane 3 while `r` is on: bytes per second in (▲, above the axis) and out
 * (▼, below it) for the selected socket and for the whole of netdash, over
 * the last two minutes, in braille bars; each half scaled to its own peak,
 * which the axis shows in human units.
 */
export function RateChart({sampler, description, isFocused, width, height}: RateChartProps) {
	const history: RateHistory = useSyncExternalStore(sampler.subscribe, sampler.getHistory);
	const inner = width - 2;
	const body = Math.max(0, height - 2);
	const cells = Math.max(1, Math.min(Math.ceil(history.capacity / 2), inner - axisWidth));
	const selectedRows = Math.floor(body / 2);
	const allRows = body - selectedRows;
	const title = history.socket === undefined ? 'no socket with byte counters selected (enter on a connection or UDP socket)' : `${history.socket} ${description}`;
	return (
		<PaneFrame number={3} title="Rates" detail={`(last ${span(Math.min(cells * 2, history.capacity), history.stepMs)} · r: back to the log)`} isFocused={isFocused} width={width} height={height}>
			{selectedRows > 0 ? <Panel title={title} series={history.selected} width={inner} rows={selectedRows} cells={cells} /> : null}
			<Panel title="all netdash" series={history.all} width={inner} rows={allRows} cells={cells} />
		</PaneFrame>
	);
}
