/**
 * Module resolution for the bench, loaded before anything else (`run.ts`
 * imports it first; children get it through `--import`). Bench files are
 * written like the rest of the code base — `.js` specifiers, netdash
 * imported from `source/` so they typecheck against it — and run on Node 24
 * type stripping with no build step of their own:
 * - `…/source/X.js` resolves to `…/dist/X.js`, the build `npm run bench`
 *   made first (source has `.tsx` files that type stripping cannot run);
 * - a missing `X.js` next to an `X.ts` resolves to `X.ts`;
 * - Ink's text dependencies are changed as the bundle changes them
 *   (source/ui/text-patches.ts): the dashboard the bench renders measures
 *   its text as the one users run does.
 */
import {existsSync} from 'node:fs';
import {registerHooks} from 'node:module';
import path from 'node:path';
import {fileURLToPath, pathToFileURL} from 'node:url';

const repo = path.resolve(import.meta.dirname, '..', '..');
const source = path.join(repo, 'source') + path.sep;
const dist = path.join(repo, 'dist') + path.sep;
const graphemes = path.join(dist, 'ui', 'graphemes.js');
// From the build (as the bundle takes it), typed by its source.
const {patchText} = (await import(pathToFileURL(path.join(dist, 'ui', 'text-patches.js')).href)) as typeof import('../../source/ui/text-patches.js');

registerHooks({
	resolve(specifier, context, nextResolve) {
		if (!specifier.startsWith('.') || !context.parentURL?.startsWith('file:')) {
			return nextResolve(specifier, context);
		}

		const target = fileURLToPath(new URL(specifier, context.parentURL));
		if (target.startsWith(source)) {
			return {url: pathToFileURL(dist + target.slice(source.length)).href, shortCircuit: true};
		}

		if (target.endsWith('.js') && !existsSync(target) && existsSync(target.slice(0, -3) + '.ts')) {
			return {url: pathToFileURL(target.slice(0, -3) + '.ts').href, shortCircuit: true};
		}

		return nextResolve(specifier, context);
	},
	load(url, context, nextLoad) {
		const loaded = nextLoad(url, context);
		if (!url.includes('/node_modules/') || loaded.format !== 'module' || loaded.source === undefined || loaded.source === null) {
			return loaded;
		}

		const id = fileURLToPath(url);
		const code = typeof loaded.source === 'string' ? loaded.source : Buffer.from(loaded.source as Uint8Array).toString('utf8');
		const patched = patchText(code, id, graphemes);
		return patched === undefined ? loaded : {...loaded, source: patched, shortCircuit: true};
	},
});
