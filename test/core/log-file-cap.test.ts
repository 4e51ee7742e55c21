import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {createCore, NetdashError, reportBadCommand, type BusEvent} from '../../source/core/index.js';
import {openLogFile} from '../../source/core/capture/log-file.js';
import {until} from '../helpers/recorder.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		await cleanup();
	}
});

describe('the --log queue has a cap', () => {
	it('events past the cap are left out of the file, counted, and reported there by output-shed once it catches up', async () => {
		const directory = mkdtempSync(path.join(os.tmpdir(), 'netdash-log-cap-'));
		cleanups.push(() => {
			rmSync(directory, {recursive: true, force: true});
		});
		const file = path.join(directory, 'session.jsonl');
		const core = createCore();
		cleanups.push(() => {
			core.dispose();
		});
		const events: BusEvent[] = [];
		core.bus.subscribe((event) => {
			events.push(event);
		});
		const log = openLogFile(core, file, {maxQueuedBytes: 64 * 1024});

		// 20,000 bad commands in one turn of the loop: about 2.4 MB of events before the writer can take any.
		for (let index = 0; index < 20_000; index++) {
			reportBadCommand(core, new NetdashError('BAD_COMMAND', 'unknown command "fly"'), `r${index}`);
		}

		await until(() => events.some((event) => event.type === 'output-shed'), () => 'output-shed on the bus');
		await log.close();
		const written = readFileSync(file, 'utf8')
			.trim()
			.split('\n')
			.map((line) => JSON.parse(line) as BusEvent & {events?: number; firstSeq?: number; lastSeq?: number; output?: string; types?: Record<string, number>});
		const report = written.find((event) => event.type === 'output-shed')!;
		expect(report.output).toBe('log');
		const writtenSeqs = new Set(written.map((event) => event.seq));
		const missing = events.filter((event) => !writtenSeqs.has(event.seq) && event.seq < report.seq);
		expect(missing.length).toBeGreaterThan(10_000);
		expect(report.events).toBe(missing.length);
		expect(report.types).toEqual({'command-failed': missing.length});
		expect(report.firstSeq).toBe(missing[0]!.seq);
		expect(report.lastSeq).toBe(missing.at(-1)!.seq);
		// What was written is whole and in order, up to the cap.
		expect(written.filter((event) => event.type === 'command-failed').every((event, index) => event.ref === `r${index}`)).toBe(true);
	});
});
