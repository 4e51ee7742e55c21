export {toDisplay, toDisplayString, type DisplayOptions} from './display.js';
export {hexDump, type HexDumpOptions} from './hex.js';
export {formatBytes, formatRate} from './bytes.js';
export {parseEscapedText, parseHex, toEscapedText} from './input.js';
