/** Bus events of Files a session writes as it goes (--log, --pcap). Re-exported by ../events.ts, which holds the BusEvent union. */

/** Writing the `--log` file failed; the session goes on without it. */
export type LogFileFailed = {
	type: 'log-file-failed';
	path: string;
	code: string;
	message: string;
};

/** Writing the `--pcap` file failed; the session goes on without it, and the file keeps every whole block written before. */
export type PcapFileFailed = {
	type: 'pcap-file-failed';
	path: string;
	code: string;
	message: string;
};
