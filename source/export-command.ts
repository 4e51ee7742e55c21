import process from 'node:process';
import {exportLogToPcap} from './core/capture/export.js';
import {oneLine} from './core/errors.js';

const usage = 'usage: netdash export LOG.jsonl -o FILE.pcapng';

/**
 * `netdash export LOG.jsonl -o FILE.pcapng`: convert a `--log` file into a
 * pcapng capture. Prints one line of summary (and the numbers of lines that
 * were not records) to stderr; returns the exit code (2: bad usage or a file
 * that cannot be opened).
 */
export async function runExport(argv: readonly string[]): Promise<number> {
	let input: string | undefined;
	let output: string | undefined;
	for (let index = 0; index < argv.length; index++) {
		const argument = argv[index]!;
		if (argument === '-o' || argument === '--output') {
			output = argv[++index];
		} else if (argument.startsWith('--output=')) {
			output = argument.slice('--output='.length);
		} else if (input === undefined && !argument.startsWith('-')) {
			input = argument;
		} else {
			process.stderr.write(`netdash: export does not take '${argument}'; ${usage}\n`);
			return 2;
		}
	}

	if (!input || !output) {
		process.stderr.write(`netdash: ${usage}\n`);
		return 2;
	}

	try {
		const summary = await exportLogToPcap(input, output);
		if (summary.badLines.length > 0) {
			const shown = summary.badLines.slice(0, 10).join(', ');
			process.stderr.write(`netdash: ${input}: ${summary.badLines.length} line(s) are not JSON records and were skipped (line ${shown}${summary.badLines.length > 10 ? ', …' : ''})\n`);
		}

		const skipped = summary.skipped > 0 ? `; ${summary.skipped} record(s) about connections or sockets opened before the log began were left out` : '';
		process.stderr.write(`netdash: wrote ${summary.packets} packets from ${summary.lines} lines of ${input} to ${output}${skipped}\n`);
		return 0;
	} catch (error) {
		process.stderr.write(`netdash: ${oneLine(error)}\n`);
		return 2;
	}
}
