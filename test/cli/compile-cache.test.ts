import {spawnSync} from 'node:child_process';
import {chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, describe, expect, it} from 'vitest';
import {cliPath} from '../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
if (!isRoot) {
	console.warn('compile-cache.test.ts: skipped, it needs root to make directories another user owns');
}

/** A uid that is not ours: `nobody`. */
const otherUid = 65_534;

const cleanups: Array<() => unknown> = [];
afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});

/** Every file under `directory`, recursively, as paths relative to it. */
function filesUnder(directory: string): string[] {
	return readdirSync(directory, {recursive: true, withFileTypes: true})
		.filter((entry) => entry.isFile())
		.map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)));
}

/**
 * Run `netdash --json` with an empty stdin (it imports the core and the CLI, then exits 0 as
 * stdin ends) with this cache home, TMPDIR under `root`. Not `--version`: that answers before
 * anything is imported, so it caches nothing.
 */
function runWithCacheHome(root: string, cacheHome: string): void {
	const tmp = path.join(root, 'tmp');
	mkdirSync(tmp, {recursive: true});
	const env: NodeJS.ProcessEnv = {...process.env, XDG_CACHE_HOME: cacheHome, TMPDIR: tmp, HOME: path.join(root, 'home')};
	delete env['NODE_COMPILE_CACHE'];
	delete env['NODE_DISABLE_COMPILE_CACHE'];
	const result = spawnSync(process.execPath, [cliPath, '--json'], {env, encoding: 'utf8', input: ''});
	expect(result.status, result.stderr).toBe(0);
	// Never Node's default, shared by every user.
	expect(existsSync(path.join(tmp, 'node-compile-cache'))).toBe(false);
}

describe.skipIf(!isRoot)('the compile cache cannot be used to run code as root', () => {
	function scratch(): string {
		const root = mkdtempSync(path.join(os.tmpdir(), 'netdash-cache-'));
		cleanups.push(() => rmSync(root, {recursive: true, force: true}));
		return root;
	}

	it('by default the cache goes to the user\'s own cache directory, created 0700, and not to $TMPDIR', () => {
		const root = scratch();
		runWithCacheHome(root, path.join(root, 'cache'));
		const directory = path.join(root, 'cache', 'netdash');
		expect(statSync(directory).mode & 0o777).toBe(0o700);
		expect(filesUnder(directory).length).toBeGreaterThan(0);
	});

	it('a cache directory owned by another user, or writable by group or others, is never used', () => {
		const root = scratch();
		const cases: Array<{name: string; make: (home: string) => string}> = [
			{
				name: 'owned by another user',
				make(home) {
					mkdirSync(path.join(home, 'netdash'), {recursive: true});
					chmodSync(path.join(home, 'netdash'), 0o700);
					chownSync(path.join(home, 'netdash'), otherUid, otherUid);
					return path.join(home, 'netdash');
				},
			},
			{
				name: 'group-writable',
				make(home) {
					mkdirSync(path.join(home, 'netdash'), {recursive: true});
					chmodSync(path.join(home, 'netdash'), 0o770);
					return path.join(home, 'netdash');
				},
			},
			{
				name: 'world-writable',
				make(home) {
					mkdirSync(path.join(home, 'netdash'), {recursive: true});
					chmodSync(path.join(home, 'netdash'), 0o777);
					return path.join(home, 'netdash');
				},
			},
			{
				name: 'inside a directory others can write (they could swap it)',
				make(home) {
					mkdirSync(path.join(home, 'netdash'), {recursive: true});
					chmodSync(home, 0o777);
					return path.join(home, 'netdash');
				},
			},
			{
				name: 'inside a directory another user owns',
				make(home) {
					mkdirSync(path.join(home, 'netdash'), {recursive: true});
					chownSync(home, otherUid, otherUid);
					return path.join(home, 'netdash');
				},
			},
			{
				name: 'a symlink to a directory elsewhere',
				make(home) {
					mkdirSync(home, {recursive: true});
					const target = path.join(root, `target-${home.length}`);
					mkdirSync(target, {mode: 0o700});
					symlinkSync(target, path.join(home, 'netdash'));
					return target;
				},
			},
		];
		const used: string[] = [];
		for (const [index, {name, make}] of cases.entries()) {
			const home = path.join(root, `case-${index}`);
			const watched = make(home);
			runWithCacheHome(root, home);
			if (filesUnder(watched).length > 0) {
				used.push(name);
			}
		}

		expect(used).toEqual([]);
	});
});
