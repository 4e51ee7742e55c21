import {closeSync, constants, fstatSync, ftruncateSync, openSync, statSync, type Stats} from 'node:fs';
import {NetdashError} from '../errors.js';

/** What a capture file is called in messages and codes. */
export type CaptureFileKind = {
	/** `log file` or `capture file`, in messages. */
	noun: string;
	/** The flag that names it (`--log`, `--pcap`). */
	flag: string;
	/** Prefix of error codes (`LOG`, `PCAP`). */
	code: string;
	/** The flag that lets it write to a FIFO, device or socket, when there is one. */
	allowSpecialFlag?: string;
};

/** How to open a capture file. */
export type OpenFileOptions = {
	/** Write to a FIFO, device or socket too; otherwise only a regular file is accepted. */
	allowSpecial: boolean;
	/** Append to what the file holds (`--log`) or start it again empty (`--pcap`: a pcapng file has one header). */
	mode: 'append' | 'truncate';
	/** Called on a regular file once opened (e.g. to cut a line a SIGKILL left half written); returns bytes removed. */
	repair?: (fd: number, stats: Stats) => number;
};

/**
 * Open a file netdash writes a session into (`--log`, `--pcap`), safely: the
 * final path component must not be a symbolic link (O_NOFOLLOW, so a
 * planted link cannot aim root's capture at another file); a file netdash
 * creates is 0600 (it holds every payload); O_NONBLOCK, so a FIFO with no
 * reader fails at once (ENXIO) instead of hanging; anything but a regular
 * file needs `allowSpecial`; an existing regular file must be the user's own
 * (root appending to, or emptying, a file another user planted or owns is
 * the classic attack on a privileged writer), and it is emptied only after
 * all of that is checked. Throws NetdashError with one line.
 */
export function openCaptureFile(path: string, kind: CaptureFileKind, options: OpenFileOptions): {fd: number; stats: Stats; repairedBytes: number} {
	const notRegular = (stats: Stats | undefined) =>
		new NetdashError(
			`${kind.code}_NOT_REGULAR`,
			`cannot open the ${kind.noun} ${path}: it is ${kindOf(stats)}; ${kind.allowSpecialFlag ? `add ${kind.allowSpecialFlag} to write to it` : `${kind.flag} writes only to a regular file`}`,
		);
	let fd: number;
	try {
		// No O_TRUNC here: a file is emptied only once it is known to be ours and regular.
		fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
	} catch (error) {
		const {code, message} = error as NodeJS.ErrnoException;
		if (code === 'ENXIO' && !options.allowSpecial) {
			// A FIFO without a reader (or a socket): refused for what it is, reader or not.
			throw notRegular(statSync(path, {throwIfNoEntry: false}));
		}

		const why =
			code === 'ELOOP'
				? `it is a symbolic link, and ${kind.flag} does not follow one (name the file it points to)`
				: code === 'ENXIO'
					? 'it is a FIFO that nobody is reading'
					: code === 'ENOENT'
						? 'its folder does not exist (ENOENT)'
						: code === 'EACCES' || code === 'EPERM'
							? `permission denied (${code})`
							: code === 'EISDIR'
								? 'it is a folder (EISDIR)'
								: code === 'EROFS'
									? 'the file system is read-only (EROFS)'
									: String(message).split('\n', 1)[0]!;
		throw new NetdashError(code ?? `${kind.code}_FAILED`, `cannot open the ${kind.noun} ${path}: ${why}`);
	}

	try {
		const stats = fstatSync(fd);
		if (!stats.isFile() && !options.allowSpecial) {
			throw notRegular(stats);
		}

		const euid = process.geteuid?.();
		if (stats.isFile() && euid !== undefined && stats.uid !== euid) {
			throw new NetdashError(`${kind.code}_NOT_OWNED`, `cannot open the ${kind.noun} ${path}: it belongs to uid ${stats.uid}, not to you (uid ${euid}); name a new file`);
		}

		if (stats.isFile() && options.mode === 'truncate' && stats.size > 0) {
			ftruncateSync(fd, 0);
			return {fd, stats: fstatSync(fd), repairedBytes: 0};
		}

		return {fd, stats, repairedBytes: stats.isFile() && options.repair ? options.repair(fd, stats) : 0};
	} catch (error) {
		closeSync(fd);
		throw error;
	}
}

function kindOf(stats: Stats | undefined): string {
	return stats?.isFIFO() ? 'a FIFO' : stats?.isCharacterDevice() ? 'a character device' : stats?.isBlockDevice() ? 'a block device' : stats?.isSocket() ? 'a socket' : 'not a regular file';
}
