import type {Bus} from '../bus.js';
import {createFramer, type Framer, type FramingSpec} from '../framing/index.js';

/**
 * The framer of one connection's received bytes, reporting each message
 * (`message-received`) and each overflow (`framing-overflowed`) on the bus;
 * undefined for raw framing.
 */
export function messageFramer(bus: Bus, id: string, framing: FramingSpec): Framer | undefined {
	// Raw framing has no framer: spare the sink too (one set per connection, 10,000 of them at scale).
	return framing.kind === 'raw'
		? undefined
		: createFramer(framing, {
				message(payload, delimiterBytes) {
					bus.emit({
						type: 'message-received',
						connection: id,
						bytes: payload.length,
						data: payload,
						...(delimiterBytes === undefined ? {} : {delimiter: delimiterBytes === 2 ? 'crlf' : 'lf'}),
					});
				},
				overflow(discardedBytes, reason) {
					bus.emit({type: 'framing-overflowed', connection: id, bytes: discardedBytes, message: reason});
				},
			});
}
