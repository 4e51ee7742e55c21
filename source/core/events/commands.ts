/** Bus events of Commands and subscribers that failed. Re-exported by ../events.ts, which holds the BusEvent union. */

/** A command could not be carried out (bad arguments, unknown id, malformed JSON line). */
export type CommandFailed = {
	type: 'command-failed';
	ref: string | null;
	code: string;
	message: string;
	/** The socket the command named (send, shutdown, reset, close), when it named one: its log gets the failure too. */
	target?: string;
	/** The field of a JSON command at fault (`timeout`, `allow/2`), when one is. */
	field?: string;
};

/** A bus subscriber threw; it was isolated and emission went on. */
export type SubscriberFailed = {
	type: 'subscriber-failed';
	message: string;
};
