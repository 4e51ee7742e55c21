import {useEffect, useState} from 'react';

/**
 * The time now, renewed every `intervalMs` while `isActive`: for ages
 * ("seen 3 s ago") that must move although no event arrives. Inactive, it
 * keeps no timer.
 */
export function useNow(intervalMs: number, isActive: boolean): number {
	const [now, setNow] = useState(() => Date.now());
	useEffect(() => {
		if (!isActive) {
			return;
		}

		setNow(Date.now());
		const timer = setInterval(() => {
			setNow(Date.now());
		}, intervalMs);
		return () => {
			clearInterval(timer);
		};
	}, [intervalMs, isActive]);
	return now;
}
