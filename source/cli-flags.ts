/**
 * The command line's flags, as meow takes them (cli.tsx). A module of its
 * own so that a test can hand them to meow and compare with `netdash` run
 * without arguments, which skips meow (test/cli/no-arguments.test.ts).
 */
export const cliFlags = {
	listen: {type: 'string', shortFlag: 'l', isMultiple: true},
	connect: {type: 'string', shortFlag: 'c', isMultiple: true},
	forward: {type: 'string', isMultiple: true},
	forwardUdp: {type: 'string', isMultiple: true},
	udp: {type: 'string', isMultiple: true},
	respond: {type: 'string', isMultiple: true},
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
	discoverProtocols: {type: 'string'},
	discoverMaxTtl: {type: 'string'},
	broadcastAddress: {type: 'string', isMultiple: true},
	idleTimeout: {type: 'string'},
	stallTimeout: {type: 'string'},
	allow: {type: 'string', isMultiple: true},
	deny: {type: 'string', isMultiple: true},
	maxConns: {type: 'string'},
	log: {type: 'string'},
	logAllowSpecial: {type: 'boolean'},
	pcap: {type: 'string'},
	halfOpen: {type: 'boolean'},
	tls: {type: 'boolean'},
	cert: {type: 'string'},
	key: {type: 'string'},
	insecure: {type: 'boolean'},
	alpn: {type: 'string'},
} as const;
