import dgram from 'node:dgram';
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {PassThrough, Writable} from 'node:stream';
import {fileURLToPath} from 'node:url';
import {describe, expect, it} from 'vitest';
import {commandNames, eventToJson} from '../../source/core/commands.js';
import {createCore, type BusEvent, type EventOf, type EventType} from '../../source/core/index.js';
import {runJsonLines} from '../../source/core/json-lines.js';
import {commandSchemas, type JsonSchema} from '../../source/core/schema/command-schema.js';
import {eventSchemas} from '../../source/core/schema/event-schema.js';
import {eventErrors} from '../../source/core/schema/validate.js';
import {until} from '../helpers/recorder.js';

/**
 * The event schema is held to the source, not to a list kept by hand:
 * events.ts and the files of events/ it re-exports are read at test time (the
 * BusEvent union, each member's fields, which are optional, and their types),
 * and so are the readme's event tables.
 * A new event, field or enum value in events.ts that the schema lacks fails
 * here, and so does a schema entry that nothing emits.
 */

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const eventsDirectory = path.join(root, 'source', 'core', 'events');
// One text of events.ts and every file of events/, each ending in a newline, so a declaration is read wherever it lives.
const eventsSource = [
	path.join(root, 'source', 'core', 'events.ts'),
	...readdirSync(eventsDirectory)
		.filter((name) => name.endsWith('.ts'))
		.sort()
		.map((name) => path.join(eventsDirectory, name)),
]
	.map((file) => readFileSync(file, 'utf8'))
	.join('\n');
const readme = readFileSync(path.join(root, 'readme.md'), 'utf8');

/** What the schema knows ahead of this build, from branches not yet merged. Once merged, events.ts has them and these entries excuse nothing. */
const ahead = {
	types: ['message-partial'],
	fields: ['message-received.delimiter'],
};

type Field = {isOptional: boolean; shape: string};

/** Split at `separator` where no bracket is open. */
function splitTop(text: string, separator: string): string[] {
	const parts: string[] = [];
	let depth = 0;
	let start = 0;
	for (let index = 0; index < text.length; index++) {
		const char = text[index]!;
		depth += '{(<['.includes(char) ? 1 : ')}>]'.includes(char) ? -1 : 0;
		if (depth === 0 && char === separator) {
			parts.push(text.slice(start, index));
			start = index + 1;
		}
	}

	return [...parts, text.slice(start)].map((part) => part.trim()).filter((part) => part !== '');
}

