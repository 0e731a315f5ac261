import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { GroupBase } from "../../contract/groups.ts";
import type { Message } from "../../contract/messages.ts";
import { useTestApp, type TestUser } from "../helpers/app.ts";
import { startAssetsApp, testImage, uploadFile } from "../helpers/assets.ts";
import { collect, waitForEvent } from "../helpers/socket.ts";

describe("group pictures", { timeout: 60_000 }, () => {
	const t = useTestApp(["owner", "admin", "member", "out"], startAssetsApp);
	const { api } = t;
	let owner: TestUser, admin: TestUser, member: TestUser, outsider: TestUser;
	let groupId: string;

	before(async () => {
		[owner, admin, member, outsider] = t.users;
		const g = await api(owner).post("/api/groups", { name: "Pictured", memberIds: [admin.user.id, member.user.id] });
		groupId = g.body.id;
		assert.equal(g.body.avatarUrl, null, "a new group has no picture");
		assert.equal((await api(owner).put(`/api/groups/${groupId}/members/${admin.user.id}`, { role: "admin" })).status, 200);
	});
	const image = async (user: TestUser) => {
		const up = await uploadFile(t.app, user.accessToken, await testImage("png", 300, 200), { name: "group.png", type: "image/png" });
		assert.equal(up.status, 201, JSON.stringify(up.body));
		return up.body.id as string;
	};
	const lines = async () =>
		((await api(member).get(`/api/messages/${groupId}?limit=100`)).body.items as Message[]).filter(m => m.system?.type === "group.avatar");

	test("an owner sets it: a signed URL that does not expire, in every view of the group, announced and noted in the timeline", async () => {
		const socket = await t.connect(member);
		const assetId = await image(owner);
		const updated = waitForEvent<GroupBase>(socket, "group.updated", g => g.id === groupId && g.avatarUrl != null);
		const res = await api(owner).put(`/api/groups/${groupId}`, { avatarAssetId: assetId });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.match(res.body.avatarUrl, new RegExp(`^/api/assets/${assetId}/thumb\\?exp=0&sig=`));
		assert.equal(res.body.name, "Pictured", "the name stays");
		assert.equal((await updated).avatarUrl, res.body.avatarUrl);

		const picture = await fetch(t.app.url + res.body.avatarUrl);
		assert.equal(picture.status, 200);
		assert.match(picture.headers.get("content-type") ?? "", /^image\//);
		await picture.arrayBuffer();

		assert.equal((await api(member).get(`/api/groups/${groupId}`)).body.avatarUrl, res.body.avatarUrl);
		const listed = (await api(member).get("/api/groups")).body.items.find((g: { id: string }) => g.id === groupId);
		assert.equal(listed.avatarUrl, res.body.avatarUrl);
		const [line] = await lines();
		assert.deepEqual([line.senderId, line.system], [owner.user.id, { type: "group.avatar", avatarUrl: res.body.avatarUrl }]);

		const again = collect<GroupBase>(socket, "group.updated");
		assert.equal((await api(owner).put(`/api/groups/${groupId}`, { avatarAssetId: assetId })).status, 200);
		assert.equal((await lines()).length, 1, "the same picture again changes nothing");
		assert.deepEqual(again, []);
	});

	test("an admin may set one they uploaded and clear it; a rename and a picture in one call are two lines", async () => {
		const assetId = await image(admin);
		const res = await api(admin).put(`/api/groups/${groupId}`, { avatarAssetId: assetId, name: "Renamed" });
		assert.equal(res.status, 200, JSON.stringify(res.body));
		assert.equal(res.body.name, "Renamed");
		assert.match(res.body.avatarUrl, new RegExp(`/api/assets/${assetId}/thumb`));
		const history = (await api(member).get(`/api/messages/${groupId}?limit=2`)).body.items as Message[];
		assert.deepEqual(
			history.map(m => m.system?.type),
			["group.renamed", "group.avatar"]
		);

		const cleared = await api(admin).put(`/api/groups/${groupId}`, { avatarAssetId: null });
		assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
		assert.equal(cleared.body.avatarUrl, null);
		assert.deepEqual((await lines()).at(-1)!.system, { type: "group.avatar", avatarUrl: null });
	});

	test("members 403, outsiders 404, someone else's upload or a non-image 422, direct conversations 403; nothing changes", async () => {
		const before = (await api(owner).get(`/api/groups/${groupId}`)).body;
		const mine = await image(member);
		assert.equal((await api(member).put(`/api/groups/${groupId}`, { avatarAssetId: mine })).status, 403);
		assert.equal((await api(outsider).put(`/api/groups/${groupId}`, { avatarAssetId: await image(outsider) })).status, 404);

		const ownersImage = await image(owner);
		const pdf = await uploadFile(t.app, owner.accessToken, Buffer.from("%PDF-1.4\n%âãÏÓ\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), {
			name: "a.pdf",
			type: "application/pdf"
		});
		assert.equal(pdf.status, 201, JSON.stringify(pdf.body));
		for (const [user, body] of [
			[admin, { avatarAssetId: ownersImage }],
			[owner, { avatarAssetId: pdf.body.id }],
			[owner, { avatarAssetId: "b".repeat(24) }],
			[owner, { avatarAssetId: "not-an-id" }],
			[owner, {}]
		] as const) {
			const res = await api(user).put(`/api/groups/${groupId}`, body);
			assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.status} ${JSON.stringify(res.body)}`);
		}
		const dm = (await api(owner).post("/api/groups", { type: "direct", memberIds: [member.user.id] })).body;
		assert.equal(dm.avatarUrl, null);
		assert.equal((await api(owner).put(`/api/groups/${dm.id}`, { avatarAssetId: ownersImage })).status, 403);

		assert.deepEqual((await api(owner).get(`/api/groups/${groupId}`)).body, before);
	});
});
