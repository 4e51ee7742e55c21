// The bundle netdash ships as dist/bin: what tsc wrote to dist/, with its dependencies inside.
// NODE_ENV is fixed at build time so React's and Ink's development branches are dropped, and
// the code is minified; react-devtools-core is only loaded by Ink with DEV=true, never shipped.
import path from 'node:path';
import {defineConfig} from 'rolldown';

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
 * Every `new Intl.Segmenter(…)` in a dependency becomes netdash's lazySegmenter(…)
 * (source/ui/graphemes.ts): Ink's text libraries each make one when loaded, and the first
 * costs 15–20 ms of ICU set-up before the first frame, though the dashboard's text rarely
 * needs one.
 */
const lazySegmenters = {
	name: 'lazy-segmenters',
	transform(code, id) {
		if (!id.includes(`${path.sep}node_modules${path.sep}`) || !code.includes('new Intl.Segmenter(')) {
			return undefined;
		}

		const helper = JSON.stringify(path.resolve('dist/ui/graphemes.js'));
		return {code: `import {lazySegmenter as __netdashLazySegmenter} from ${helper};\n${code.replaceAll('new Intl.Segmenter(', '__netdashLazySegmenter(')}`, map: null};
	},
};

export default defineConfig({
	input: ['dist/cli.js', 'dist/core/log-writer.js'],
	platform: 'node',
	external: ['react-devtools-core'],
	transform: {define: {'process.env.NODE_ENV': '"production"'}},
	plugins: [yogaWithoutFetch, meowLazyNormalize, lazySegmenters],
	logLevel: 'warn',
	// ASCII only: Node reads a module's source as UTF-8, and one non-ASCII character anywhere makes
	// that a slow decode into a two-byte string (~25 ms of the first frame for Ink's chunk, which
	// carries string-width's tables); escaped, the same text decodes as Latin-1 at memcpy speed.
	output: {dir: 'dist/bin', format: 'esm', minify: true, charset: 'ascii', cleanDir: true},
});
