import {Component, type ErrorInfo, type ReactNode} from 'react';
import {Text} from 'ink';
import {oneLine} from '../../core/index.js';
import {safeText} from '../format.js';

/** Props of {@link ErrorBoundary}. */
export type ErrorBoundaryProps = {
	readonly children?: ReactNode;
	/** Told once when a pane throws while rendering. */
	readonly onError?: (error: unknown) => void;
};

type ErrorBoundaryState = {readonly error: unknown};

/**
 * Keeps a rendering bug from painting Ink's stack-trace overview over the
 * screen: one line instead, and the owner decides what to do.
 */
export class ErrorBoundary extends Component<ErrorBoundaryProps, ErrorBoundaryState> {
	override state: ErrorBoundaryState = {error: undefined};

	static getDerivedStateFromError(error: unknown): ErrorBoundaryState {
		return {error: error ?? new Error('unknown error')};
	}

	override componentDidCatch(error: unknown, _info: ErrorInfo): void {
		this.props.onError?.(error);
	}

	override render(): ReactNode {
		if (this.state.error !== undefined) {
			return <Text color="red">{`netdash: the display failed: ${safeText(oneLine(this.state.error), 200)}`}</Text>;
		}

		return this.props.children;
	}
}
