import {describe, expect, it} from 'vitest';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {complete, parseCommandLine} from '../../source/core/command-line.js';
import {parseCliOptions} from '../../source/options.js';

/** The three ways to ask for a forward: the flag, the `:` line and the JSON command. */
describe('asking for a forward', () => {
	it(':forward 8080 127.0.0.1:3000 and its ssh -L form in one word are the same forward', () => {
		const expected = {cmd: 'forward', host: '127.0.0.1', port: 8080, target: {host: '127.0.0.1', port: 3000}};
		expect(parseCommandLine('forward 8080 127.0.0.1:3000')).toEqual(expected);
		expect(parseCommandLine('forward 8080:127.0.0.1:3000')).toEqual(expected);
		expect(parseCommandLine('forward 0.0.0.0:8080 127.0.0.1:3000 line')).toEqual({...expected, host: '0.0.0.0', framing: {kind: 'line'}});
		expect(() => parseCommandLine('forward 8080')).toThrow(/PORT:HOST:HOSTPORT/);
		expect(() => parseCommandLine('forward')).toThrow(/forward needs a port/);
		expect(complete('forw', []).text).toBe('forward ');
	});

	it('the JSON forward command of the issue is read, and a target without a port is refused naming the field', () => {
		expect(parseJsonCommand('{"cmd":"forward","port":8080,"host":"127.0.0.1","target":{"host":"127.0.0.1","port":3000}}')).toEqual({
			cmd: 'forward',
			host: '127.0.0.1',
			port: 8080,
			target: {host: '127.0.0.1', port: 3000},
		});
		expect(() => parseJsonCommand('{"cmd":"forward","port":8080,"target":{"host":"127.0.0.1"}}')).toThrow(/port/);
		expect(() => parseJsonCommand('{"cmd":"forward","port":8080}')).toThrow(/target/);
	});

	it('--forward is repeatable, and a bad one is a one-line flag error', () => {
		const options = parseCliOptions({forward: ['8080:127.0.0.1:3000', '[::1]:0:example.test:80']}, []);
		expect(options.forward).toEqual([
			{bind: {host: '127.0.0.1', port: 8080}, target: {host: '127.0.0.1', port: 3000}},
			{bind: {host: '::1', port: 0}, target: {host: 'example.test', port: 80}},
		]);
		expect(() => parseCliOptions({forward: ['3000']}, [])).toThrow(/^--forward '3000' is not \[BIND:\]PORT:HOST:HOSTPORT/);
		expect(() => parseCliOptions({}, [], ['--forward'])).toThrow(/--forward needs a value/);
		expect(parseCliOptions({forwardUdp: ['5353:127.0.0.1:53']}, []).forwardUdp).toEqual([{bind: {host: '127.0.0.1', port: 5353}, target: {host: '127.0.0.1', port: 53}}]);
		expect(() => parseCliOptions({forwardUdp: ['x']}, [])).toThrow(/^--forward-udp 'x' is not/);
	});
});
