import {execFileSync} from 'node:child_process';
import path from 'node:path';
import {describe, expect, it} from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const child = path.join(root, 'test', 'fixtures', 'reclaim-child.mjs');

type Collections = {received: number; majors: number; minors: number; peakArrayBuffersMiB: number};

/** 512 MiB into a core in a fresh process (reclaim.ts acts on the whole process), `every` bytes between reclaims. */
function carry(every: number): Collections {
	const output = execFileSync(process.execPath, [child, '--mib=512', `--every=${every}`], {encoding: 'utf8', timeout: 60_000});
	return JSON.parse(output) as Collections;
}

describe('reclaiming read buffers', () => {
	it('frees them with minor collections every 16 MiB, where V8 alone runs full ones every 64 MB of them', () => {
		const on = carry(16 * 1024 * 1024);
		const off = carry(0);
		console.log(
			`512 MiB into one connection: with the reclaimer ${on.minors} minor and ${on.majors} major collections, array buffers peaking at ${on.peakArrayBuffersMiB.toFixed(0)} MiB; ` +
				`without it ${off.minors} minor and ${off.majors} major, peaking at ${off.peakArrayBuffersMiB.toFixed(0)} MiB`,
		);
		expect(on.received).toBe(512 * 1024 * 1024);
		// One minor collection per 16 MiB read (32), give or take V8's own.
		expect(on.minors).toBeGreaterThanOrEqual(16);
		// Full collections are what it spares: a handful without it, hardly any with it.
		expect(on.majors).toBeLessThanOrEqual(3);
		expect(off.majors).toBeGreaterThan(on.majors);
		expect(on.peakArrayBuffersMiB).toBeLessThan(off.peakArrayBuffersMiB);
	});
});
