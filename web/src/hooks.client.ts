import type { HandleClientError } from '@sveltejs/kit/hooks';
import { isChunkLoadFailure, reloadWhenOnline } from '#lib/offline/app-code.ts';

// The error page shows meanwhile; once the network is back a reload brings the page the user went to.
export const handleError: HandleClientError = ({ error }) => {
	if (isChunkLoadFailure(error)) reloadWhenOnline();
};
