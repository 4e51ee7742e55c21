import {readFileSync} from 'node:fs';
import path from 'node:path';

/** The fields of netdash's package.json that the CLI shows. */
export type OwnPackage = {name: string; version: string; description?: string};

/**
 * netdash's own package.json, found upwards from this file: `dist/bin/` in
 * the bundle, `dist/` from tsc. Read by hand rather than by meow's
 * read-package-up, so that `--version` can answer before meow (and its
 * package-data normaliser) is even loaded.
 */
export function ownPackage(from = import.meta.dirname): OwnPackage {
	for (let directory = from; ; directory = path.dirname(directory)) {
		try {
			const manifest = JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as Partial<OwnPackage>;
			if (manifest.name === 'netdash' && typeof manifest.version === 'string') {
				return manifest as OwnPackage;
			}
		} catch {
			// No (readable) package.json here: look further up.
		}

		if (directory === path.dirname(directory)) {
			return {name: 'netdash', version: 'unknown'};
		}
	}
}

/** True for exactly `netdash --version` or `netdash -V`: answered before anything else loads. */
export function isVersionOnly(argv: readonly string[]): boolean {
	return argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V');
}
