import {useMemo} from 'react';
import {Box, Text} from 'ink';
import type {DiscoveryView, ForeignRow, LanHistoryRow, LanHostRow, LanServiceRow, PeerRow, ProbeResultsRow} from '../../core/index.js';
import {formatAddress} from '../../core/index.js';
import {formatBytes, toDisplay} from '../../core/format/index.js';
import {columnsWidth, fitColumns, type Column, type FittedColumns} from '../columns.js';
import {EmptyState} from '../components/empty-state.js';
import {RowLine} from '../components/row-line.js';
import {PaneFrame} from '../components/pane-frame.js';
import {useListKeys} from '../hooks/use-list-keys.js';
import {useNow} from '../hooks/use-now.js';
import {clampCursor, useScrollWindow} from '../hooks/use-scroll-window.js';
import {fit, safeText} from '../format.js';
import {frameGlyphs} from '../terminal.js';
import {colors} from '../theme.js';
import type {ListPaneProps} from './list-pane.js';

/** Props of {@link DiscoveryPane}. The filter's words must all appear in a service's name, address, ports, state, protocol or type. */
export type DiscoveryPaneProps = ListPaneProps & {
	/** Peers from the snapshot (counted in the title); they are listed among the hosts' services. */
	readonly peers: readonly PeerRow[];
	/** Hosts with their services (netdash peers, mDNS, SSDP, Syncthing), from the snapshot. @default [] */
	readonly hosts?: readonly LanHostRow[];
	/** What appeared, expired, said bye or restarted, oldest first. @default [] */
	readonly history?: readonly LanHistoryRow[];
	/** The latest broadcast probe's results are shown as a table (`:probe [addr:]port text`). @default undefined */
	readonly probe?: ProbeResultsRow;
	/** LAN protocols browsing now. @default [] */
	readonly browsing?: readonly string[];
	/** Senders of datagrams on the discovery port that are not netdash's. */
	readonly foreign: readonly ForeignRow[];
	readonly discovery: DiscoveryView;
	/** Enter on a service: a netdash peer's offered port, or a TCP service's. */
	readonly onSelect?: (service: LanServiceRow) => void;
	/** Discovery is off: one line under the Listeners (layout.ts), saying how to start it. @default false */
	readonly isFolded?: boolean;
};

/** Columns of a service row. */
export type PeerColumn = 'mark' | 'name' | 'address' | 'ports' | 'rtt' | 'age' | 'state' | 'protocol' | 'kind';

const stateGlyphs: Record<LanServiceRow['state'], string> = {fresh: '●', stale: '◌', gone: '○'};

/**
 * Name first; then, while they fit, its protocol, port and age (the glyph
 * already says fresh/stale/gone), then address (the host line has it),
 * state, round trip and service type. Table order keeps address, port,
 * round trip, age and state together as before.
 */
const peerColumns = (addressWidth: number, hasServices: boolean, hasPeers: boolean): ReadonlyArray<Column<PeerColumn>> => [
	{key: 'mark', width: 3, priority: 0},
	{key: 'name', width: 7, priority: 0, isFlexible: true, maxWidth: 32, grow: {width: 6, priority: 3}},
	{key: 'address', width: addressWidth + 1, priority: 2},
	// Peers offer lists of ports (room to grow); other services have one.
	{key: 'ports', width: 9, priority: 1, ...(hasServices ? {} : {grow: {width: 12, priority: 6}})},
	// A round trip is a netdash peer's only: none without peers, and among other services it comes last.
	...(hasPeers ? [{key: 'rtt', width: 6, priority: hasServices ? 7 : 4} as const] : []),
	{key: 'age', width: 5, priority: 1},
	{key: 'state', width: 6, priority: 2},
	// Only netdash peers: no protocol or type to tell apart, and the name keeps the room.
	...(hasServices
		? ([
				{key: 'protocol', width: 5, priority: 1},
				{key: 'kind', width: 14, priority: 3},
			] as const)
		: []),
];

const headings: Record<PeerColumn, string> = {mark: '', name: 'name', address: 'address', ports: 'port', rtt: 'rtt', age: 'age', state: 'state', protocol: 'via', kind: 'type'};

const protocolTags: Record<LanServiceRow['protocol'], string> = {netdash: 'nd', mdns: 'mdns', ssdp: 'ssdp', syncthing: 'sync'};

/** Rows from which the pane spends one on column headings. */
const headingMinHeight = 5;

/** Text a filter word is looked for in. */
function serviceText(service: LanServiceRow): string {
	return `${safeText(service.name)} ${service.address} ${service.ports.join(' ')} ${service.state} ${service.protocol} ${safeText(service.serviceType)}`.toLowerCase();
}

