import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {commandFromJson, parseJsonCommand} from '../../source/core/command-json.js';
import {eventToJson, executeCommand} from '../../source/core/commands.js';
import {Core} from '../../source/core/core.js';
import type {BusEvent} from '../../source/core/events.js';
import {commandDocument} from '../../source/core/schema/command-schema.js';
import {eventDocument} from '../../source/core/schema/event-schema.js';
import {compileDocument, eventErrors, FieldError} from '../../source/core/schema/validate.js';
import {record, until} from '../helpers/recorder.js';

const readme = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'readme.md'), 'utf8');

/** What parsing a line throws, as {code, field, message}. */
function failure(line: string): {code: string; field: string | undefined; message: string} {
	try {
		parseJsonCommand(line);
	} catch (error) {
		const {code, message} = error as FieldError;
		return {code, field: error instanceof FieldError ? error.field : undefined, message};
	}

	throw new Error(`${line} was accepted`);
}

describe('strict JSON commands', () => {
	for (const [line, code, field, message] of [
		['{"cmd":"connect","host":"127.0.0.1","port":8080,"timeout":-1}', 'BAD_COMMAND', 'timeout', '"timeout" must be more than 0, not -1'],
		['{"cmd":"connect","host":"127.0.0.1","port":"8080"}', 'BAD_PORT', 'port', '"port" must be a whole number, not "8080"'],
		['{"cmd":"connect","host":"127.0.0.1","port":8080,"timeout":1e309}', 'BAD_COMMAND', 'timeout', '"timeout" must be a number, not a number too large to hold'],
		['{"cmd":"listen","port":0,"colour":"red"}', 'BAD_COMMAND', 'colour', 'listen does not take "colour"'],
		['{"cmd":"listen","port":70000}', 'BAD_PORT', 'port', '"port" must be at most 65535, not 70000'],
		['{"cmd":"listen"}', 'BAD_PORT', 'port', 'listen needs "port"'],
		['{"cmd":"udp","port":0,"broadcast":"yes"}', 'BAD_COMMAND', 'broadcast', '"broadcast" must be true or false, not "yes"'],
		['{"cmd":"request","socket":"U1","host":"127.0.0.1","port":9,"text":"x","retries":2.5}', 'BAD_COMMAND', 'retries', '"retries" must be a whole number, not 2.5'],
		['{"cmd":"admission","allow":["10.0.0.0/8",7]}', 'BAD_COMMAND', 'allow/1', '"allow/1" must be a string, not 7'],
		['{"cmd":"send","connection":"C1","text":"a","hex":"41"}', 'BAD_COMMAND', 'hex', 'send needs exactly one of "text", "hex" or "base64" (got text and hex)'],
		['{"cmd":"sendto","socket":"U1","id":"U2","text":"a"}', 'BAD_COMMAND', 'id', 'sendto takes one of "socket" or "id", not both'],
		['{"cmd":"fly"}', 'BAD_COMMAND', 'cmd', 'unknown command "fly"'],
		['{"cmd":"quit","ref":7}', 'BAD_COMMAND', 'ref', '"ref" must be a string, not 7'],
	] as const) {
		it(`${line} is refused naming ${field}`, () => {
			const got = failure(line);
			expect(got.code).toBe(code);
			expect(got.field).toBe(field);
			expect(got.message.startsWith(message)).toBe(true);
		});
	}

	it('a nested JSON value where a number belongs is a field error, not UNKNOWN', () => {
		for (const [line, field] of [
			['{"cmd":"connect","host":"127.0.0.1","port":{"n":8080}}', 'port'],
			['{"cmd":"connect","host":"127.0.0.1","port":8080,"timeout":[1]}', 'timeout'],
			['{"cmd":"admission","maxConnections":{"deep":[[[1]]]}}', 'maxConnections'],
			['{"cmd":"discover","interval":{"s":1}}', 'interval'],
			// Deep enough that quoting the value back (JSON.stringify) would overflow the stack: UNKNOWN before.
			[`{"cmd":"connect","host":"127.0.0.1","port":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, 'port'],
			[`{"cmd":"listen","port":0,"extra":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`, 'extra'],
		] as const) {
			const got = failure(line);
			expect(got.field, line.slice(0, 80)).toBe(field);
			expect(got.code, line.slice(0, 80)).toMatch(/^BAD_(PORT|COMMAND)$/);
			expect(got.message, line.slice(0, 80)).toMatch(field === 'extra' ? /does not take "extra"$/ : /, not an? (object|array)$/);
		}
	});

	it('a valid command is built from an already-parsed value, as from its line', () => {
		const value = {cmd: 'request', host: '127.0.0.1', port: 9000, text: 'ping', plain: true, timeout: 0.25, ref: 'r'};
		expect(commandFromJson(value)).toEqual({cmd: 'request', host: '127.0.0.1', port: 9000, bytes: Buffer.from('ping'), timeoutMs: 250, isPlain: true, ref: 'r'});
		expect(parseJsonCommand(JSON.stringify(value))).toEqual(commandFromJson(value));
		expect(() => commandFromJson({cmd: 'request', host: '127.0.0.1', port: 9000, text: 'ping'})).toThrow('request needs "socket"');
	});
});

describe('the JSON schema of commands and events', () => {
	/** Every `{…}` JSON object written in backticks in the readme. */
	const examples = [...readme.matchAll(/`(\{[^`]*\})`/g)].flatMap((match) => {
		try {
			return [JSON.parse(match[1]!) as Record<string, unknown>];
		} catch {
			return [];
		}
	});

	it('every command example in the readme is valid, for netdash and for the standalone schema', () => {
		const commands = examples.filter((example) => 'cmd' in example);
		expect(commands.length).toBeGreaterThanOrEqual(20);
		const validate = compileDocument(commandDocument);
		for (const example of commands) {
			expect(() => commandFromJson(example), JSON.stringify(example)).not.toThrow();
			expect(validate(example), `${JSON.stringify(example)}: ${JSON.stringify(validate.errors)}`).toBe(true);
		}

		// And the standalone schema refuses what netdash refuses.
		expect(validate({cmd: 'connect', host: '127.0.0.1', port: '8080'})).toBe(false);
		expect(validate({cmd: 'listen', port: 0, colour: 'red'})).toBe(false);
	});

	it('every event example in the readme is valid', () => {
		const events = examples.filter((example) => 'type' in example);
		expect(events.length).toBeGreaterThanOrEqual(1);
		const validate = compileDocument(eventDocument);
		for (const example of events) {
			expect(eventErrors(example), JSON.stringify(example)).toEqual([]);
			expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
		}
	});

	it('the events a real session writes all conform to the event schema', async () => {
		const core = new Core();
		const events = record(core.bus);
		try {
			core.listen('127.0.0.1', 0, {ref: 'l'});
			const {port} = await events.waitFor('listener-opened');
			core.connect('127.0.0.1', port, {ref: 'c'});
			const opened = await events.waitFor('connection-opened', (event) => event.origin === 'dialed');
			core.send(opened.connection, Buffer.from('hello\n'), {ref: 's'});
			await events.waitFor('data-received');
			core.reset(opened.connection);
			const socket = core.udpBind('127.0.0.1', 0, {isEcho: true})!;
			const bound = await events.waitFor('udp-bound');
			const requestId = core.udpRequest(socket, '127.0.0.1', bound.port, Buffer.from('ping'), {ref: 'q'});
			await events.waitFor('request-completed', (event) => event.requestId === requestId);
			core.udpSend(socket, '127.0.0.1', 9, Buffer.from('x'), {ref: 'discard'});
			core.udpSend('U99', '127.0.0.1', 9, Buffer.from('x'));
			await events.waitFor('command-failed');
			await core.closeAll(200);
			await until(() => events.of('udp-closed').length === 1, () => 'udp closed');
		} finally {
			events.stop();
			core.dispose();
		}

		const types = new Set(events.events.map((event) => event.type));
		expect(types.size).toBeGreaterThanOrEqual(12);
		for (const event of events.events) {
			const line = eventToJson(event as BusEvent);
			expect(eventErrors(JSON.parse(line)), line).toEqual([]);
		}
	});

	it('a line-framed session\'s messages (with the LF or CRLF that ended each) and a partial message at FIN conform to the event schema', async () => {
		const core = new Core();
		const events = record(core.bus);
		try {
			core.listen('127.0.0.1', 0, {framing: {kind: 'line'}});
			const {port} = await events.waitFor('listener-opened');
			core.connect('127.0.0.1', port);
			const dialed = await events.waitFor('connection-opened', (event) => event.origin === 'dialed');
			core.send(dialed.connection, Buffer.from('one\r\ntwo\nthree'));
			await events.waitFor('message-received', (event) => event.delimiter === 'lf');
			core.shutdown(dialed.connection);
			await events.waitFor('message-partial');
		} finally {
			await core.closeAll(200);
			events.stop();
			core.dispose();
		}

		const framed = events.events.filter((event) => event.type === 'message-received' || event.type === 'message-partial');
		expect(framed.map((event) => (event.type === 'message-received' ? event.delimiter : `partial ${event.bytes}`))).toEqual(['crlf', 'lf', 'partial 5']);
		for (const event of framed) {
			const line = eventToJson(event as BusEvent);
			expect(eventErrors(JSON.parse(line)), line).toEqual([]);
		}
	});
});

