#!/usr/bin/env node
import process from 'node:process';
import {enablePrivateCompileCache} from './compile-cache.js';
import type {Core} from './core/index.js';
import type {CliOptions, RawFlags} from './options.js';

// React's development build is ≈ 2.6× slower (FACTS.md): use production unless the user chose.
process.env['NODE_ENV'] ??= 'production';
// Importing Ink and React is most of the time to the first frame; V8's code cache spares
// compiling them again on every start. It lives in the user's own cache directory, and only when
// nobody else can write there (compile-cache.ts). Everything else is imported after this line
// (static imports would load before it and miss the cache): ~15 ms of a ~300 ms start.
enablePrivateCompileCache();
const [{default: meow}, {createCore}, {runJsonLines}, {oneLine}, {openLogFile}, {parseCliOptions}] = await Promise.all([
	import('meow'),
	import('./core/index.js'),
	import('./core/json-lines.js'),
	import('./core/errors.js'),
	import('./core/log-file.js'),
	import('./options.js'),
]);

const cli = meow(
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

	UDP
	  -u                           Make -l and HOST PORT (or -c) UDP, as nc -u does
	  --udp [host:]port            Bind a UDP socket at start (repeatable; host 127.0.0.1
	                               unless given)

	Discovery
	  --discover [PORT]            Find other netdash instances on the subnet by UDP broadcast
	                               (default port 47474)
	  --name NAME                  The name discovery announces (default: the hostname)
	  --discover-interval SECONDS  Time between announces (default 5)
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
	  -V, --version                Print the version
	  -h, --help                   Print this help


	Exit codes
	  0  quit (q, :quit, {"cmd":"quit"}, a signal), or stdin ended with nothing left open
	  1  stdin ended and the socket that ended last failed (refused, timed out,
	     reset), as ncat; or netdash itself crashed
	  2  bad usage: an unknown or malformed flag, a --log file that cannot be opened,
	     a terminal that cannot draw (TERM=dumb)

	Examples
	  $ netdash -l 8080
	  $ netdash example.test 80
	  $ netdash -u -l 5353
	  $ netdash --json --listen 0 --framing line | jq .
	  $ netdash --discover --name lab-1 --listen 0.0.0.0:8080
`,
	{
		importMeta: import.meta,
		allowUnknownFlags: true,
		// Absent booleans stay absent: no --json means "decide by the terminal", not "false".
		booleanDefault: undefined,
		flags: {
			listen: {type: 'string', shortFlag: 'l', isMultiple: true},
			connect: {type: 'string', shortFlag: 'c', isMultiple: true},
			forward: {type: 'string', isMultiple: true},
			forwardUdp: {type: 'string', isMultiple: true},
			udp: {type: 'string', isMultiple: true},
			udpMode: {type: 'boolean', shortFlag: 'u'},
			help: {type: 'boolean', shortFlag: 'h'},
			version: {type: 'boolean', shortFlag: 'V'},
			framing: {type: 'string'},
			json: {type: 'boolean'},
			connectTimeout: {type: 'string'},
			maxQueued: {type: 'string'},
			// A string so that `--discover` alone (value '') means the default port.
			discover: {type: 'string'},
			name: {type: 'string'},
			discoverInterval: {type: 'string'},
			broadcastAddress: {type: 'string', isMultiple: true},
			idleTimeout: {type: 'string'},
			stallTimeout: {type: 'string'},
			allow: {type: 'string', isMultiple: true},
			deny: {type: 'string', isMultiple: true},
			maxConns: {type: 'string'},
			log: {type: 'string'},
			logAllowSpecial: {type: 'boolean'},
			halfOpen: {type: 'boolean'},
		},
	},
);

function fail(message: string): never {
	process.stderr.write(`netdash: ${message}\n`);
	process.exit(2);
}

// meow answers --help and --version by itself only when they stand alone.
if (cli.flags['help'] === true) {
	cli.showHelp(0);
}

if (cli.flags['version'] === true) {
	cli.showVersion();
}

let options: CliOptions;
try {
	options = parseCliOptions(cli.flags as RawFlags, cli.input, process.argv.slice(2));
} catch (error) {
	fail(oneLine(error));
}

const core = createCore({
	connectTimeoutMs: options.connectTimeoutMs,
	maxQueuedBytes: options.maxQueuedBytes,
	framing: options.framing,
	idleTimeoutMs: options.idleTimeoutMs,
	stallTimeoutMs: options.stallTimeoutMs,
	admission: {allow: options.allow, deny: options.deny, maxConnections: options.maxConnections},
	halfOpen: options.halfOpen,
});
let logFile: ReturnType<typeof openLogFile> | undefined;
try {
	logFile = options.logFile === undefined ? undefined : openLogFile(core, options.logFile, {allowSpecial: options.logAllowSpecial, version: cli.pkg.version ?? 'unknown', arguments: process.argv.slice(2)});
} catch (error) {
	fail(oneLine(error));
}

/** After every socket is closed: flush and close the log file. */
async function finish(): Promise<void> {
	await logFile?.close();
}

function openFromFlags(target: Core): void {
	for (const {host, port} of options.listen) {
		target.listen(host, port);
	}

	for (const {host, port} of options.connect) {
		target.connect(host, port);
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
		target.startDiscovery(options.discovery);
	}
}

// The dashboard needs a terminal both ways (it reads keys in raw mode); otherwise stream JSON lines.
const isJson = options.json ?? !(process.stdout.isTTY && process.stdin.isTTY);
if (isJson) {
	const session = runJsonLines({core, input: process.stdin, output: process.stdout});
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