/** The hosts with only their services that hold every word of `filter` (hosts left empty drop out). */
function filterHosts(hosts: readonly LanHostRow[], filter: string): readonly LanHostRow[] {
	const words = filter.toLowerCase().split(/\s+/).filter((word) => word !== '');
	if (words.length === 0) {
		return hosts;
	}

	return hosts
		.map((host) => ({...host, services: host.services.filter((service) => words.every((word) => serviceText(service).includes(word)))}))
		.filter((host) => host.services.length > 0);
}

/** A line of the list: a host, or one of its services (`index` counts services only: the cursor moves over those). */
type Line = {readonly host: LanHostRow; readonly service?: undefined} | {readonly host: LanHostRow; readonly service: LanServiceRow; readonly index: number};

function linesOf(hosts: readonly LanHostRow[]): {lines: Line[]; services: LanServiceRow[]; lineOf: number[]} {
	const lines: Line[] = [];
	const services: LanServiceRow[] = [];
	const lineOf: number[] = [];
	for (const host of hosts) {
		lines.push({host});
		for (const service of host.services) {
			lineOf.push(lines.length);
			lines.push({host, service, index: services.length});
			services.push(service);
		}
	}

	return {lines, services, lineOf};
}

/** What the pane says with no peers: how to start discovery, or that it is listening. */
function emptyText(discovery: DiscoveryView): string {
	switch (discovery.state) {
		case 'running': {
			return `listening for peers on UDP port ${discovery.port ?? '?'} — none yet (p probes now)`;
		}

		case 'failed': {
			return `discovery failed: ${safeText(discovery.error?.message ?? 'unknown error', 200)}`;
		}

		case 'stopped': {
			return 'discovery stopped — :discover starts it again';
		}

		default: {
			return 'no peers yet — start discovery with :discover or --discover';
		}
	}
}

/** One line of counters: who we are, and what was dropped (a flood shows here first). */
function statusText(discovery: DiscoveryView, browsing: readonly string[]): string {
	const counters = `dropped ${discovery.droppedTotal} · rate-limited ${discovery.rateLimited} · probes ${discovery.probes} · heard ${discovery.received}`;
	if (discovery.state !== 'running' && discovery.state !== 'failed' && browsing.length > 0) {
		// Only the LAN protocols run (--discover-protocols mdns,…): netdash's own counters say nothing.
		return ` browsing ${browsing.join(', ')}`;
	}

	switch (discovery.state) {
		case 'running': {
			return ` me ${discovery.instanceId?.slice(0, 8) ?? '?'} · ${counters}`;
		}

		case 'failed': {
			return ` failed: ${safeText(discovery.error?.message ?? 'unknown error', 200)}`;
		}

		default: {
			return ` discovery ${discovery.state} · ${counters}`;
		}
	}
}

/** `8080,9090`, or `8080 +2` when they do not all fit; `—` for none. */
function portsText(ports: readonly number[], width: number): string {
	if (ports.length === 0) {
		return '—';
	}

	const all = ports.join(',');
	return all.length <= width || ports.length === 1 ? all : `${ports[0]} +${ports.length - 1}`;
}

/** `1.3ms`, `42ms`, `1.2s`; `—` before a probe was answered. */
function rttText(rttMs: number | null): string {
	if (rttMs === null) {
		return '—';
	}

	if (rttMs >= 1000) {
		return `${(rttMs / 1000).toFixed(1)}s`;
	}

	return rttMs < 10 ? `${rttMs.toFixed(1)}ms` : `${Math.round(rttMs)}ms`;
}

/** `3s`, `12m`, `5h` since `at`. */
function ageText(at: number, now: number): string {
	const seconds = Math.max(0, Math.floor((now - at) / 1000));
	if (seconds < 60) {
		return `${seconds}s`;
	}

	return seconds < 3600 ? `${Math.floor(seconds / 60)}m` : `${Math.floor(seconds / 3600)}h`;
}

function cell(columns: FittedColumns<PeerColumn>, key: PeerColumn, text: string): string {
	const width = columns.get(key);
	return width === undefined ? '' : `${fit(text, width - 1)} `;
}