/** Every `export type Name = …;` of events.ts, comments removed, by name. */
const declarations = new Map(
	[...eventsSource.replaceAll(/\/\*[\s\S]*?\*\//g, '').replaceAll(/\/\/.*$/gm, '').matchAll(/^export type (\w+)(?:<[^=]*>)? = ([\s\S]*?);\n(?=\n|$)/gm)].map((match) => [match[1]!, match[2]!.trim()] as const),
);

/** The fields of an object type text (`{a: string; b?: number} & Other`), after its aliases are resolved. */
function fieldsOf(text: string): Map<string, Field> {
	const fields = new Map<string, Field>();
	for (const part of splitTop(text, '&')) {
		const body = part.startsWith('{') ? part.slice(1, -1) : declarations.get(part);
		if (body === undefined) {
			throw new Error(`events.ts: cannot read the type ${part}`);
		}

		if (!part.startsWith('{')) {
			for (const [name, field] of fieldsOf(body)) {
				fields.set(name, field);
			}

			continue;
		}

		for (const member of splitTop(body, ';')) {
			const match = /^(\w+)(\??):\s*([\s\S]+)$/.exec(member);
			if (!match) {
				throw new Error(`events.ts: cannot read the field ${member}`);
			}

			const [, name, optional, type] = match;
			const isBuffer = type!.trim() === 'Buffer';
			// A Buffer is written as base64 (eventToJson); an intersection's later member wins, as `ref` on command-failed.
			fields.set(isBuffer ? 'base64' : name!, {isOptional: optional === '?', shape: isBuffer ? 'string' : shapeOfType(type!)});
		}
	}

	return fields;
}

/** A TypeScript type text as a canonical shape: `number|null`, `'a'|'b'`, `array<string>`, `{address:string,port:number}`, `record<number>`. */
function shapeOfType(text: string): string {
	const parts = splitTop(text.replaceAll(/\s+/g, ' ').trim(), '|').map((part): string => {
		let match: RegExpExecArray | null;
		if (/^'[^']*'$/.test(part) || ['string', 'number', 'boolean', 'null'].includes(part)) {
			return part;
		}

		// A number literal (`family: 4 | 6`) is an enum value, as the schema writes it.
		if (/^-?\d+$/.test(part)) {
			return `'${part}'`;
		}

		if ((match = /^(.+)\[\]$/.exec(part)) ?? (match = /^Array<(.+)>$/.exec(part))) {
			return `array<${shapeOfType(match[1]!)}>`;
		}

		if ((match = /^Record<string, ?(.+)>$/.exec(part))) {
			return `record<${shapeOfType(match[1]!)}>`;
		}

		// An object, or an intersection of objects (`KernelSocket & {…}`).
		if (part.startsWith('{') || splitTop(part, '&').length > 1) {
			return objectShape(fieldsOf(part));
		}

		const alias = declarations.get(part);
		if (alias === undefined) {
			throw new Error(`events.ts: cannot read the type ${part}`);
		}

		return alias.startsWith('{') || splitTop(alias, '&').length > 1 ? objectShape(fieldsOf(alias)) : shapeOfType(alias);
	});
	return [...new Set(parts.flatMap((part) => splitTop(part, '|')))].sort().join('|');
}

function objectShape(fields: Map<string, Field>): string {
	return `{${[...fields].sort(([a], [b]) => a.localeCompare(b)).map(([name, field]) => `${name}${field.isOptional ? '?' : ''}:${field.shape}`).join(',')}}`;
}

/** A JSON Schema node as the same canonical shape (numeric bounds, patterns and descriptions aside). */
function shapeOfSchema(schema: JsonSchema): string {
	const node = schema as {type?: string | string[]; enum?: unknown[]; const?: unknown; items?: JsonSchema; properties?: Record<string, JsonSchema>; required?: string[]; additionalProperties?: JsonSchema};
	let parts: string[];
	if (node.enum ?? 'const' in node) {
		parts = (node.enum ?? [node.const]).map((value) => (value === null ? 'null' : `'${String(value)}'`));
	} else if (node.type === 'array') {
		parts = [`array<${shapeOfSchema(node.items!)}>`];
	} else if (node.type === 'object') {
		parts = [node.properties ? objectShape(schemaFields(schema)) : `record<${shapeOfSchema(node.additionalProperties!)}>`];
	} else {
		parts = [node.type ?? 'any'].flat().map((type) => (type === 'integer' ? 'number' : type));
	}

	return [...new Set(parts)].sort().join('|');
}

function schemaFields(schema: JsonSchema): Map<string, Field> {
	const {properties = {}, required = []} = schema as {properties?: Record<string, JsonSchema>; required?: string[]};
	return new Map(Object.entries(properties).map(([name, property]) => [name, {isOptional: !required.includes(name), shape: shapeOfSchema(property)}]));
}

/** The BusEvent union of events.ts: each member's `type` and fields (EventBase's included). */
const sourceEvents = new Map(
	splitTop(/\(([\s\S]*)\)/.exec(declarations.get('BusEvent') ?? '')?.[1] ?? '', '|').map((member) => {
		const fields = fieldsOf(`EventBase & ${member}`);
		const type = /^'([\w-]+)'$/.exec(fields.get('type')?.shape ?? '')?.[1];
		if (!type) {
			throw new Error(`events.ts: ${member} has no literal type`);
		}

		return [type, fields] as const;
	}),
);

/** The rows of the readme's `| event | fields |` tables: the event name and the rest of the row. */
const readmeRows = new Map(
	[...readme.matchAll(/^\| event \| fields \|\n\| --- \| --- \|\n((?:\|.*\n)+)/gm)].flatMap((table) =>
		table[1]!
			.trim()
			.split('\n')
			.map((row) => {
				const match = /^\| `([\w-]+)` \|(.*)\|$/.exec(row);
				if (!match) {
					throw new Error(`readme: cannot read the event row ${row}`);
				}

				return [match[1]!, match[2]!] as const;
			}),
	),
);

describe('the event schema follows events.ts', () => {
	it('events.ts was read: every member of the BusEvent union, with its fields', () => {
		// The reader above would otherwise pass on an empty union.
		expect(sourceEvents.size).toBe((declarations.get('BusEvent')!.match(/^\s*\| \w+$/gm) ?? []).length);
		expect(sourceEvents.size).toBeGreaterThanOrEqual(46);
		expect(sourceEvents.get('connection-refused')?.get('rule')).toEqual({isOptional: false, shape: 'string'});
		expect(sourceEvents.get('connection-opened')?.get('local')).toEqual({isOptional: false, shape: '{address:string,port:number}'});
	});

	it('every event type netdash emits has a schema, and the schema has no type nothing emits', () => {
		const inSource = [...sourceEvents.keys()].sort();
		expect(inSource.filter((type) => !(type in eventSchemas))).toEqual([]);
		expect(Object.keys(eventSchemas).filter((type) => !sourceEvents.has(type) && !ahead.types.includes(type))).toEqual([]);
	});

	it('each event has the same fields in the schema as in events.ts, required where they are, with the same types and values', () => {
		const differences: string[] = [];
		for (const [type, fields] of sourceEvents) {
			const inSchema = schemaFields(eventSchemas[type] ?? {});
			for (const [name, field] of fields) {
				const schemaField = inSchema.get(name);
				const isAhead = ahead.fields.includes(`${type}.${name}`);
				if (!schemaField) {
					differences.push(`${type}.${name}: not in the schema`);
				} else if (schemaField.shape !== field.shape) {
					differences.push(`${type}.${name}: ${schemaField.shape} in the schema, ${field.shape} in events.ts`);
				} else if (schemaField.isOptional !== field.isOptional && !(isAhead && schemaField.isOptional)) {
					differences.push(`${type}.${name}: ${schemaField.isOptional ? 'optional' : 'required'} in the schema, not in events.ts`);
				}
			}

			for (const name of inSchema.keys()) {
				if (!fields.has(name) && !ahead.fields.includes(`${type}.${name}`)) {
					differences.push(`${type}.${name}: in the schema only`);
				}
			}
		}

		expect(differences).toEqual([]);
	});

	it('every event row of the readme is an event of events.ts and of the schema, and every event has a row naming its fields', () => {
		expect(readmeRows.size).toBeGreaterThanOrEqual(40);
		expect([...readmeRows.keys()].filter((type) => !sourceEvents.has(type) || !(type in eventSchemas))).toEqual([]);
		expect([...sourceEvents.keys()].filter((type) => !readmeRows.has(type))).toEqual([]);
		// Each field is named in its row (the peer events say "the peer's fields" for the nine they share).
		const peerFields = [...schemaFields(eventSchemas['peer-expired']!).keys()];
		const unnamed = [...readmeRows].flatMap(([type, row]) =>
			[...(sourceEvents.get(type) ?? [])]
				.map(([name]) => name)
				.filter((name) => !['type', 'seq', 'at', 'ref'].includes(name) && !row.includes(`\`${name}\``))
				.filter((name) => !(row.includes('the peer\'s fields') && peerFields.includes(name)))
				.map((name) => `${type}.${name}`),
		);
		expect(unnamed).toEqual([]);
	});
});

describe('the command schema follows commands.ts', () => {
	it('every command netdash reads has a schema, and the schema has no command but halfopen (not merged yet) beyond them', () => {
		expect(commandNames.filter((name) => !(name in commandSchemas))).toEqual([]);
		expect(Object.keys(commandSchemas).filter((name) => !(commandNames as readonly string[]).includes(name) && name !== 'halfopen')).toEqual([]);
	});
});

/** A stdout that keeps what is written and can be made to stop taking it. */
function stdout(): {output: Writable; lines: () => string[]; block: (isBlocked: boolean) => void} {
	const written: Buffer[] = [];
	let pending: Array<() => void> | undefined;
	const output = new Writable({
		highWaterMark: 1024,
		write(chunk: Buffer, _encoding, callback) {
			written.push(chunk);
			if (pending) {
				pending.push(callback);
			} else {
				callback();
			}
		},
	});
	return {
		output,
		lines: () => Buffer.concat(written).toString().split('\n').filter((line) => line !== ''),
		block(isBlocked) {
			const callbacks = pending ?? [];
			pending = isBlocked ? [] : undefined;
			for (const callback of callbacks) {
				callback();
			}
		},
	};
}

describe('what netdash writes conforms to the event schema', () => {
	it('every line of a --json session that uses TCP, sendfile, admission, UDP, requests, refusals and a stalled stdout validates, and names no field the schema lacks', async () => {
		const core = createCore({watchIntervalMs: 100});
		const input = new PassThrough();
		const {output, lines, block} = stdout();
		const events: BusEvent[] = [];
		core.bus.subscribe((event) => {
			events.push(event);
		});
		const running = runJsonLines({core, input, output, graceMs: 300, maxOutputBytes: 4096});
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-schema-'));
		const file = path.join(directory, 'payload.bin');
		writeFileSync(file, Buffer.alloc(200_000, 'x'));
		const clients: net.Socket[] = [];
		const stranger = dgram.createSocket('udp4');
		const command = (value: Record<string, unknown>) => input.write(`${JSON.stringify(value)}\n`);
		const next = async <T extends EventType>(type: T, match: (event: EventOf<T>) => boolean = () => true): Promise<EventOf<T>> => {
			await until(() => events.some((event) => event.type === type && match(event as EventOf<T>)), () => `${type}; seen ${[...new Set(events.map((event) => event.type))].join(' ')}`);
			return events.find((event) => event.type === type && match(event as EventOf<T>)) as EventOf<T>;
		};

		try {
			// TCP with line framing, a send, a file, a missing file, a half-close.
			command({cmd: 'listen', port: 0, framing: 'line', ref: 'l'});
			const {port} = await next('listener-opened');
			command({cmd: 'connect', host: '127.0.0.1', port, ref: 'c'});
			const dialed = await next('connection-opened', (event) => event.origin === 'dialed');
			command({cmd: 'send', connection: dialed.connection, text: 'hello\n', ref: 's'});
			await next('message-received');
			command({cmd: 'sendfile', connection: dialed.connection, path: file, ref: 'f'});
			await next('sendfile-finished');
			command({cmd: 'sendfile', connection: dialed.connection, path: path.join(directory, 'absent'), ref: 'f2'});
			await next('sendfile-failed');
			command({cmd: 'shutdown', id: dialed.connection, ref: 'h'});
			await next('connection-half-closed', (event) => event.by === 'remote');
			command({cmd: 'close', id: 'C99', ref: 'x'});
			await next('command-failed');

			// UDP: an echo socket, a request answered, one that fails, broadcast, connect.
			command({cmd: 'udp', port: 0, echo: true, ref: 'u1'});
			const echo = await next('udp-bound');
			command({cmd: 'udp', port: 0, ref: 'u2'});
			const other = await next('udp-bound', (event) => event.socket !== echo.socket);
			command({cmd: 'request', socket: other.socket, host: '127.0.0.1', port: echo.port, text: 'ping', ref: 'q'});
			await next('request-completed');
			command({cmd: 'request', socket: echo.socket, host: '127.0.0.1', port: other.port, text: 'ping', timeout: 0.05, retries: 0, ref: 'q2'});
			await next('request-failed');
			command({cmd: 'broadcast', socket: other.socket, on: true, ref: 'b'});
			await next('udp-broadcast-changed');
			command({cmd: 'udp-connect', socket: other.socket, host: '127.0.0.1', port: echo.port, ref: 'uc'});
			await next('udp-connected');

			// Admission: 127.0.0.1 denied, for TCP and UDP alike.
			command({cmd: 'deny', cidr: '127.0.0.1', ref: 'd'});
			await next('admission-changed');
			command({cmd: 'connect', host: '127.0.0.1', port, ref: 'c2'});
			await next('connection-refused');
			command({cmd: 'sendto', socket: other.socket, text: 'refused', ref: 't'});
			await next('datagram-refused');

			// A stdout that takes nothing: accepts past its cap are shed, then datagrams (from an allowed source) are dropped and counted.
			block(true);
			const opened = events.filter((event) => event.type === 'connection-opened').length;
			for (let index = 0; index < 40; index++) {
				clients.push(net.connect({port, host: '127.0.0.1', localAddress: '127.0.0.2'}).on('error', () => {}));
			}

			await until(() => events.filter((event) => event.type === 'connection-opened').length >= opened + 40, () => 'the clients accepted');
			await new Promise<void>((resolve) => {
				stranger.bind(0, '127.0.0.2', resolve);
			});
			await until(
				() => {
					stranger.send('dropped', echo.port, '127.0.0.1');
					return events.some((event) => event.type === 'datagrams-dropped');
				},
				() => 'datagrams-dropped',
			);
			block(false);
			await until(() => lines().some((line) => line.includes('"type":"output-shed"')), () => 'output-shed');
			command({cmd: 'quit', ref: 'end'});
			await running.done;
		} finally {
			block(false);
			for (const client of clients) {
				client.destroy();
			}

			stranger.close();
			await running.quit();
			core.dispose();
			rmSync(directory, {recursive: true, force: true});
		}

		// What stdout got, and every event on the bus as the stream writes it (some were shed from stdout: output-shed counts them).
		const written = [...lines(), ...events.map((event) => eventToJson(event))].map((line) => JSON.parse(line) as Record<string, unknown> & {type: string});
		const problems = written.flatMap((event) => {
			const known = Object.keys((eventSchemas[event.type] as {properties?: object} | undefined)?.properties ?? {});
			return [...eventErrors(event), ...Object.keys(event).filter((key) => !known.includes(key)).map((key) => `${event.type}.${key} is not in the schema`)];
		});
		expect(problems).toEqual([]);
		const seen = new Set(written.map((event) => event.type));
		// The session drove these 27 of the 46 kinds (discovery, stalls and resource events have tests of their own; their shapes are checked against events.ts above).
		const expected = [
			...['listener-opened', 'listener-closed', 'connection-dialing', 'connection-opened', 'send-queued', 'data-sent', 'data-received', 'message-received'],
			...['sendfile-started', 'sendfile-finished', 'sendfile-failed', 'connection-half-closed', 'connection-closed', 'command-failed', 'admission-changed', 'connection-refused'],
			...['udp-bound', 'udp-connected', 'udp-broadcast-changed', 'datagram-sent', 'datagram-received', 'request-completed', 'request-failed', 'datagram-refused'],
			...['datagrams-dropped', 'output-shed', 'udp-closed'],
		];
		expect(expected.filter((type) => !seen.has(type))).toEqual([]);
	});
});
