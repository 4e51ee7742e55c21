import {execFileSync, spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readFileSync, rmSync, readdirSync} from 'node:fs';
import net from 'node:net';
import {tmpdir} from 'node:os';
import path from 'node:path';
import process from 'node:process';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {spawnJson, type JsonChild} from '../helpers/cli.js';
import {buildIfStale} from '../helpers/build.js';

/**
 * The package as a user gets it: `npm pack`, installed into a temporary
 * prefix with npm, run with the oldest Node that `engines` allows.
 */

const root = path.resolve(import.meta.dirname, '../..');
const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string; engines: {node: string}; files: string[]; dependencies?: Record<string, string>};
const oldestMajor = Number(/^>=\s*(\d+)/.exec(manifest.engines.node)?.[1]);

/** Directories of PATH without node_modules/.bin (npm and vitest put the Node 24 devDependency first). */
const systemPath = (process.env['PATH'] ?? '').split(path.delimiter).filter((directory) => !directory.includes('node_modules')).join(path.delimiter);

/** A node binary on this machine of major version `major`, from the usual places. */
function nodeOfMajor(major: number): string | undefined {
	for (const candidate of ['/usr/local/bin/node', '/usr/bin/node', ...systemPath.split(path.delimiter).map((directory) => path.join(directory, 'node'))]) {
		if (existsSync(candidate)) {
			const version = execFileSync(candidate, ['--version'], {encoding: 'utf8'}).trim();
			if (Number(/^v(\d+)/.exec(version)?.[1]) === major) {
				return candidate;
			}
		}
	}

	return undefined;
}

const oldestNode = nodeOfMajor(oldestMajor);
if (!oldestNode) {
	console.warn(`no Node ${oldestMajor} on this machine (engines: ${manifest.engines.node}): the install test is skipped`);
}


describe.skipIf(!oldestNode)(`the packed tarball installed with npm and run on Node ${oldestMajor}`, () => {
	const work = mkdtempSync(path.join(tmpdir(), 'netdash-install-'));
	const prefix = path.join(work, 'prefix');
	// npm and netdash's shebang (`env node`) find the oldest Node first
	const env = {...process.env, PATH: [path.dirname(oldestNode ?? ''), systemPath].join(path.delimiter), npm_config_update_notifier: 'false'};
	let tarball = '';
	let installOutput = '';
	const children: JsonChild[] = [];

	beforeAll(() => {
		const bundle = path.join(root, 'dist/bin/cli.js');
		buildIfStale(bundle);

		const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], {cwd: root, env, encoding: 'utf8'})) as Array<{filename: string}>;
		tarball = path.join(work, packed[0]!.filename);
		const install = spawnSync('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {env, encoding: 'utf8'});
		installOutput = `${install.stdout}${install.stderr}`;
		expect(install.status, installOutput).toBe(0);
	}, 180_000);

	afterAll(() => {
		for (const {child} of children) {
			child.kill('SIGKILL');
		}

		rmSync(work, {recursive: true, force: true});
	});

	it('the tarball holds only the bundle (dist/bin) besides package.json and the readme, and declares no runtime dependencies', () => {
		const files = execFileSync('tar', ['tzf', tarball], {encoding: 'utf8'}).trim().split('\n');
		expect(files).toContain('package/dist/bin/cli.js');
		expect(files.filter((file) => !file.startsWith('package/dist/bin/') && !['package/package.json', 'package/readme.md'].includes(file))).toEqual([]);
		expect(manifest.dependencies ?? {}).toEqual({});
		// The bundle is built for production (React's production build, NODE_ENV replaced) and minified
		// (unminified, its 2 MB run to some 47,000 lines; minified, a few hundred: licences and template strings)
		const everything = readdirSync(path.join(root, 'dist/bin')).map((file) => readFileSync(path.join(root, 'dist/bin', file), 'utf8')).join('\n');
		expect(everything).toContain('react.production.js');
		expect(everything).not.toMatch(/\.development\.js/);
		expect(everything).not.toContain('process.env.NODE_ENV');
		expect(everything.length / everything.split('\n').length).toBeGreaterThan(1000);
	});

	it(`npm install prints no EBADENGINE warning, and netdash --version prints ${manifest.version} on Node ${oldestMajor}`, () => {
		expect(installOutput).not.toContain('EBADENGINE');
		const binary = path.join(prefix, 'bin', 'netdash');
		expect(execFileSync('env', ['node', '--version'], {env, encoding: 'utf8'})).toMatch(new RegExp(`^v${oldestMajor}\\.`));
		expect(execFileSync(binary, ['--version'], {env, encoding: 'utf8'}).trim()).toBe(manifest.version);
	});

	it(`a short JSON session works on Node ${oldestMajor}: listen, a client connects and sends, quit exits 0`, async () => {
		const netdash = spawnJson(['--json'], {command: [path.join(prefix, 'bin', 'netdash')], env});
		children.push(netdash);
		netdash.send({cmd: 'listen', port: 0});
		const opened = await netdash.waitFor((event) => event.type === 'listener-opened', 'listener-opened');
		const client = net.connect(opened.port as number, '127.0.0.1');
		client.on('error', () => {});
		client.end('hello from a client\n');
		const received = await netdash.waitFor((event) => event.type === 'data-received', 'data-received');
		expect(Buffer.from(received.base64 as string, 'base64').toString()).toBe('hello from a client\n');
		netdash.send({cmd: 'quit'});
		expect(await netdash.exited).toBe(0);
		expect(netdash.badLines).toEqual([]);
	});
});
