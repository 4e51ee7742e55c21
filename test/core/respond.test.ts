import dgram from 'node:dgram';
import net from 'node:net';
import {afterEach, describe, expect, it} from 'vitest';
import {Core} from '../../source/core/core.js';
import {createStore} from '../../source/core/index.js';
import {parseCommandLine} from '../../source/core/command-line.js';
import {parseJsonCommand} from '../../source/core/command-json.js';
import {executeCommand} from '../../source/core/commands.js';
import {UDP_REPLY_LIMITS} from '../../source/core/respond/responder.js';
import {parseRuleText} from '../../source/core/respond/rule.js';
import {record, until, type Recorder} from '../helpers/recorder.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

function makeCore(): {core: Core; events: Recorder} {
	const core = new Core();
	const events = record(core.bus);
	cleanups.push(async () => {
		events.stop();
		await core.closeAll(200);
		core.dispose();
	});
	return {core, events};
}

/** A listener with `framing`, and a plain client connected to it that collects what it receives. */
async function listenAndDial(core: Core, events: Recorder, framing: 'line' | 'raw'): Promise<{client: net.Socket; received: () => string; listener: string}> {
	const listener = core.listen('127.0.0.1', 0, {framing: framing === 'line' ? {kind: 'line'} : {kind: 'raw'}})!;
	const {port} = await events.waitFor('listener-opened', (event) => event.listener === listener);
	const client = net.connect(port, '127.0.0.1');
	client.on('error', () => {});
	let text = '';
	client.on('data', (chunk: Buffer) => {
		text += chunk.toString('latin1');
	});
	cleanups.push(() => {
		client.destroy();
	});
	await events.waitFor('connection-opened');
	return {client, received: () => text, listener};
}

async function udpClient(): Promise<dgram.Socket> {
	const socket = dgram.createSocket('udp4');
	socket.on('error', () => {});
	await new Promise<void>((resolve) => {
		socket.bind(0, '127.0.0.1', resolve);
	});
	cleanups.push(() => {
		socket.close();
	});
	return socket;
}

