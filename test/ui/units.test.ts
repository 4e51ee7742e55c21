import {describe, expect, it} from 'vitest';
import type {LogEntry, LogView} from '../../source/core/index.js';
import {sparkline} from '../../source/ui/components/sparkline.js';
import {logWindow} from '../../source/ui/hooks/use-log-window.js';
import {lineInputReducer, startState} from '../../source/ui/hooks/use-line-input-state.js';
import {scrollWindow} from '../../source/ui/hooks/use-scroll-window.js';
import {actionOf, keyBindings, noKey, splitKeys} from '../../source/ui/keys.js';
import {filterLog, indexAtOrBefore, parseLogFilter} from '../../source/ui/log-filter.js';

function view(entries: LogEntry[]): LogView {
	return {
		length: entries.length,
		evicted: 0,
		evictedBytes: 0,
		at: (index) => entries[index],
		slice: (start, end) => entries.slice(start, end),
	};
}

function entry(seq: number, direction: LogEntry['direction'], text: string): LogEntry {
	return direction === 'note'
		? {seq, at: 0, direction, kind: 'note', bytes: 0, data: undefined, text}
		: {seq, at: 0, direction, kind: 'chunk', bytes: text.length, data: Buffer.from(text)};
}

describe('key table', () => {
	it('no key means two things in the same scope', () => {
		const probes = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:/?! '].map((input) => ({input, key: noKey}));
		for (const flag of ['upArrow', 'downArrow', 'pageUp', 'pageDown', 'home', 'end', 'return', 'escape', 'tab'] as const) {
			probes.push({input: '', key: {...noKey, [flag]: true}});
		}

		probes.push({input: '', key: {...noKey, tab: true, shift: true}}, {input: 'c', key: {...noKey, ctrl: true}}, {input: 'd', key: {...noKey, ctrl: true}});
		// Where a key is read: a prompt; the held chunks view; netdash replay, whose keys go first (there space pauses the replay, not the log);
		// the System pane, whose own keys go first (there p lists a process's sockets, so discovery's p is not reached); any other pane.
		probes.push(...[...'+-[]='].map((input) => ({input, key: noKey})));
		const places = {
			panes: (scope: string) => !['prompt', 'system', 'held', 'replay'].includes(scope),
			system: (scope: string) => !['prompt', 'discovery', 'relay', 'held', 'replay'].includes(scope),
			prompt: (scope: string) => scope === 'prompt',
			held: (scope: string) => scope === 'held',
			replay: (scope: string) => scope === 'replay',
		};
		for (const {input, key} of probes) {
			for (const [place, isHeard] of Object.entries(places)) {
				const matches = keyBindings.filter((binding) => isHeard(binding.scope) && binding.matches(input, key));
				expect(matches.length, `${JSON.stringify(input)} ${JSON.stringify(key)} in ${place}: ${matches.map((binding) => binding.action).join(', ')}`).toBeLessThanOrEqual(1);
			}
		}
	});

	it('a typed-ahead chunk is split into single keys, enter and tab included', () => {
		const keys = splitKeys('j2\r\tG', noKey);
		expect(keys.map((typed) => typed.input)).toEqual(['j', '2', '\r', '\t', 'G']);
		expect(keys.map((typed) => actionOf(typed.input, typed.key))).toEqual(['move-down', 'focus-pane', 'select', 'focus-next', 'move-last']);
		expect(splitKeys('G', {...noKey, shift: true})).toHaveLength(1);
	});
});

