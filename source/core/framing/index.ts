export {formatFraming, MAX_FIXED_SIZE, parseFraming, type FramingSpec} from './spec.js';
export {
	createFramer,
	DEFAULT_MAX_MESSAGE_BYTES,
	encodeFrame,
	type Framer,
	type FramerOptions,
	type FramerSink,
} from './framer.js';