describe('auto-reply rules', () => {
	it('answers each framed line with its captures, ${len} and ${hex}, framed as a line', async () => {
		const {core, events} = makeCore();
		core.respond({pattern: String.raw`^PING (\d+)$`, reply: 'PONG $1 len=${len} hex=${hex}'});
		const {client, received} = await listenAndDial(core, events, 'line');
		client.write('PING 42\nnot this\nPING 7\n');
		await until(() => received().split('\n').length >= 3, () => `received ${JSON.stringify(received())}`);
		expect(received()).toBe(`PONG 42 len=7 hex=${Buffer.from('PING 42').toString('hex')}\nPONG 7 len=6 hex=${Buffer.from('PING 7').toString('hex')}\n`);
		expect(events.of('rule-replied').map((event) => [event.rule, event.bytes])).toEqual([['A1', 32], ['A1', 29]]);
	});

	it('"then close" sends the reply and then a FIN; "max 1" answers once and the rule is spent', async () => {
		const {core, events} = makeCore();
		core.respond(parseRuleText('HELLO => BYE\\n ;; then close max 1'));
		const {client, received} = await listenAndDial(core, events, 'raw');
		const ended = new Promise<void>((resolve) => client.on('end', resolve));
		client.write('HELLO');
		await ended;
		expect(received()).toBe('BYE\n');
		await events.waitFor('rule-changed', (event) => event.state === 'spent');
		core.listRules();
		const listed = await events.waitFor('rules-listed');
		expect(listed.rules[0]).toMatchObject({rule: 'A1', state: 'spent', hits: 1, replies: 1, then: 'close', max: 1});
	});

	it('"then reset" aborts the connection with a RST after the reply reached the peer', async () => {
		const {core, events} = makeCore();
		core.respond(parseRuleText('.* => gone ;; then reset'));
		const {client, received} = await listenAndDial(core, events, 'raw');
		const failed = new Promise<string>((resolve) => client.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? '')));
		client.write('x');
		expect(await failed).toBe('ECONNRESET');
		expect(received()).toBe('gone');
	});

	it('a paused rule does not answer, a resumed one does, and a removed one is gone from the list', async () => {
		const {core, events} = makeCore();
		const rule = core.respond({pattern: 'a', reply: 'A'})!;
		const {client, received} = await listenAndDial(core, events, 'line');
		core.changeRule(rule, 'pause');
		client.write('a\n');
		await events.waitFor('message-received');
		core.changeRule(rule, 'resume');
		client.write('a\n');
		await until(() => received() === 'A\n', () => `received ${JSON.stringify(received())}`);
		expect(events.of('message-received')).toHaveLength(2);
		core.changeRule(rule, 'remove');
		core.listRules();
		expect((await events.waitFor('rules-listed')).rules).toEqual([]);
		expect(events.of('rule-changed').map((event) => event.state)).toEqual(['paused', 'active', 'removed']);
	});

	it('a rule "on" one listener leaves connections of another unanswered', async () => {
		const {core, events} = makeCore();
		const first = await listenAndDial(core, events, 'line');
		core.respond(parseRuleText(`.* => yes ;; on ${first.listener}`));
		const second = await listenAndDial(core, events, 'line');
		second.client.write('hi\n');
		first.client.write('hi\n');
		await until(() => first.received() === 'yes\n', () => `first got ${JSON.stringify(first.received())}`);
		await until(() => events.of('message-received').length === 2, () => 'both messages');
		expect(second.received()).toBe('');
		expect(events.of('rule-replied')).toHaveLength(1);
	});

	it('connections accepted before any rule existed are answered once one is added: raw by chunk, framed by message, never both', async () => {
		const {core, events} = makeCore();
		const raw = await listenAndDial(core, events, 'raw');
		const line = await listenAndDial(core, events, 'line');
		core.respond(parseRuleText(`hi => ok ;; on ${raw.listener},${line.listener}`));
		raw.client.write('hi');
		line.client.write('hi\n');
		// A raw reply goes as it is; a line connection's is framed as a line.
		await until(() => raw.received() === 'ok' && line.received() === 'ok\n', () => `raw got ${JSON.stringify(raw.received())}, line got ${JSON.stringify(line.received())}`);
		await until(() => events.of('rule-replied').length === 2, () => 'two replies');
		// The line connection's chunk is not answered as raw data besides its message.
		await new Promise((resolve) => setTimeout(resolve, 100));
		expect(events.of('rule-replied')).toHaveLength(2);
		expect(line.received()).toBe('ok\n');
	});

	it('a delayed reply waits its delay', async () => {
		const {core, events} = makeCore();
		core.respond({pattern: 'x', reply: 'y', delayMs: 300});
		const {client, received} = await listenAndDial(core, events, 'raw');
		const sentAt = Date.now();
		client.write('x');
		await until(() => received() === 'y', () => `received ${JSON.stringify(received())}`);
		expect(Date.now() - sentAt).toBeGreaterThanOrEqual(250);
	});

	it('a catastrophic pattern cannot freeze netdash: (a+)+$ against 60,000 bytes answers at once', async () => {
		const {core, events} = makeCore();
		core.respond({pattern: '(a+)+$', reply: 'matched'});
		core.respond({pattern: '.', reply: 'fallback'});
		const {client, received} = await listenAndDial(core, events, 'raw');
		const started = Date.now();
		client.write('a'.repeat(60_000) + 'b');
		await until(() => received().includes('fallback'), () => `received ${JSON.stringify(received().slice(0, 40))}`, 5000);
		// A backtracking engine would take longer than the age of the universe here.
		expect(Date.now() - started).toBeLessThan(5000);
	});

	it('patterns that would need backtracking are refused with one line, and so are bad options', async () => {
		const {core, events} = makeCore();
		expect(core.respond({pattern: String.raw`(a)\1`, reply: 'x'})).toBeUndefined();
		const failed = await events.waitFor('command-failed');
		expect(failed.code).toBe('BAD_PATTERN');
		expect(failed.message).not.toContain('\n');
		expect(() => parseRuleText('a => b ;; then explode')).toThrow(/then close or then reset/);
		expect(() => parseRuleText('no arrow here')).toThrow(/PATTERN => REPLY/);
	});

	it('UDP: replies go only to the datagram\'s source, at most the per-source burst at once, and the rest are counted as rate-limited', async () => {
		const {core, events} = makeCore();
		const id = core.udpBind('127.0.0.1', 0)!;
		const {port} = await events.waitFor('udp-bound');
		core.respond({pattern: '.*', reply: 'ok'});
		const flooder = await udpClient();
		const bystander = await udpClient();
		let flooderGot = 0;
		let bystanderGot = 0;
		flooder.on('message', () => flooderGot++);
		bystander.on('message', () => bystanderGot++);
		const sent = 200;
		for (let index = 0; index < sent; index++) {
			flooder.send('ping', port, '127.0.0.1');
		}

		await until(() => events.of('datagram-received').length === sent, () => `${events.of('datagram-received').length} datagrams received`);
		const replies = events.of('rule-replied');
		// The burst, plus what refilled while the flood arrived (10/s): never one per datagram.
		expect(replies.length).toBeGreaterThanOrEqual(UDP_REPLY_LIMITS.burst);
		expect(replies.length).toBeLessThan(UDP_REPLY_LIMITS.burst + 20);
		expect(replies.every((event) => event.target === id && event.to?.port === flooder.address().port)).toBe(true);
		core.listRules();
		const listed = await events.waitFor('rules-listed');
		expect(listed.rules[0]).toMatchObject({hits: sent, replies: replies.length, skipped: sent - replies.length});
		const skipped = events.of('rule-skipped').filter((event) => event.reason === 'rate-limited');
		expect(skipped.reduce((sum, event) => sum + event.count, 0)).toBe(sent - replies.length);
		await until(() => flooderGot === replies.length, () => `flooder got ${flooderGot}`);
		expect(bystanderGot).toBe(0);
	});

	it('UDP: skips held back by the one-a-second limit are reported when the second is up, and each rule event carries the rule\'s counts', async () => {
		// Given a rule on a UDP socket and a source that sends 50 datagrams at once
		const {core, events} = makeCore();
		await (core.udpBind('127.0.0.1', 0), events.waitFor('udp-bound'));
		const {port} = events.of('udp-bound')[0]!;
		core.respond({pattern: '.*', reply: 'ok'});
		const flooder = await udpClient();
		const sent = 50;
		for (let index = 0; index < sent; index++) {
			flooder.send('ping', port, '127.0.0.1');
		}

		await until(() => events.of('datagram-received').length === sent, () => `${events.of('datagram-received').length} datagrams received`);
		const replies = events.of('rule-replied').length;

		// Then, with nobody asking for the list, the skips all come out within a second or so
		const reported = () => events.of('rule-skipped').reduce((sum, event) => sum + event.count, 0);
		await until(() => reported() === sent - replies, () => `${reported()} of ${sent - replies} skips reported`, 5000);
		// And the last rule event has the counts the Listeners pane shows
		const last = [...events.of('rule-replied'), ...events.of('rule-skipped')].sort((a, b) => a.seq - b.seq).at(-1)!;
		expect(last).toMatchObject({hits: sent, replies, skipped: sent - replies});
		expect(events.of('rule-replied').map((event) => event.replies)).toEqual(Array.from({length: replies}, (_, index) => index + 1));
	});

	it('UDP: a reply more than four times the datagram (past 128 bytes) is not sent: no amplification', async () => {
		const {core, events} = makeCore();
		await (core.udpBind('127.0.0.1', 0), events.waitFor('udp-bound'));
		const {port} = events.of('udp-bound')[0]!;
		core.respond({pattern: '.*', reply: 'x'.repeat(200)});
		const client = await udpClient();
		client.send('hi', port, '127.0.0.1');
		const skipped = await events.waitFor('rule-skipped');
		expect(skipped).toMatchObject({reason: 'too-large', count: 1, bytes: 200});
		expect(events.of('rule-replied')).toHaveLength(0);
	});

	it('respond, rules and rule read from JSON and from the command line', () => {
		expect(parseJsonCommand('{"cmd":"respond","pattern":"^GET","reply":"HTTP/1.0 200 OK\\\\r\\\\n","delay":0.5,"then":"close","max":3,"on":"L1"}')).toEqual({
			cmd: 'respond',
			spec: {pattern: '^GET', reply: String.raw`HTTP/1.0 200 OK\r\n`, delayMs: 500, then: 'close', max: 3, on: ['L1']},
		});
		expect(parseJsonCommand('{"cmd":"rule","rule":"A2","action":"pause"}')).toEqual({cmd: 'rule', rule: 'A2', action: 'pause'});
		expect(parseJsonCommand('{"cmd":"rules","ref":"r"}')).toEqual({cmd: 'rules', ref: 'r'});
		expect(() => parseJsonCommand('{"cmd":"respond","pattern":"a"}')).toThrow(/reply/);
		expect(parseCommandLine('respond ^PING => PONG ;; max 2 delay 1s')).toEqual({cmd: 'respond', spec: {pattern: '^PING', reply: 'PONG', max: 2, delayMs: 1000}});
		expect(parseCommandLine('rule A1 remove')).toEqual({cmd: 'rule', rule: 'A1', action: 'remove'});
		expect(parseCommandLine('rules')).toEqual({cmd: 'rules'});
	});

	it('a rule given as a JSON command answers, and its failure names the rule', async () => {
		const {core, events} = makeCore();
		executeCommand(core, parseJsonCommand('{"cmd":"respond","pattern":"(?<word>\\\\w+)","reply":"<$1>","ref":"r1"}'));
		expect((await events.waitFor('rule-added')).ref).toBe('r1');
		const {client, received} = await listenAndDial(core, events, 'line');
		client.write('hello\n');
		await until(() => received() === '<hello>\n', () => `received ${JSON.stringify(received())}`);
	});
});