function ServiceLine({service, columns, isCursor, now, fill}: {service: LanServiceRow; columns: FittedColumns<PeerColumn>; isCursor: boolean; now: number; fill: number}) {
	const isFresh = service.state === 'fresh';
	return (
		<RowLine isCursor={isCursor} fill={fill} isDim={!isFresh}>
			{isCursor ? '›' : ' '}
			<Text color={isFresh ? 'green' : colors.muted}>{`${stateGlyphs[service.state]} `}</Text>
			{/* Names and types are the network's bytes: always through toDisplayString. */}
			{cell(columns, 'name', safeText(service.name, 64))}
			{cell(columns, 'address', safeText(service.address))}
			{cell(columns, 'ports', portsText(service.ports, (columns.get('ports') ?? 1) - 1))}
			{cell(columns, 'rtt', rttText(service.rttMs))}
			{cell(columns, 'age', ageText(service.lastSeen, now))}
			{cell(columns, 'state', service.state)}
			{cell(columns, 'protocol', protocolTags[service.protocol])}
			{cell(columns, 'kind', service.protocol === 'netdash' ? '' : safeText(service.serviceType, 64))}
		</RowLine>
	);
}

/** `▾ 10.0.0.2  printer.local · 2 services`: the host's address, the name its services give, and how many. */
function HostLine({host, width}: {host: LanHostRow; width: number}) {
	const count = `${host.services.length} service${host.services.length === 1 ? '' : 's'}`;
	const name = host.name === host.address ? '' : `  ${safeText(host.name, 64)}`;
	return (
		<Text wrap="truncate-end" color={host.state === 'fresh' ? undefined : colors.muted}>
			{fit(` ▾ ${safeText(host.address)}${name} · ${count}`, width)}
		</Text>
	);
}

const historyWords: Record<LanHistoryRow['kind'], string> = {appeared: 'appeared', expired: 'expired', bye: 'said bye', restarted: 'restarted', evicted: 'evicted', stopped: 'stopped'};

/** `  12s ago  said bye  mdns Lab Printer 10.0.0.2:631`: one line of the recent history. */
function HistoryLine({row, now, width}: {row: LanHistoryRow; now: number; width: number}) {
	const where = row.port === null ? row.address : formatAddress(row.address, row.port);
	const text = ` ${ageText(row.at, now).padStart(4)} ago ${historyWords[row.kind].padEnd(9)} ${protocolTags[row.protocol]} ${safeText(row.name, 64)} ${safeText(where)}`;
	return (
		<Text wrap="truncate-end" color={row.kind === 'appeared' || row.kind === 'restarted' ? colors.muted : colors.warning}>
			{fit(text, width)}
		</Text>
	);
}

/** `probe P1 → 10.0.0.255:9999 (5 B): 3 responders, 4 replies in 2 s`: the head of the probe table. */
function probeHead(probe: ProbeResultsRow): string {
	const targets = probe.targets.map((target) => formatAddress(target.address, target.port)).join(', ');
	const count = `${probe.responders.length + probe.unlisted} responder${probe.responders.length + probe.unlisted === 1 ? '' : 's'}, ${probe.replies} repl${probe.replies === 1 ? 'y' : 'ies'} in ${probe.windowMs / 1000} s${probe.refused > 0 ? `, ${probe.refused} refused by --allow/--deny` : ''}${(probe.kernelDrops ?? 0) > 0 ? `, ${probe.kernelDrops} lost (receive buffer full)` : ''}`;
	return ` probe ${probe.probe} → ${safeText(targets, 80)} (${formatBytes(probe.bytes)}): ${probe.error ? `${safeText(probe.error.message, 120)} · ` : ''}${count}`;
}

/** One responder: address, round trip of its first reply, replies (counted, not repeated), size, then its first bytes escaped. */
function ResponderLine({row, sourceWidth, width}: {row: ProbeResultsRow['responders'][number]; sourceWidth: number; width: number}) {
	const head = ` ◆ ${fit(safeText(formatAddress(row.from.address, row.from.port)), sourceWidth)} ${fit(rttText(row.rttMs), 7, 'right')} ${`${row.replies}×`.padStart(4)} ${fit(formatBytes(row.bytes), 7, 'right')}  `;
	const room = Math.max(0, width - head.length);
	// The reply's bytes are the responder's: painted through toDisplay like any payload.
	const bytes = room > 0 ? toDisplay(Buffer.from(row.base64, 'base64'), {maxChars: room}) : '';
	return (
		<Text wrap="truncate-end">
			{head}
			<Text color={colors.muted}>{bytes}</Text>
		</Text>
	);
}

