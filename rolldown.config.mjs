// The bundle netdash ships as dist/bin: what tsc wrote to dist/, with its dependencies inside.
// NODE_ENV is fixed at build time so React's and Ink's development branches are dropped, and
// the code is minified; react-devtools-core is only loaded by Ink with DEV=true, never shipped.
import {builtinModules} from 'node:module';
import path from 'node:path';
import {defineConfig} from 'rolldown';
import {patchText} from './dist/ui/text-patches.js';

/**
 * Yoga's WebAssembly is inlined as a base64 `data:` URL, and its Emscripten loader fetches
 * it with `fetch()` whenever that exists. In Node that first use of fetch loads undici and
 * decodes the URL through it: ~40 ms of a first frame that is ~150 ms on a quiet machine
 * (readme, Performance). Telling the loader there is no fetch makes it decode the same
 * bytes itself, synchronously.
 */
const yogaWithoutFetch = {
	name: 'yoga-without-fetch',
	transform(code, id) {
		if (!/yoga-layout[\\/]dist[\\/]binaries[\\/]yoga-wasm-base64-esm\.js$/.test(id)) {
			return undefined;
		}

		const patched = code.replaceAll('"function"!=typeof fetch', 'true');
		if (patched === code) {
			this.error('yoga-without-fetch: the loader no longer tests `typeof fetch`; check the yoga-layout update');
		}

		return {code: patched, map: null};
	},
};

/**
 * meow evaluates normalize-package-data (with spdx-correct's licence tables, hosted-git-info,
 * semver) when it is loaded, ~20 ms of every start, though it only runs it when `cli.pkg` is
 * read, which netdash never does (cli.tsx hands meow the package.json it read itself). Made
 * lazy here: the same function, loaded on its first call.
 */
const meowLazyNormalize = {
	name: 'meow-lazy-normalize',
	transform(code, id) {
		if (!/meow[\\/]build[\\/]dependencies\.js$/.test(id)) {
			return undefined;
		}

		const eager = 'var normalizeExports = requireNormalize();\nconst normalizePackageData = getDefaultExportFromCjs(normalizeExports);';
		if (!code.includes(eager)) {
			this.error('meow-lazy-normalize: meow no longer loads normalize-package-data as expected; check the meow update');
		}

		return {code: code.replace(eager, 'const normalizePackageData = (...args) => getDefaultExportFromCjs(requireNormalize())(...args);'), map: null};
	},
};

/**
 * Ink's text dependencies, changed as the bench's module hooks change them (dist/ui/text-patches.js,
 * written by tsc before this runs): every `new Intl.Segmenter(…)` made lazy, string-width's
 * fast path widened to the box drawing, dots and arrows on every line of the dashboard and its
 * emoji class made on first use, and Ink's frame buffer reusing the last frame's work.
 */
const graphemes = path.resolve('dist/ui/graphemes.js');
const textPatches = {
	name: 'text-patches',
	transform(code, id) {
		try {
			const patched = patchText(code, id, graphemes);
			return patched === undefined ? undefined : {code: patched, map: null};
		} catch (error) {
			this.error(error.message);
		}
	},
};

/**
 * Node's built-in modules through `require` rather than `import`. Importing one as ESM builds
 * its module namespace, which reads every export, and that runs each lazy getter: `node:crypto`
 * loads WebCrypto, `node:fs` its promises API, `node:util` parseArgs… ~110 internal modules
 * instead of ~90, 25–50 ms of every start on this machine. `require` hands over the exports
 * object and reads only what is used. `import x` and `import * as x` both become the exports
 * object (the bundle reads no `x.default` from a namespace); `import {a as b}` a destructuring.
 * Only the import statements that open a chunk are rewritten.
 */
const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
const requireBuiltins = {
	name: 'require-builtins',
	renderChunk(code) {
		const statement = /import\s*(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s*as\s*([\w$]+))?\s*from\s*(["'`])([^"'`]+)\4\s*;?|import\s*(["'`])[^"'`]+\6\s*;?/y;
		const shebang = /^#!.*\n/.exec(code)?.[0] ?? '';
		let at = shebang.length;
		const kept = [];
		const required = [];
		for (;;) {
			while (/\s/.test(code[at] ?? '')) {
				at++;
			}

			statement.lastIndex = at;
			const match = statement.exec(code);
			if (!match) {
				break;
			}

			at = statement.lastIndex;
			const [text, defaultName, named, namespace, , specifier] = match;
			if (specifier === undefined || !builtins.has(specifier)) {
				kept.push(text.endsWith(';') ? text : `${text};`);
				continue;
			}

			const module = `__netdashRequire(${JSON.stringify(specifier)})`;
			for (const name of [defaultName, namespace].filter(Boolean)) {
				required.push(`const ${name}=${module};`);
			}

			if (named !== undefined && named.trim() !== '') {
				const fields = named.split(',').map((part) => part.trim()).filter(Boolean).map((part) => part.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, '$1:$2'));
				required.push(`const{${fields.join(',')}}=${module};`);
			}
		}

		if (required.length === 0) {
			return null;
		}

		const header = `import{createRequire as __netdashCreateRequire}from"node:module";const __netdashRequire=__netdashCreateRequire(import.meta.url);`;
		return {code: `${shebang}${kept.join('')}${header}${required.join('')}\n${code.slice(at)}`, map: null};
	},
};

/** The plugins and options of netdash's bundle, also used by the bench to build a bare Ink app the same way (scenarios/start.ts). */
export const bundlePlugins = [yogaWithoutFetch, meowLazyNormalize, textPatches, requireBuiltins];
export const bundleOptions = {
	platform: 'node',
	external: ['react-devtools-core'],
	transform: {define: {'process.env.NODE_ENV': '"production"'}},
	logLevel: 'warn',
};
// ASCII only: Node reads a module's source as UTF-8, and one non-ASCII character anywhere makes
// that a slow decode into a two-byte string (~25 ms of the first frame for Ink's chunk, which
// carries string-width's tables); escaped, the same text decodes as Latin-1 at memcpy speed.
export const bundleOutput = {format: 'esm', minify: true, charset: 'ascii', cleanDir: true};

export default defineConfig({
	input: ['dist/cli.js', 'dist/core/capture/log-writer.js', 'dist/core/capture/pcap-writer.js'],
	...bundleOptions,
	plugins: bundlePlugins,
	output: {dir: 'dist/bin', ...bundleOutput},
});