describe('rules on the dashboard', () => {
	it(':rules shows each rule with its hit count as a notice, and :schedules says when there are none', async () => {
		const {core, events} = makeCore();
		const store = createStore(core.bus, {publishIntervalMs: 50});
		cleanups.push(() => {
			store.dispose();
		});
		core.respond({pattern: 'a', reply: 'b'});
		const {client, received} = await listenAndDial(core, events, 'raw');
		client.write('a');
		await until(() => received() === 'b', () => 'reply');
		core.listRules();
		core.listSchedules();
		store.flush();
		const messages = store.getSnapshot().notices.map((notice) => notice.message);
		expect(messages).toContain('A1 active a => b: 1 hits, 1 replies');
		expect(messages).toContain('no schedules: send --every 1s text, or send --count N text');
	});
});

describe('auto-replies in order', () => {
	it('answers a pipelined burst in the order asked, the last reply closing the connection', async () => {
		const {core, events} = makeCore();
		core.respond(parseRuleText('^QUIT$ => bye ;; then close'));
		core.respond({pattern: String.raw`^(\d+)$`, reply: '$1'});
		const {client, received} = await listenAndDial(core, events, 'line');
		const ended = new Promise<void>((resolve) => client.on('end', resolve));
		client.write('1\n2\n3\nQUIT\n');
		await ended;
		expect(received()).toBe('1\n2\n3\nbye\n');
		expect(events.of('rule-replied').map((event) => event.rule)).toEqual(['A2', 'A2', 'A2', 'A1']);
	});
});
