import {execFileSync} from 'node:child_process';
import {accessSync, constants} from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import {beforeEach} from 'vitest';

/*
 * What a test needs from the machine, and the reason it gives when it skips.
 * A skip carries its reason (`context.skip(reason)`), so the skip report
 * (skip-report.ts) can name each skipped test and why, and fail the run
 * when CI is set.
 */

/** True when `tool` is an executable on PATH (or in the sbin directories, where `ip` and `nft` live). */
export function hasTool(tool: string): boolean {
	const directories = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
	return directories.filter(Boolean).some((directory) => {
		try {
			accessSync(path.join(directory, tool), constants.X_OK);
			return true;
		} catch {
			return false;
		}
	});
}

/** Why a test that runs `tool` cannot run here, or undefined when it can. */
export function missingTool(tool: string, debianPackage = tool): string | undefined {
	return hasTool(tool) ? undefined : `${tool} is not installed (.ci/run installs it: apt-get install -y ${debianPackage})`;
}

/** Why network namespaces cannot be made here (not root, or `ip netns add` refused), or undefined when they can. */
export function whyNoNetns(): string | undefined {
	if (process.getuid?.() !== 0) {
		return 'not root: network namespaces need CAP_SYS_ADMIN (CI runs as root)';
	}

	const probe = `nd-probe-${process.pid}`;
	try {
		execFileSync('ip', ['netns', 'add', probe], {stdio: 'pipe'});
		execFileSync('ip', ['netns', 'del', probe], {stdio: 'pipe'});
		return undefined;
	} catch (error) {
		return `ip netns add failed: ${error instanceof Error ? error.message.split('\n', 1)[0] : String(error)}`;
	}
}

/**
 * Skip every test of the enclosing `describe` (or file) when `reason` is
 * set, each with that reason. Hooks of the same block that make the state
 * (`beforeAll`) must check the reason themselves: they run first.
 */
export function skipEachIf(reason: string | undefined): void {
	if (reason !== undefined) {
		console.warn(`skipped: ${reason}`);
	}

	beforeEach((context) => {
		if (reason !== undefined) {
			context.skip(reason);
		}
	});
}
