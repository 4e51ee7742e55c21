import {spawnSync} from 'node:child_process';
import {chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {afterEach, describe, expect, it} from 'vitest';

/**
 * Issue 19, point 1: a green CI run means every test ran. The skip report
 * (test/helpers/skip-report.ts) names each skipped test and its reason and,
 * with CI set, fails the run; .ci/install-tools fails the run under CI when
 * a tool the tests need cannot be installed.
 */

const root = path.resolve(import.meta.dirname, '..', '..');
const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
const cleanups: Array<() => void> = [];

afterEach(() => {
	for (const cleanup of cleanups.splice(0).reverse()) {
		cleanup();
	}
});

/** vitest on test/fixtures/skip-report: one test passes, one skips for a missing tool, one for missing root. */
function runFixture(ci: string | undefined): {status: number | null; stdout: string} {
	const env: NodeJS.ProcessEnv = {...process.env, FORCE_COLOR: '0'};
	delete env['CI'];
	delete env['VITEST'];
	delete env['VITEST_WORKER_ID'];
	delete env['VITEST_POOL_ID'];
	if (ci !== undefined) {
		env['CI'] = ci;
	}

	const result = spawnSync(vitest, ['run', '--config', 'test/fixtures/skip-report/vitest.config.ts'], {cwd: root, env, encoding: 'utf8', timeout: 60_000});
	return {status: result.status, stdout: result.stdout};
}

const toolSkip = 'skips.check.ts > a test that needs a tool nobody has: netdash-no-such-tool is not installed (.ci/run installs it: apt-get install -y netdash-no-such-package)';
const rootSkip = 'skips.check.ts > a block that needs root and namespaces > a test of the block: not root: network namespaces need CAP_SYS_ADMIN (CI runs as root)';

describe('no silent skips', () => {
	it('with CI set, a run with skipped tests fails, naming each skipped test and why it skipped', () => {
		const {status, stdout} = runFixture('true');
		expect(status).toBe(1);
		expect(stdout).toContain('2 tests skipped with CI set, which fails the run');
		expect(stdout).toContain(`  ${toolSkip}\n`);
		expect(stdout).toContain(`  ${rootSkip}\n`);
		expect(stdout.trimEnd().split('\n').at(-1)).toBe('2 tests skipped: failing');
	});

	it('outside CI the same run passes, lists each skip with its reason, and ends with the count', () => {
		for (const ci of [undefined, 'false']) {
			const {status, stdout} = runFixture(ci);
			expect(status, `CI=${ci}`).toBe(0);
			expect(stdout).toContain(`  ${toolSkip}\n`);
			expect(stdout).toContain(`  ${rootSkip}\n`);
			expect(stdout.trimEnd().split('\n').at(-1)).toBe('2 tests skipped');
		}
	});
});

/**
 * .ci/install-tools on a PATH where no tool is installed and apt-get is a
 * stand-in that fails (or succeeds without installing anything): nothing
 * is installed on this machine, only the script's decisions are seen.
 */
function runInstall(options: {ci: string | undefined; uid: number; aptExit: number}): {status: number | null; stdout: string; stderr: string; aptCalls: string} {
	const bin = mkdtempSync(path.join(tmpdir(), 'netdash-install-'));
	cleanups.push(() => {
		rmSync(bin, {recursive: true, force: true});
	});
	const calls = path.join(bin, 'apt-calls');
	for (const tool of ['cut', 'sort', 'tr', 'sed']) {
		const found = spawnSync('sh', ['-c', `command -v ${tool}`], {encoding: 'utf8'}).stdout.trim();
		symlinkSync(found, path.join(bin, tool));
	}

	const script = (name: string, body: string) => {
		writeFileSync(path.join(bin, name), `#!/bin/sh\n${body}\n`);
		chmodSync(path.join(bin, name), 0o755);
	};

	script('id', `echo ${options.uid}`);
	script('apt-get', `echo "$*" >> '${calls}'; exit ${options.aptExit}`);
	const env: NodeJS.ProcessEnv = {PATH: bin};
	if (options.ci !== undefined) {
		env['CI'] = options.ci;
	}

	const result = spawnSync('/bin/bash', [path.join(root, '.ci', 'install-tools')], {env, encoding: 'utf8', timeout: 10_000});
	const aptCalls = spawnSync('/bin/cat', [calls], {encoding: 'utf8'}).stdout;
	return {status: result.status, stdout: result.stdout, stderr: result.stderr, aptCalls};
}

describe('.ci/install-tools', () => {
	it('asks apt-get for every package the tests rely on', () => {
		const {aptCalls} = runInstall({ci: 'true', uid: 0, aptExit: 0});
		const install = aptCalls.split('\n').find((line) => line.startsWith('install'))!;
		for (const name of ['socat', 'ncat', 'tmux', 'nftables', 'util-linux', 'iproute2', 'iperf3', 'tshark', 'openssl', 'avahi-daemon', 'minidlna']) {
			expect(install.split(' '), name).toContain(name);
		}
	});

	it('with CI set, a failed install fails the run and names the packages', () => {
		const {status, stderr} = runInstall({ci: 'true', uid: 0, aptExit: 100});
		expect(status).toBe(1);
		expect(stderr).toMatch(/^CI: could not install .*\bsocat\b.*; their tests would skip, so the run fails$/m);
	});

	it('with CI set, an install that leaves a tool missing fails the run and names it', () => {
		const {status, stderr} = runInstall({ci: 'true', uid: 0, aptExit: 0});
		expect(status).toBe(1);
		expect(stderr).toMatch(/^CI: still missing after the install: .*\btmux:tmux\b.*\bnft:nftables\b/m);
	});

	it('with CI set and no root to install with, the run fails', () => {
		const {status, stderr, aptCalls} = runInstall({ci: 'true', uid: 1000, aptExit: 0});
		expect(status).toBe(1);
		expect(stderr).toMatch(/^CI: missing .*\bncat\b.* and not root to install them/m);
		expect(aptCalls).toBe('');
	});

	it('outside CI a failed install is a warning and the run goes on to the tests', () => {
		const {status, stderr} = runInstall({ci: undefined, uid: 0, aptExit: 100});
		expect(status).toBe(0);
		expect(stderr).toMatch(/^could not install .*\bsocat\b.*: tests that need them will say so and skip$/m);
	});
});