describe('prompt line editing', () => {
	it('history walks back and forth and returns to the draft', () => {
		const history = ['listen 0', 'connect 127.0.0.1:80'];
		let state = lineInputReducer(startState(''), {type: 'insert', text: 'dra'});
		state = lineInputReducer(state, {type: 'history', step: -1, history});
		expect(state.value).toBe('connect 127.0.0.1:80');
		state = lineInputReducer(state, {type: 'history', step: -1, history});
		state = lineInputReducer(state, {type: 'history', step: -1, history});
		expect(state.value).toBe('listen 0');
		state = lineInputReducer(state, {type: 'history', step: 1, history});
		state = lineInputReducer(state, {type: 'history', step: 1, history});
		expect(state.value).toBe('dra');
	});

	it('pasted control characters never enter the line, and backspace removes a whole emoji', () => {
		let state = lineInputReducer(startState(''), {type: 'insert', text: 'a\u001B[2Jb\tc😀'});
		expect(state.value).toBe('a[2Jb c😀');
		state = lineInputReducer(state, {type: 'delete-back'});
		expect(state.value).toBe('a[2Jb c');
		state = lineInputReducer(state, {type: 'delete-word'});
		expect(state.value).toBe('a[2Jb ');
	});

	it('a prompt opened with typed-ahead text starts with it, cut at the enter', () => {
		expect(startState('listen 0\rjunk').value).toBe('listen 0');
	});
});

describe('windows over long lists', () => {
	it('a list window moves only when the cursor leaves it', () => {
		expect(scrollWindow(0, 3, 100, 5)).toBe(0);
		expect(scrollWindow(0, 5, 100, 5)).toBe(1);
		expect(scrollWindow(10, 12, 100, 5)).toBe(10);
		expect(scrollWindow(10, 8, 100, 5)).toBe(8);
		expect(scrollWindow(96, 99, 100, 5)).toBe(95);
		expect(scrollWindow(50, 2, 3, 5)).toBe(0);
	});

	it('a log window of mixed heights keeps the cursor whole and fills the rows it has', () => {
		const heights = [1, 3, 1, 4, 1, 1, 2];
		const heightOf = (index: number) => heights[index]!;
		expect(logWindow(0, {count: 7, cursor: 6, height: 5, heightOf, isFollowing: true})).toEqual({start: 4, end: 7});
		expect(logWindow(4, {count: 7, cursor: 3, height: 5, heightOf, isFollowing: false})).toEqual({start: 3, end: 5});
		expect(logWindow(3, {count: 7, cursor: 0, height: 5, heightOf, isFollowing: false})).toEqual({start: 0, end: 3});
		expect(logWindow(0, {count: 0, cursor: 0, height: 5, heightOf, isFollowing: true})).toEqual({start: 0, end: 0});
	});
});

describe('log filter', () => {
	const log = view([entry(1, 'note', 'connected'), entry(2, 'out', 'GET / HTTP/1.0\r\n'), entry(3, 'in', 'HTTP/1.0 200 OK\r\n'), entry(5, 'in', 'body')]);

	it('direction words filter by direction, other text searches the entry as displayed', () => {
		expect(parseLogFilter('in GET')).toEqual({direction: 'in', text: 'get'});
		expect(parseLogFilter('  Hello world ')).toEqual({direction: undefined, text: 'hello world'});
		const seqs = (text: string) => {
			const rows = filterLog(log, text);
			return Array.from({length: rows.length}, (_, index) => rows.at(index).seq);
		};

		expect(seqs('in')).toEqual([3, 5]);
		expect(seqs('out')).toEqual([2]);
		expect(seqs('note')).toEqual([1]);
		expect(seqs('200')).toEqual([3]);
		expect(seqs(String.raw`\r\n`)).toEqual([2, 3]);
		expect(seqs('')).toEqual([1, 2, 3, 5]);
	});

	it('a paused cursor finds the entry at or before its seq, even after it was filtered out', () => {
		const rows = filterLog(log, 'in');
		expect(indexAtOrBefore(rows, 5)).toBe(1);
		expect(indexAtOrBefore(rows, 4)).toBe(0);
		expect(indexAtOrBefore(rows, 1)).toBe(0);
	});
});

describe('sparkline', () => {
	it('scales to the window\'s maximum and leaves idle samples blank', () => {
		expect(sparkline([0, 1, 2, 4, 8], 5)).toBe(' ▂▃▅█');
		expect(sparkline([0, 0], 4)).toBe('    ');
		expect(sparkline([5, 5, 5, 5, 5, 5], 3)).toBe('███');
	});
});
