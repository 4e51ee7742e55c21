import {describe, expect, it} from 'vitest';
import {NetdashError} from '../../source/core/errors.js';
import {broadcastCommands, commandLineNames, complete, parseCommandLine} from '../../source/core/command-line.js';

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

	it(':request host:port text is a plain UDP request with escapes, on a socket of its own unless one is named', () => {
		expect(parseCommandLine('request 127.0.0.1:9000 ping\\r\\n', {selected: 'U3'})).toEqual({cmd: 'request', host: '127.0.0.1', port: 9000, bytes: Buffer.from('ping\r\n'), isPlain: true});
		expect(parseCommandLine('request U2 hello there')).toEqual({cmd: 'request', socket: 'U2', bytes: Buffer.from('hello there'), isPlain: true});
		expect(parseCommandLine('request U2 [::1]:53 q')).toEqual({cmd: 'request', socket: 'U2', host: '::1', port: 53, bytes: Buffer.from('q'), isPlain: true});
		expect(failureOf('request ping').message).toBe('request needs host:port (usage: request [U1] host:port text)');
		expect(failureOf('request 127.0.0.1:9000').message).toBe('request needs text after the address (usage: request [U1] host:port text)');
		expect(failureOf('request 127.0.0.1:0 x').code).toBe('BAD_PORT');
	});

	it('sendfile takes the rest of the line as the path, spaces and all, for the selected or named connection', () => {
		expect(parseCommandLine('sendfile /tmp/my file.bin', {selected: 'C3'})).toEqual({cmd: 'sendfile', connection: 'C3', path: '/tmp/my file.bin'});
		expect(parseCommandLine('sendfile C2 notes.txt', {selected: 'C3'})).toEqual({cmd: 'sendfile', connection: 'C2', path: 'notes.txt'});
		expect(failureOf('sendfile', 'C1').message).toBe('sendfile needs a file after the command (usage: sendfile [C1] PATH)');
		expect(failureOf('sendfile a.bin', 'U1').message).toBe('U1 is a UDP socket: sendfile works on connections (C1, C2, …) (a datagram: sendto)');
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

	it('udp binds a port on loopback by default, or host:port, with broadcast and echo flags', () => {
		expect(parseCommandLine('udp 0')).toEqual({cmd: 'udp', host: '127.0.0.1', port: 0});
		expect(parseCommandLine('udp 0.0.0.0:9000 broadcast echo')).toEqual({cmd: 'udp', host: '0.0.0.0', port: 9000, isBroadcast: true, isEcho: true});
		expect(failureOf('udp').code).toBe('BAD_PORT');
		expect(failureOf('udp 0 loud').message).toContain("udp does not take 'loud'");
	});

	it('sendto sends from the selected UDP socket or the one named, to host:port, with escapes and spaces kept', () => {
		expect(parseCommandLine('sendto 127.0.0.1:9000 hi\\n', {selected: 'U2'})).toEqual({cmd: 'sendto', socket: 'U2', host: '127.0.0.1', port: 9000, bytes: Buffer.from('hi\n')});
		expect(parseCommandLine('sendto U3  127.0.0.1:9   two  spaces', {selected: 'U2'})).toMatchObject({socket: 'U3', port: 9, bytes: Buffer.from('  two  spaces')});
		// Without host:port the datagram goes to a connected socket's peer (the core refuses it on an unconnected one)
		expect(parseCommandLine('sendto U1 hello there')).toEqual({cmd: 'sendto', socket: 'U1', bytes: Buffer.from('hello there')});
	});

	it('sendto without a UDP socket, or without text, says what is missing', () => {
		expect(failureOf('sendto 127.0.0.1:9 hi').code).toBe('NO_SELECTION');
		expect(failureOf('sendto 127.0.0.1:9 hi', 'C1').message).toBe('sendto needs a UDP socket: select one in Listeners (1) with enter, or name it (sendto [U1] host:port text)');
		expect(failureOf('sendto U1 127.0.0.1:9').message).toContain('sendto needs text after the address');
		expect(failureOf('sendto U1 127.0.0.1:0 x').message).toContain('port 0 is not a destination');
		expect(failureOf('send hi', 'U1').message).toBe('U1 is a UDP socket: send works on connections (C1, C2, …) (a datagram: sendto)');
	});

	it('udpconnect connects the selected UDP socket to one peer', () => {
		expect(parseCommandLine('udpconnect 127.0.0.1:53', {selected: 'U1'})).toEqual({cmd: 'udp-connect', socket: 'U1', host: '127.0.0.1', port: 53});
		expect(parseCommandLine('udpconnect U4 localhost:7')).toEqual({cmd: 'udp-connect', socket: 'U4', host: 'localhost', port: 7});
		expect(failureOf('udpconnect U4').code).toBe('BAD_ADDRESS');
	});

	it('broadcast sends to a port on every broadcast address, or to the address named; on / off switch SO_BROADCAST', () => {
		expect(parseCommandLine('broadcast 9999 hello all', {selected: 'U1'})).toEqual({cmd: 'broadcast-to', socket: 'U1', port: 9999, bytes: Buffer.from('hello all')});
		expect(parseCommandLine('broadcast U2 127.255.255.255:9999 hi')).toEqual({cmd: 'broadcast-to', socket: 'U2', address: '127.255.255.255', port: 9999, bytes: Buffer.from('hi')});
		expect(parseCommandLine('broadcast off', {selected: 'U1'})).toEqual({cmd: 'broadcast', socket: 'U1', isOn: false});
		expect(failureOf('broadcast 9999', 'U1').message).toContain('broadcast needs text after the port');
		expect(failureOf('broadcast nine hi', 'U1').code).toBe('BAD_PORT');
	});

	it('a broadcast line becomes SO_BROADCAST on (when off) and one sendto per address; nowhere to send is a clear failure', () => {
		const line = {cmd: 'broadcast-to', socket: 'U1', port: 9, bytes: Buffer.from('x')} as const;
		expect(broadcastCommands(line, {addresses: ['10.0.0.255', '10.1.255.255', '10.0.0.255'], isBroadcastOn: false})).toEqual([
			{cmd: 'broadcast', socket: 'U1', isOn: true},
			{cmd: 'sendto', socket: 'U1', host: '10.0.0.255', port: 9, bytes: Buffer.from('x')},
			{cmd: 'sendto', socket: 'U1', host: '10.1.255.255', port: 9, bytes: Buffer.from('x')},
		]);
		expect(broadcastCommands({...line, address: '127.255.255.255'}, {addresses: ['10.0.0.255'], isBroadcastOn: true})).toEqual([
			{cmd: 'sendto', socket: 'U1', host: '127.255.255.255', port: 9, bytes: Buffer.from('x')},
		]);
		expect(() => broadcastCommands(line, {addresses: [], isBroadcastOn: true})).toThrow(/no interface here has a broadcast address .*broadcast U1 127\.255\.255\.255:9 text/);
	});

	it('discover starts discovery, on the default port or the one given, optionally announcing to given addresses; probe and stop-discovery', () => {
		expect(parseCommandLine('discover')).toEqual({cmd: 'discover'});
		expect(parseCommandLine('discover 5000')).toEqual({cmd: 'discover', port: 5000});
		expect(parseCommandLine('discover 5000 127.0.0.1:5001 10.0.0.255')).toEqual({cmd: 'discover', port: 5000, broadcast: ['127.0.0.1:5001', '10.0.0.255']});
		expect(parseCommandLine('discover 127.255.255.255')).toEqual({cmd: 'discover', broadcast: ['127.255.255.255']});
		expect(failureOf('discover 0').message).toBe('port 0 is not a destination');
		expect(failureOf('discover 5000 lan').code).toBe('BAD_ADDRESS');
		expect(parseCommandLine('probe')).toEqual({cmd: 'probe'});
		expect(parseCommandLine('stop-discovery')).toEqual({cmd: 'stop-discovery'});
	});

	it('shutdown and reset on a UDP socket say it is one; close takes it', () => {
		expect(failureOf('reset', 'U1').message).toBe('U1 is a UDP socket: reset works on connections (C1, C2, …)');
		expect(parseCommandLine('close', {selected: 'U1'})).toEqual({cmd: 'close', id: 'U1'});
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
		expect(complete('se', [])).toEqual({text: 'send', candidates: ['send', 'sendhex', 'sendfile', 'sendto']});
		expect(complete('c', []).candidates).toEqual(['connect', 'close', 'clear', 'cancel']);
	});

	it('completes connection ids after send, shutdown and reset, and any id after close', () => {
		const ids = ['L1', 'C1', 'C12', 'C2'];
		expect(complete('reset ', ids)).toEqual({text: 'reset C', candidates: ['C1', 'C12', 'C2']});
		expect(complete('reset C2', ids)).toEqual({text: 'reset C2 ', candidates: ['C2']});
		expect(complete('close L', ids)).toEqual({text: 'close L1 ', candidates: ['L1']});
	});

	it('completes UDP socket ids after sendto, udpconnect and broadcast, and the flags of udp', () => {
		const ids = ['L1', 'C1', 'U1', 'U2'];
		expect(complete('sendto ', ids)).toEqual({text: 'sendto U', candidates: ['U1', 'U2']});
		expect(complete('udpc', ids)).toEqual({text: 'udpconnect ', candidates: ['udpconnect']});
		expect(complete('broadcast U2', ids)).toEqual({text: 'broadcast U2 ', candidates: ['U2']});
		expect(complete('udp 0 b', ids)).toEqual({text: 'udp 0 broadcast ', candidates: ['broadcast']});
		expect(complete('close U', ids).candidates).toEqual(['U1', 'U2']);
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
