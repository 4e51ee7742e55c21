#!/usr/bin/env node
import process from 'node:process';
import type {Core} from './core/index.js';
import type {CliOptions, RawFlags} from './options.js';
import {isVersionOnly, ownPackage} from './own-package.js';

// `netdash --version` alone is answered before anything else is loaded: as fast as Node starts.
const manifest = ownPackage();
if (isVersionOnly(process.argv.slice(2))) {
	process.stdout.write(`${manifest.version}\n`);
	process.exit(0);
}

// React's development build is ≈ 2.6× slower (FACTS.md): use production unless the user chose.
process.env['NODE_ENV'] ??= 'production';
// Importing Ink and React is most of the time to the first frame; V8's code cache spares
// compiling them again on every start. It lives in the user's own cache directory, and only when
// nobody else can write there (compile-cache.ts). Everything else is imported after this line
// (static imports would load before it and miss the cache): ~15 ms of a ~300 ms start.
// Imported, not bundled in: TLS's certificate folder shares its safety check, which makes it a
// chunk of its own that `--version` must not load.
const {enablePrivateCompileCache} = await import('./compile-cache.js');
enablePrivateCompileCache();
// `netdash export LOG.jsonl -o FILE.pcapng` is a command of its own: no sockets, no dashboard.
if (process.argv[2] === 'export' && process.argv.some((argument) => argument === '-o' || argument === '--output' || argument.startsWith('--output='))) {
	const {runExport} = await import('./export-command.js');
	process.exit(await runExport(process.argv.slice(3)));
}

// `netdash replay FILE`: a --log recording played back (`netdash replay 80` still dials a host named replay).
if (process.argv[2] === 'replay' && process.argv.length > 3 && !/^\d+$/.test(process.argv[3]!)) {
	const {runReplay} = await import('./replay-command.js');
	const code = await runReplay(process.argv.slice(3));
	process.exit(code);
}

// `netdash` alone (the dashboard, as `npm start` runs it) has nothing to parse: meow is loaded only
// for arguments, ~8 ms of the first frame otherwise (test/cli/no-arguments.test.ts checks that both
// ways give the same options).
const hasArguments = process.argv.length > 2;
const [meowModule, {cliFlags}, {createCore}, {oneLine}, {parseCliOptions}] = await Promise.all([
	hasArguments ? import('meow') : undefined,
	import('./cli-flags.js'),
	import('./core/core.js'),
	import('./core/errors.js'),
	import('./options.js'),
]);

