import {createElement as h, useState, type ReactNode} from 'react';
import {Box, Text, render, useInput} from 'ink';
import {afterEach, describe, expect, test} from 'vitest';
import {Screen, VirtualKeyboard, VirtualTerminal} from './virtual-terminal.js';

function Counter(): ReactNode {
	const [count, setCount] = useState(0);
	useInput((input) => {
		if (input === '+') {
			setCount((value) => value + 1);
		}
	});
	return h(Box, {flexDirection: 'column', borderStyle: 'round', alignSelf: 'flex-start'}, h(Text, {}, 'bench counter'), h(Text, {color: 'green'}, `count ${count}`));
}

const mounted: Array<{unmount: () => void}> = [];
afterEach(() => {
	for (const instance of mounted.splice(0)) {
		instance.unmount();
	}
});

describe('the bench virtual terminal', () => {
	test.each([false, true])('shows what Ink drew and each key press as a new frame (incremental: %s)', async (incrementalRendering) => {
		// Given a counter rendered into a 120×40 virtual terminal, as the CLI renders the dashboard
		const terminal = new VirtualTerminal(120, 40);
		const keyboard = new VirtualKeyboard();
		mounted.push(
			render(h(Counter), {
				stdout: terminal as unknown as NodeJS.WriteStream,
				stdin: keyboard as unknown as NodeJS.ReadStream,
				exitOnCtrlC: false,
				patchConsole: false,
				interactive: true,
				alternateScreen: true,
				maxFps: 60,
				incrementalRendering,
			}),
		);
		await terminal.waitForFrame((frame) => frame.text.includes('count 0'), 'with count 0');

		// When + is pressed twice
		for (const expected of ['count 1', 'count 2']) {
			const fromIndex = terminal.frames.length;
			keyboard.press('+');
			await terminal.waitForFrame((frame) => frame.text.includes(expected), `with ${expected}`, {fromIndex});
		}

		// Then the screen holds one box with the latest count and nothing left over
		expect(terminal.lastFrame()).toBe(['╭─────────────╮', '│bench counter│', '│count 2      │', '╰─────────────╯'].join('\n'));
	});

	test('screen applies cursor moves, erases, wrap and scrolling', () => {
		const screen = new Screen(5, 3);
		screen.write('abcdefg\nxy\u001B[1A\u001B[2G\u001B[K!');
		expect(screen.text()).toBe('abcde\nf!\nxy');
		screen.write('\u001B[3;1H\n\nlast');
		expect(screen.text()).toBe('xy\n\nlast');
		screen.write('\u001B[2J\u001B[1;1Hnew\u001B]0;title\u0007');
		expect(screen.text()).toBe('new');
	});
});
