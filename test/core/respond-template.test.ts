import {describe, expect, it} from 'vitest';
import {parseTemplate} from '../../source/core/respond/template.js';

const now = Date.UTC(2026, 11, 3, 22, 30, 5, 123);

function render(source: string, message: string, groups: Array<string | undefined> = [message]): string {
	return parseTemplate(source).render({message: Buffer.from(message, 'latin1'), groups, now}).toString('latin1');
}

describe('reply templates', () => {
	it('a reply takes the usual escapes: CR LF, tab, NUL, backslash, ESC and \\xNN bytes', () => {
		expect(render(String.raw`a\r\n\tb\0c\\d\e\xff`, 'x')).toBe('a\r\n\tb\u0000c\\d\u001B\u00FF');
	});

	it('${time} is now in ISO 8601 UTC, ${len} and ${hex} are the message\'s, $$ is one dollar', () => {
		expect(render('at ${time}: ${len} bytes ${hex} for $$5', 'A\u00ff')).toBe(`at 2026-12-03T22:30:05.123Z: 2 bytes 41ff for $5`);
	});

	it('$0 is the whole match, $1…$9 the groups, and a group that did not take part is empty', () => {
		expect(render('[$0|$1|$2|$9]', 'PING 7', ['PING 7', '7', undefined])).toBe('[PING 7|7||]');
	});

	it('a reply with no placeholder is rendered once and is the same bytes each time', () => {
		const template = parseTemplate(String.raw`pong\n`);
		expect(template.isConstant).toBe(true);
		const input = {message: Buffer.from('x'), groups: ['x'], now};
		expect(template.render(input)).toBe(template.render(input));
	});

	it('an unknown ${name} or a bad escape is refused with one line', () => {
		expect(() => parseTemplate('${date}')).toThrow(/unknown placeholder \$\{date\}/);
		expect(() => parseTemplate(String.raw`\xZZ`)).toThrow();
	});
});