const cli = meowModule?.default(
	`
	Usage
	  $ netdash [options]              the dashboard
	  $ netdash HOST PORT              dial HOST:PORT (add -u for UDP)
	  $ netdash -l PORT                listen on 127.0.0.1:PORT (add -u for UDP)

	When stdout or stdin is not a terminal (or with --json), every event is printed
	as one JSON object per line, and piped stdin is read as JSON commands, one per
	line, e.g. {"cmd":"send","connection":"C1","text":"hi\\n"} (readme.md, "Scripting").

	TCP
	  -l, --listen [host:]port     Start a listener (repeatable; host 127.0.0.1 unless given,
	                               0.0.0.0 or [::] for every interface, port 0 for any free port)
	  -c, --connect host:port      Dial a connection (repeatable)
	  --forward [BIND:]PORT:HOST:HOSTPORT
	                               Relay each client of BIND:PORT (BIND 127.0.0.1 unless given) to
	                               its own connection to HOST:HOSTPORT, as ssh -L (repeatable)
	  --forward-udp [BIND:]PORT:HOST:HOSTPORT
	                               The same for UDP: one upstream socket per client address; a session
	                               idle for --idle-timeout (default 60 s here) expires
	  --framing MODE               raw (default), line, u16, u32 or fixed:N
	  --connect-timeout SECONDS    Give up a dial after this long (default 10)
	  --max-queued SIZE            Bytes a connection may hold unsent, e.g. 4M (default 4M)
	  --idle-timeout SECONDS       Close connections idle this long (default 0: never)
	  --stall-timeout SECONDS      Mark a connection stalled when its queue has not drained
	                               for this long (default 10; 0: never)
	  --half-open                  Keep a connection open after the peer's FIN so it can still be
	                               answered, until closed (default: close it once its queue is
	                               sent, as ncat and socat do); it counts toward --max-conns
	  --tls                        Every -l serves TLS and every dial speaks it (SNI, verified)
	  --cert FILE --key FILE       PEM certificate and key for -l --tls (default: netdash's own,
	                               self-signed, kept in ~/.config/netdash)
	  --insecure                   With --tls: dial without verifying the peer (marked tls!)
	  --alpn LIST                  With --tls: ALPN protocols, comma-separated (e.g. h2,http/1.1)

	UDP
	  -u                           Make -l and HOST PORT (or -c) UDP, as nc -u does
	  --udp [host:]port            Bind a UDP socket at start (repeatable; host 127.0.0.1
	                               unless given)

	Workbench
	  --respond 'PATTERN => REPLY' Auto-reply to each message, chunk or datagram matching
	                               PATTERN (repeatable; REPLY takes escapes, $1…$9, \${len},
	                               \${hex}, \${time}; options after ' ;; ': on L1 delay 1s
	                               then close|reset max N)

	Discovery
	  --discover [PORT]            Find other netdash instances on the subnet by UDP broadcast
	                               (default port 47474)
	  --name NAME                  The name discovery announces (default: the hostname)
	  --discover-interval SECONDS  Time between announces (default 5)
	  --discover-protocols LIST    Which of netdash,mdns,ssdp,syncthing to run (default: all;
	                               netdash only with --broadcast-address)
	  --discover-max-ttl SECONDS   Trust an mDNS record, SSDP device or Syncthing device at most
	                               this long unheard
	  --broadcast-address ADDR     Announce to ADDR (repeatable; default: the directed broadcast
	                               of every non-loopback IPv4 interface; 255.255.255.255 allowed)

	Admission
	  --allow CIDR                 Accept clients and datagrams only from these addresses (repeatable)
	  --deny CIDR                  Refuse clients and datagrams from these addresses (repeatable;
	                               deny wins)
	  --max-conns N                Connections per listener; more are refused (default 100)

	Output
	  --json                       Stream events as JSON lines instead of the dashboard
	  --log FILE                   Append every event and command to FILE as JSON lines (payloads
	                               base64); a new file is 0600, a symbolic link is refused
	  --log-allow-special          Let --log write to a FIFO, device or socket
	  --pcap FILE                  Write every TCP connection and UDP datagram to FILE as pcapng
	                               (Wireshark, tshark); a new file is 0600, a symbolic link is refused
	  -V, --version                Print the version
	  -h, --help                   Print this help


	Exit codes
	  0  quit (q, :quit, {"cmd":"quit"}, a signal), or stdin ended with nothing left open
	  1  stdin ended and the socket that ended last failed (refused, timed out,
	     reset), as ncat; or netdash itself crashed
	  2  bad usage: an unknown or malformed flag, a --log or --pcap file that cannot be opened,
	     a terminal that cannot draw (TERM=dumb)

	Examples
	  $ netdash -l 8080
	  $ netdash example.test 80
	  $ netdash -u -l 5353
	  $ netdash export session.jsonl -o session.pcapng   (a --log file as pcapng)
	  $ netdash replay session.jsonl [--session N]      (a --log file played back, read-only)
	  $ netdash --json --listen 0 --framing line | jq .
	  $ netdash --discover --name lab-1 --listen 0.0.0.0:8080
`,
	{
		importMeta: import.meta,
		// Given, so meow does not look for it (its version and description are what meow prints).
		pkg: manifest,
		allowUnknownFlags: true,
		// Absent booleans stay absent: no --json means "decide by the terminal", not "false".
		booleanDefault: undefined,
		flags: cliFlags,
	},
);

function fail(message: string): never {
	process.stderr.write(`netdash: ${message}\n`);
	process.exit(2);
}

