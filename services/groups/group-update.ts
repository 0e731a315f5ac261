import type { SystemLine } from "../../contract/messages.ts";
import { avatarUrlOf } from "../../lib/avatars.ts";
import type { GroupDoc } from "./documents.ts";

export interface GroupUpdateRequest {
	name?: string;
	/** An image asset (already checked to be the caller's), null to clear the picture, undefined to leave it. */
	avatarAssetId?: string | null;
}

/**
 * What a rename and/or a new picture change in the group, and the system lines that tell its timeline.
 * Asking for what is already there changes nothing (no event, no line).
 */
export function groupUpdate(
	group: Pick<GroupDoc, "name" | "avatarAssetId">,
	request: GroupUpdateRequest,
	secret: string
): { set: Partial<Pick<GroupDoc, "name" | "avatarAssetId" | "avatarUrl">>; lines: SystemLine[] } {
	const set: Partial<Pick<GroupDoc, "name" | "avatarAssetId" | "avatarUrl">> = {};
	const lines: SystemLine[] = [];
	if (request.name !== undefined && request.name !== group.name) {
		set.name = request.name;
		lines.push({ type: "group.renamed", name: request.name, previousName: group.name });
	}
	if (request.avatarAssetId !== undefined && request.avatarAssetId !== (group.avatarAssetId ?? null)) {
		set.avatarAssetId = request.avatarAssetId;
		set.avatarUrl = request.avatarAssetId ? avatarUrlOf(secret, request.avatarAssetId) : null;
		lines.push({ type: "group.avatar", avatarUrl: set.avatarUrl });
	}
	return { set, lines };
}
