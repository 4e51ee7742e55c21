import {describe, expect, test} from 'vitest';
import {compareResults, formatComparison, type BenchResults} from './lib/compare.js';
import type {Row} from './lib/report.js';

function results(rows: Row[], mode = 'quick'): BenchResults {
	return {mode, machine: {cores: 2, node: 'v24.21.0', loadAverage: {start: 1, end: 2}}, rows};
}

function carry(ratio: number | undefined, status: Row['status'] = 'pass'): Row {
	return {scenario: 'Carry 128 MiB, headless', unit: 'MiB/s', baselineName: 'raw net', ratio, target: {on: 'ratio', op: '>=', value: 0.9}, status};
}

function scaleRss(ratio: number): Row {
	return {scenario: 'Scale 2,000 conns, RSS', unit: 'KiB/conn', baselineName: 'bare net', ratio, target: {on: 'ratio', op: '<=', value: 2}, status: 'pass'};
}

function version(ratio: number): Row {
	return {scenario: 'Start: netdash --version', unit: 'ms', baselineName: 'node -e 0', ratio, status: 'report'};
}

describe('bench --compare', () => {
	test('a throughput ratio that fell more than 10 % is flagged worse, one that fell less is not', () => {
		expect(compareResults(results([carry(1)]), results([carry(0.89)]))[0]).toMatchObject({isWorse: true, note: 'worse'});
		expect(compareResults(results([carry(1)]), results([carry(0.91)]))[0]).toMatchObject({isWorse: false, note: 'same'});
		expect(compareResults(results([carry(1)]), results([carry(1.2)]))[0]).toMatchObject({isWorse: false, note: 'better'});
	});

	test('a cost ratio (memory, time) that rose more than 10 % is flagged worse, and falling is better', () => {
		expect(compareResults(results([scaleRss(1.5)]), results([scaleRss(1.7)]))[0]).toMatchObject({isWorse: true, better: 'lower'});
		expect(compareResults(results([scaleRss(1.5)]), results([scaleRss(1.6)]))[0]).toMatchObject({isWorse: false});
		expect(compareResults(results([scaleRss(1.5)]), results([scaleRss(1.2)]))[0]).toMatchObject({isWorse: false, note: 'better'});
	});

	test('a ratio without a target goes by its unit: a slower --version is worse', () => {
		const [change] = compareResults(results([version(2)]), results([version(2.5)]));
		expect(change).toMatchObject({better: 'lower', isWorse: true});
		expect(change!.change).toBeCloseTo(-0.25);
	});

	test('a scenario that errors or disappears fails the guard; a new one does not', () => {
		const changes = compareResults(results([carry(1), scaleRss(1.5)]), results([carry(undefined, 'error'), version(2)]));
		expect(changes.map(({id, isWorse, note}) => ({id, isWorse, note}))).toEqual([
			{id: 'Carry 128 MiB, headless vs raw net', isWorse: true, note: 'no ratio now (error)'},
			{id: 'Start: netdash --version vs node -e 0', isWorse: false, note: 'new'},
			{id: 'Scale 2,000 conns, RSS vs bare net', isWorse: true, note: 'gone'},
		]);
	});

	test('rows with the same scenario and different baselines are compared with their own', () => {
		const reference = (baselineName: string, ratio: number): Row => ({scenario: 'Carry 1 GiB, reference', unit: 'MiB/s', baselineName, ratio, status: 'report'});
		const changes = compareResults(results([reference('socat', 2), reference('iperf3', 0.8)]), results([reference('iperf3', 0.8), reference('socat', 1.5)]));
		expect(changes.map(({id, isWorse}) => ({id, isWorse}))).toEqual([
			{id: 'Carry 1 GiB, reference vs iperf3', isWorse: false},
			{id: 'Carry 1 GiB, reference vs socat', isWorse: true},
		]);
	});

	test('the printed comparison names each worse row and warns when a quick run meets a full one', () => {
		const older = results([carry(1), scaleRss(1.5)], 'full');
		const newer = results([carry(0.8), scaleRss(1.5)]);
		const text = formatComparison(older, newer, compareResults(older, newer));
		expect(text).toContain('−20.0 %');
		expect(text).toContain('WORSE (worse)');
		expect(text).toContain('1 ratio more than 10 % worse: Carry 128 MiB, headless vs raw net');
		expect(text).toContain('a quick run is compared with a full one');
	});
});
