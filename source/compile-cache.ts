import {lstatSync, mkdirSync} from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';

/**
 * Where netdash keeps V8's compile cache: `$XDG_CACHE_HOME/netdash`, or
 * `~/.cache/netdash`. Undefined when there is no usable home.
 */
export function compileCacheDirectory(env: NodeJS.ProcessEnv = process.env): string | undefined {
	const xdg = env['XDG_CACHE_HOME'];
	// The XDG spec says a relative value is invalid and must be ignored.
	if (xdg && path.isAbsolute(xdg)) {
		return path.join(xdg, 'netdash');
	}

	const home = env['HOME'] ?? os.homedir();
	return home && path.isAbsolute(home) ? path.join(home, '.cache', 'netdash') : undefined;
}

/**
 * Why `directory` is not safe to run cached code from, or undefined when it
 * is. Node runs whatever the cache holds, so whoever can write the cache can
 * run code as us (as root, for `sudo netdash`). The directory must be a real
 * directory (not a symlink) owned by us and writable by nobody else; every
 * directory above it must be owned by us or root and, unless sticky (like
 * /tmp), writable by nobody else either, so that nobody can swap it out.
 */
export function unsafeCacheReason(directory: string, uid: number): string | undefined {
	let stats = lstatSync(directory);
	if (!stats.isDirectory()) {
		return `${directory} is not a directory`;
	}

	if (stats.uid !== uid) {
		return `${directory} belongs to uid ${stats.uid}`;
	}

	if ((stats.mode & 0o022) !== 0) {
		return `${directory} is writable by others (mode ${(stats.mode & 0o777).toString(8)})`;
	}

	for (let parent = path.dirname(directory); ; parent = path.dirname(parent)) {
		stats = lstatSync(parent);
		const isSticky = (stats.mode & 0o1000) !== 0;
		if (!stats.isDirectory() || (stats.uid !== uid && stats.uid !== 0) || ((stats.mode & 0o022) !== 0 && !isSticky)) {
			return `${parent} could be replaced by another user`;
		}

		if (parent === path.dirname(parent)) {
			return undefined;
		}
	}
}

/**
 * Turn on V8's compile cache in the user's own cache directory, created
 * 0700, and only when it is safe (see unsafeCacheReason); otherwise run
 * without a cache. Never Node's default, `$TMPDIR/node-compile-cache`: it is
 * shared by every user and Node never checks who wrote an entry, so a local
 * user could plant code that root's next netdash would run. Failing here
 * costs ~15 ms of start-up, never the run. Returns the directory used.
 */
export function enablePrivateCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
	const uid = process.getuid?.();
	const directory = compileCacheDirectory(env);
	if (uid === undefined || directory === undefined || typeof module.enableCompileCache !== 'function') {
		return undefined;
	}

	try {
		// mode applies to every directory created here (minus the umask); an existing one is checked below.
		mkdirSync(directory, {recursive: true, mode: 0o700});
		if (unsafeCacheReason(directory, uid) !== undefined) {
			return undefined;
		}

		const {status} = module.enableCompileCache(directory);
		return status === module.constants.compileCacheStatus.ENABLED ? directory : undefined;
	} catch {
		return undefined;
	}
}
