/** Bus events of Fields and shapes every event shares. Re-exported by ../events.ts, which holds the BusEvent union. */

/** An address and port as the kernel reports it. */
export type Endpoint = {
	address: string;
	port: number;
};

/** Fields the bus adds to every event. */
export type EventBase = {
	/** 1, 2, 3, … per run, with no gaps. */
	seq: number;
	/** Epoch milliseconds when the event was emitted. */
	at: number;
	/** The `ref` of the command that caused this event, when it carried one (`null` on a `command-failed` without one). */
	ref?: string | null;
};
