import {execFileSync} from 'node:child_process';
import {existsSync, readdirSync, statSync} from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..', '..');

/** The newest modification time of any file under `directory`. */
function newestIn(directory: string): number {
	let newest = 0;
	for (const entry of readdirSync(directory, {withFileTypes: true})) {
		const full = path.join(directory, entry.name);
		newest = Math.max(newest, entry.isDirectory() ? newestIn(full) : statSync(full).mtimeMs);
	}

	return newest;
}

/**
 * Builds netdash when `artifact` (a file of dist/) is missing or older than
 * the source, for a bare `vitest run`. Only then: `npm test` builds first,
 * and a build while other test files run empties dist/bin under them
 * (rolldown cleans it), so a test spawning the CLI meanwhile finds it gone.
 */
export function buildIfStale(artifact = path.join(root, 'dist', 'bin', 'cli.js')): void {
	if (!existsSync(artifact) || newestIn(path.join(root, 'source')) > statSync(artifact).mtimeMs) {
		execFileSync('npm', ['run', 'build', '--silent'], {cwd: root, stdio: 'inherit'});
	}
}
