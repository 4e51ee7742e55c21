// The bundle netdash ships as dist/bin: what tsc wrote to dist/, with its dependencies inside.
// NODE_ENV is fixed at build time so React's and Ink's development branches are dropped, and
// the code is minified; react-devtools-core is only loaded by Ink with DEV=true, never shipped.
import {defineConfig} from 'rolldown';

export default defineConfig({
	input: ['dist/cli.js', 'dist/core/capture/log-writer.js', 'dist/core/capture/pcap-writer.js'],
	platform: 'node',
	external: ['react-devtools-core'],
	transform: {define: {'process.env.NODE_ENV': '"production"'}},
	logLevel: 'warn',
	output: {dir: 'dist/bin', format: 'esm', minify: true, cleanDir: true},
});