/** One foreign sender: source, datagrams and last size, then the first bytes of the last one; compact: labelled, without the counts. */
function ForeignLine({row, sourceWidth, width, isCompact = false}: {row: ForeignRow; sourceWidth: number; width: number; isCompact?: boolean}) {
	const source = safeText(formatAddress(row.address, row.port));
	const head = isCompact ? ` ◇ foreign ${source}  ` : ` ◇ ${fit(source, sourceWidth)} ${`${row.datagrams}×`.padStart(4)} ${fit(formatBytes(row.lastBytes), 7, 'right')}  `;
	// The first bytes are the sender's: painted through toDisplay like any payload.
	const room = Math.max(0, width - head.length);
	const bytes = room > 0 ? toDisplay(row.data, {maxChars: room}) : '';
	return (
		<Text wrap="truncate-end" color={colors.muted}>
			{head}
			<Text>{bytes}</Text>
		</Text>
	);
}

/** The Discovery pane while discovery is off: `╶─ 4 Discovery off · :discover or --discover finds peers ───`. */
function FoldedLine({discovery, isFocused, width}: {discovery: DiscoveryView; isFocused: boolean; width: number}) {
	// Heavy when focused, as PaneFrame's; ASCII where the terminal needs it.
	const border = isFocused ? frameGlyphs().foldedFocused : frameGlyphs().foldedNormal;
	const color = isFocused ? colors.focus : colors.border;
	const name = '4 Discovery';
	const more = ` ${discovery.state === 'stopped' ? 'stopped' : 'off'} · :discover or --discover finds netdash peers`;
	const room = Math.max(0, width - 4 - name.length);
	const shown = more.slice(0, room);
	return (
		<Text wrap="truncate-end">
			<Text color={color}>{`${border.left} `}</Text>
			<Text bold={isFocused}>{name}</Text>
			<Text color={colors.muted}>{shown}</Text>
			<Text color={color}>{` ${border.line.repeat(Math.max(0, room - shown.length))}`}</Text>
		</Text>
	);
}

/**
 * Pane 4: discovery. A line of counters (our instance id, dropped and
 * rate-limited datagrams); the hosts on the subnet, each with its services
 * grouped under it — netdash peers, mDNS services, UPnP devices, Syncthing
 * devices — with protocol, name, port, age and state (enter connects to a
 * TCP one); the recent history (what appeared, expired, said bye or
 * restarted); and the foreign senders on the discovery port. Every name is
 * the network's and painted through toDisplayString / toDisplay.
 */
