import {describe, expect, it} from 'vitest';
import {NetdashError} from '../../source/core/errors.js';
import {commandLineNames, complete, parseCommandLine} from '../../source/core/command-line.js';

/** The NetdashError a line throws, for checking its code and message. */
function failureOf(line: string, selected?: string): NetdashError {
	try {
		parseCommandLine(line, {selected});
	} catch (error) {
		expect(error).toBeInstanceOf(NetdashError);
		return error as NetdashError;
	}

	throw new Error(`'${line}' parsed without an error`);
}

describe('command line: parsing what a person types after :', () => {
	it('listen takes a bare port, host:port and an optional framing', () => {
		expect(parseCommandLine('listen 0')).toEqual({cmd: 'listen', host: '127.0.0.1', port: 0});
		expect(parseCommandLine('listen 0.0.0.0:8080 line')).toEqual({cmd: 'listen', host: '0.0.0.0', port: 8080, framing: {kind: 'line'}});
		expect(parseCommandLine('  LISTEN [::1]:9000 fixed:4')).toEqual({cmd: 'listen', host: '::1', port: 9000, framing: {kind: 'fixed', size: 4}});
	});

	it('connect needs a host and a port other than 0', () => {
		expect(parseCommandLine('connect 127.0.0.1:5000 u16')).toEqual({cmd: 'connect', host: '127.0.0.1', port: 5000, framing: {kind: 'u16'}});
		expect(failureOf('connect 5000').code).toBe('BAD_ADDRESS');
		expect(failureOf('connect localhost:0').message).toContain('port 0 is not a destination');
		expect(failureOf('connect').message).toContain('connect needs host:port');
	});

	it('send turns escapes into bytes and goes to the selected connection', () => {
		const command = parseCommandLine('send GET /\\r\\n\\x00\\tok', {selected: 'C4'});
		expect(command).toEqual({cmd: 'send', connection: 'C4', bytes: Buffer.from('GET /\r\n\x00\tok'), framed: true});
	});

	it('send keeps the spaces a person typed after the first separator', () => {
		const command = parseCommandLine('send  two spaces ', {selected: 'C1'});
		expect(command).toMatchObject({bytes: Buffer.from(' two spaces ')});
	});

	it('send with a leading connection id sends there instead of to the selection', () => {
		expect(parseCommandLine('send C7 hello', {selected: 'C1'})).toMatchObject({connection: 'C7', bytes: Buffer.from('hello')});
		expect(parseCommandLine('send \\x437 hello', {selected: 'C1'})).toMatchObject({connection: 'C1', bytes: Buffer.from('C7 hello')});
	});

	it('sendhex parses hex bytes', () => {
		expect(parseCommandLine('sendhex C2 48 65 6c 6c 6f')).toEqual({cmd: 'send', connection: 'C2', bytes: Buffer.from('Hello'), framed: true});
		expect(failureOf('sendhex C2 4', 'C2').code).toBe('BAD_HEX');
	});

	it('send with nothing selected says how to pick a connection', () => {
		const failure = failureOf('send hi');
		expect(failure.code).toBe('NO_SELECTION');
		expect(failure.message).toBe('send needs a connection: select one with enter, or name it (send [C1] text)');
	});

	it('send to a listener is refused with a reason', () => {
		expect(failureOf('send hi', 'L1').message).toBe('L1 is a listener: send works on connections (C1, C2, …)');
	});

	it('send with a bad escape names the escape and its position', () => {
		const failure = failureOf('send \\q', 'C1');
		expect(failure.code).toBe('BAD_ESCAPE');
		expect(failure.message).toContain('position 1');
	});

	it('shutdown, reset and close take an id or the selection; close also takes listeners', () => {
		expect(parseCommandLine('shutdown', {selected: 'C3'})).toEqual({cmd: 'shutdown', id: 'C3'});
		expect(parseCommandLine('reset C9', {selected: 'C3'})).toEqual({cmd: 'reset', id: 'C9'});
		expect(parseCommandLine('close L2')).toEqual({cmd: 'close', id: 'L2'});
		expect(failureOf('reset L2').message).toContain('L2 is a listener');
		expect(failureOf('close nonsense').message).toContain("'nonsense' is not a socket id");
		expect(failureOf('close C1 C2').message).toContain("close does not take 'C2'");
	});

	it('clear, help and quit stand alone', () => {
		expect(parseCommandLine('clear')).toEqual({cmd: 'clear'});
		expect(parseCommandLine('help')).toEqual({cmd: 'help'});
		expect(parseCommandLine('quit')).toEqual({cmd: 'quit'});
		expect(parseCommandLine('q')).toEqual({cmd: 'quit'});
	});

	it('an unknown command lists the known ones, on one line, with control bytes escaped', () => {
		const failure = failureOf('lsten\x1b[2J 80');
		expect(failure.code).toBe('BAD_COMMAND');
		expect(failure.message).toBe(`unknown command 'lsten^[[2J': use one of ${commandLineNames.join(', ')}`);
		expect(failure.message).not.toContain('\x1b');
	});

	it('UDP commands say they are not in this build rather than unknown', () => {
		expect(failureOf('sendto 127.0.0.1:9 hi').code).toBe('NOT_AVAILABLE');
	});

	it('discover starts discovery, on the default port or the one given, and probe asks peers to answer', () => {
		expect(parseCommandLine('discover')).toEqual({cmd: 'discover'});
		expect(parseCommandLine('discover 5000')).toEqual({cmd: 'discover', port: 5000});
		expect(failureOf('discover 0').message).toBe('port 0 is not a destination');
		expect(parseCommandLine('probe')).toEqual({cmd: 'probe'});
	});

	it('an empty line asks for a command', () => {
		expect(failureOf('   ').message).toContain('type a command');
	});
});

describe('command line: tab completion', () => {
	it('completes a command name and adds a space', () => {
		expect(complete('sh', [])).toEqual({text: 'shutdown ', candidates: ['shutdown']});
	});

	it('extends an ambiguous name to the common prefix and lists the candidates', () => {
		expect(complete('se', [])).toEqual({text: 'send', candidates: ['send', 'sendhex']});
		expect(complete('c', []).candidates).toEqual(['connect', 'close', 'clear']);
	});

	it('completes connection ids after send, shutdown and reset, and any id after close', () => {
		const ids = ['L1', 'C1', 'C12', 'C2'];
		expect(complete('reset ', ids)).toEqual({text: 'reset C', candidates: ['C1', 'C12', 'C2']});
		expect(complete('reset C2', ids)).toEqual({text: 'reset C2 ', candidates: ['C2']});
		expect(complete('close L', ids)).toEqual({text: 'close L1 ', candidates: ['L1']});
	});

	it('completes the framing of listen and connect', () => {
		expect(complete('listen 0 l', [])).toEqual({text: 'listen 0 line ', candidates: ['line']});
		expect(complete('connect h:1 f', [])).toEqual({text: 'connect h:1 fixed:', candidates: ['fixed:']});
	});

	it('leaves the line alone when nothing matches', () => {
		expect(complete('zzz', [])).toEqual({text: 'zzz', candidates: []});
		expect(complete('send hello wor', ['C1'])).toEqual({text: 'send hello wor', candidates: []});
	});
});
