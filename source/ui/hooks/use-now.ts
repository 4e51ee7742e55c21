import {useEffect, useState} from 'react';
import {useStore} from '../store-context.js';

/**
 * The time now, as the store counts it (a replay's recorded time), renewed
 * every `intervalMs` while `isActive`: for ages ("seen 3 s ago") that must
 * move although no event arrives. Inactive, it keeps no timer.
 */
export function useNow(intervalMs: number, isActive: boolean): number {
	const {now: clock} = useStore();
	const [now, setNow] = useState(clock);
	useEffect(() => {
		if (!isActive) {
			return;
		}

		setNow(clock());
		const timer = setInterval(() => {
			setNow(clock());
		}, intervalMs);
		return () => {
			clearInterval(timer);
		};
	}, [intervalMs, isActive, clock]);
	return now;
}