// meow answers --help and --version by itself only when they stand alone.
if (cli?.flags['help'] === true) {
	cli.showHelp(0);
}

if (cli?.flags['version'] === true) {
	cli.showVersion();
}

let options: CliOptions;
try {
	options = parseCliOptions((cli?.flags ?? {}) as RawFlags, cli?.input ?? [], process.argv.slice(2));
} catch (error) {
	fail(oneLine(error));
}

// The dashboard needs a terminal both ways (it reads keys in raw mode); otherwise stream JSON lines.
const isJson = options.json ?? !(process.stdout.isTTY && process.stdin.isTTY);
// The capture files' code (and its writer thread) is loaded only with their flags, and JSON lines (with
// the commands' validation: Ajv and the schemas, which the dashboard never uses) only in that mode, all
// before the core exists, so that no event comes before their subscribers.
const [logModule, pcapModule, jsonLines] = await Promise.all([
	options.logFile === undefined ? undefined : import('./core/capture/log-file.js'),
	options.pcapFile === undefined ? undefined : import('./core/capture/pcap-file.js'),
	isJson ? import('./core/json-lines.js') : undefined,
]);
const core = createCore({
	connectTimeoutMs: options.connectTimeoutMs,
	maxQueuedBytes: options.maxQueuedBytes,
	framing: options.framing,
	idleTimeoutMs: options.idleTimeoutMs,
	stallTimeoutMs: options.stallTimeoutMs,
	admission: {allow: options.allow, deny: options.deny, maxConnections: options.maxConnections},
	halfOpen: options.halfOpen,
});
let logFile: ReturnType<NonNullable<typeof logModule>['openLogFile']> | undefined;
let pcapFile: ReturnType<NonNullable<typeof pcapModule>['openPcapFile']> | undefined;
try {
	logFile = options.logFile === undefined ? undefined : logModule?.openLogFile(core, options.logFile, {allowSpecial: options.logAllowSpecial, version: manifest.version, arguments: process.argv.slice(2)});
	pcapFile = options.pcapFile === undefined ? undefined : pcapModule?.openPcapFile(core, options.pcapFile);
} catch (error) {
	fail(oneLine(error));
}

/** After every socket is closed: flush and close the log and capture files. */
async function finish(): Promise<void> {
	await Promise.all([logFile?.close(), pcapFile?.close()]);
}

function openFromFlags(target: Core): void {
	// Rules first: they must be in force before the first byte arrives.
	for (const spec of options.respond) {
		target.respond(spec);
	}

	const tls = options.tls;
	for (const {host, port} of options.listen) {
		target.listen(host, port, tls ? {tls: true, ...tls.listen} : {});
	}

	for (const {host, port} of options.connect) {
		target.connect(host, port, tls ? {tls: true, ...tls.connect} : {});
	}

	for (const {bind, target: to} of options.forward) {
		target.forward(bind.host, bind.port, to);
	}

	for (const {bind, target: to} of options.forwardUdp) {
		target.forwardUdp(bind.host, bind.port, to);
	}

	for (const {host, port} of options.udp) {
		target.udpBind(host, port);
	}

	for (const {host, port} of options.udpDial) {
		target.udpBind(host.includes(':') ? '::' : '0.0.0.0', 0, {connectTo: {host, port}});
	}

	if (options.discovery) {
		const {protocols, maxTtlMs, ...discovery} = options.discovery;
		if (protocols.includes('netdash')) {
			target.startDiscovery(discovery);
		}

		const lan = protocols.filter((protocol) => protocol !== 'netdash');
		if (lan.length > 0) {
			target.browseServices({protocols: lan, ...(maxTtlMs === undefined ? {} : {maxTtlMs})});
		}
	}
}

if (jsonLines) {
	const session = jsonLines.runJsonLines({core, input: process.stdin, output: process.stdout});
	const stop = () => {
		void session.quit();
	};

	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	openFromFlags(core);
	const code = await session.done;
	await finish();
	process.exit(code);
} else {
	const {runDashboard} = await import('./ui/run.js');
	await runDashboard({core, openFromFlags, finish});
}
