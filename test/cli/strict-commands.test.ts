import {describe, expect, it} from 'vitest';
import {runCli} from '../helpers/cli.js';

describe('strict commands through the binary (the schema validator is in the bundle)', () => {
	it('a wrong type, an unknown field and 1e309 each get command-failed naming the field, and the session goes on', async () => {
		const input = [
			'{"cmd":"connect","host":"127.0.0.1","port":"8080","ref":"a"}',
			'{"cmd":"listen","port":0,"colour":"red","ref":"b"}',
			'{"cmd":"connect","host":"127.0.0.1","port":9,"timeout":1e309,"ref":"c"}',
			'{"cmd":"connect","host":"127.0.0.1","port":9,"timeout":{"s":1},"ref":"d"}',
			'{"cmd":"quit"}',
		].join('\n');
		const result = await runCli(['--json'], `${input}\n`);
		const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
		expect(events.map((event) => [event['type'], event['ref'], event['code'], event['field']])).toEqual([
			['command-failed', 'a', 'BAD_PORT', 'port'],
			['command-failed', 'b', 'BAD_COMMAND', 'colour'],
			['command-failed', 'c', 'BAD_COMMAND', 'timeout'],
			['command-failed', 'd', 'BAD_COMMAND', 'timeout'],
		]);
		expect(result.code).toBe(0);
		expect(result.stderr).toBe('');
	});
});