export function DiscoveryPane({peers: allPeers, hosts: allHosts = [], history = [], browsing = [], probe, foreign, discovery, filter, cursor, isFocused, keys, width, height, onMove, onSelect, isFolded = false}: DiscoveryPaneProps) {
	const hosts = useMemo(() => filterHosts(allHosts, filter), [allHosts, filter]);
	const {lines, services, lineOf} = useMemo(() => linesOf(hosts), [hosts]);
	const serviceCount = useMemo(() => allHosts.reduce((sum, host) => sum + host.services.filter((service) => service.protocol !== 'netdash' && service.state !== 'gone').length, 0), [allHosts]);
	const inner = width - 2;
	const body = Math.max(0, height - 2);
	const addressWidth = useMemo(() => Math.max(7, ...services.map((service) => service.address.length)), [services]);
	const hasServices = useMemo(() => services.some((service) => service.protocol !== 'netdash'), [services]);
	const hasPeers = useMemo(() => services.some((service) => service.protocol === 'netdash'), [services]);
	const columns = useMemo(() => fitColumns(inner, peerColumns(addressWidth, hasServices, hasPeers)), [inner, addressWidth, hasServices, hasPeers]);
	const hasHeading = body >= headingMinHeight && services.length > 0;
	let rest = Math.max(0, body - 1 - (hasHeading ? 1 : 0));
	// The latest probe's table takes up to half (its head, then a row per responder, fastest first), leaving the list one line.
	const probeLines = probe === undefined || rest < 2 ? 0 : Math.min(1 + probe.responders.length, Math.max(1, Math.floor(rest / 2)));
	rest -= probeLines;
	// The newest history takes up to a quarter of what is left (at most 3 lines) once the list has room to spare.
	const historyLines = history.length === 0 || rest < 4 ? 0 : Math.min(3, history.length, Math.floor(rest / 4));
	rest -= historyLines;
	// Foreign senders get up to half of what is left (a heading and at least one row), hosts the rest;
	// with two lines left, the newest foreign sender takes one, labelled instead of headed.
	const foreignLines = foreign.length === 0 || rest < 2 ? 0 : rest === 2 ? 1 : Math.min(1 + foreign.length, Math.max(2, Math.floor(rest / 2)));
	const isForeignCompact = foreignLines === 1;
	const listLines = Math.max(1, rest - foreignLines);
	const position = clampCursor(cursor, services.length);
	const {start, end} = useScrollWindow(lineOf[position] ?? 0, lines.length, listLines);
	const now = useNow(1000, allHosts.length > 0);
	useListKeys({
		pane: 'discovery',
		keys,
		count: services.length,
		cursor,
		page: listLines,
		onMove,
		onSelect(index) {
			const service = services[index];
			if (service) {
				onSelect?.(service);
			}
		},
	});
	const shownForeign = foreign.slice(-Math.max(0, isForeignCompact ? 1 : foreignLines - 1)).reverse();
	const sourceWidth = Math.min(21, Math.max(9, ...shownForeign.map((row) => formatAddress(row.address, row.port).length)));
	const running = discovery.state === 'running' ? ` · :${discovery.port ?? '?'}` : '';
	const servicesText = serviceCount > 0 ? ` · ${serviceCount} service${serviceCount === 1 ? '' : 's'} on ${allHosts.length} host${allHosts.length === 1 ? '' : 's'}` : '';
	const detail = `(${allPeers.length} peer${allPeers.length === 1 ? '' : 's'}${servicesText}${foreign.length > 0 ? ` · ${foreign.length} foreign` : ''}${running}${filter ? ` · /${filter} ${services.length} match` : ''})`;
	const isIdle = discovery.state === 'off' && browsing.length === 0 && allHosts.length === 0 && foreign.length === 0 && probe === undefined;
	const responders = useMemo(() => (probe ? [...probe.responders].sort((a, b) => a.rttMs - b.rttMs) : []), [probe]);
	const responderWidth = Math.min(21, Math.max(9, ...responders.map((row) => formatAddress(row.from.address, row.from.port).length)));
	const heading = [...columns].map(([key, size]) => headings[key].padEnd(size).slice(0, size)).join('');
	const hasDrops = discovery.droppedTotal > 0;
	const fill = Math.max(0, inner - columnsWidth(columns));
	if (isFolded) {
		return <FoldedLine discovery={discovery} isFocused={isFocused} width={width} />;
	}

	return (
		<PaneFrame number={4} title="Discovery" detail={detail} isFocused={isFocused} width={width} height={height}>
			{isIdle ? (
				<EmptyState text={emptyText(discovery)} />
			) : (
				<Box flexDirection="column">
					<Text wrap="truncate-end" color={discovery.state === 'failed' ? colors.error : hasDrops ? colors.warning : colors.muted}>
						{statusText(discovery, browsing)}
					</Text>
					{hasHeading ? (
						<Text wrap="truncate-end" color={colors.muted}>
							{heading}
						</Text>
					) : null}
					{services.length === 0 ? (
						<Box height={listLines}>
							<Text wrap="truncate-end" color={colors.muted}>
								{` ${filter && allHosts.length > 0 ? 'no peer matches the filter' : emptyText(discovery)}`}
							</Text>
						</Box>
					) : (
						<Box flexDirection="column" height={listLines}>
							{lines.slice(start, end).map((line) =>
								line.service === undefined ? (
									<HostLine key={`host ${line.host.address}`} host={line.host} width={inner} />
								) : (
									<ServiceLine key={line.service.id} service={line.service} columns={columns} isCursor={isFocused && line.index === position} now={now} fill={fill} />
								),
							)}
						</Box>
					)}
					{probe !== undefined && probeLines > 0 ? (
						<Box flexDirection="column">
							<Text wrap="truncate-end" color={probe.error ? colors.error : colors.muted}>
								{probeHead(probe)}
							</Text>
							{responders.slice(0, probeLines - 1).map((row) => (
								<ResponderLine key={`${row.from.address}:${row.from.port}`} row={row} sourceWidth={responderWidth} width={inner} />
							))}
						</Box>
					) : null}
					{historyLines > 0 ? (
						<Box flexDirection="column">
							{history
								.slice(-historyLines)
								.reverse()
								.map((row, index) => (
									<HistoryLine key={`${row.at} ${index}`} row={row} now={now} width={inner} />
								))}
						</Box>
					) : null}
					{isForeignCompact ? (
						<ForeignLine isCompact row={shownForeign[0]!} sourceWidth={sourceWidth} width={inner} />
					) : foreignLines > 0 ? (
						<Box flexDirection="column">
							<Text wrap="truncate-end" color={colors.muted}>
								{` foreign senders (not netdash): ${foreign.length}${foreign.length > shownForeign.length ? `, newest ${shownForeign.length}` : ''}`}
							</Text>
							{shownForeign.map((row) => (
								<ForeignLine key={`${row.address}:${row.port}`} row={row} sourceWidth={sourceWidth} width={inner} />
							))}
						</Box>
					) : null}
				</Box>
			)}
		</PaneFrame>
	);
}
