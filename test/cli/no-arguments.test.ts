import meow from 'meow';
import {describe, expect, it} from 'vitest';
import {cliFlags} from '../../source/cli-flags.js';
import {parseCliOptions, type RawFlags} from '../../source/options.js';

/** What meow makes of a command line, configured as cli.tsx configures it. */
function meowFlags(argv: string[]): {flags: RawFlags; input: string[]} {
	const cli = meow('', {importMeta: import.meta, argv, pkg: {name: 'netdash', version: '0.0.0'}, allowUnknownFlags: true, booleanDefault: undefined, flags: cliFlags});
	return {flags: cli.flags as RawFlags, input: cli.input};
}

describe('netdash without arguments', () => {
	it('gets the options meow would have given it: the dashboard skips meow only when there is nothing to parse', () => {
		const parsed = meowFlags([]);
		expect(parseCliOptions({}, [], [])).toEqual(parseCliOptions(parsed.flags, parsed.input, []));
	});

	it('is the only case that differs from meow’s: one flag already changes the options', () => {
		const parsed = meowFlags(['--listen', '0']);
		expect(parseCliOptions(parsed.flags, parsed.input, ['--listen', '0'])).not.toEqual(parseCliOptions({}, [], []));
	});
});
