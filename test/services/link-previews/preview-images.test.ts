import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import sharp from "sharp";
import type { Message } from "../../../contract/messages.ts";
import { client, registerUser, type TestUser } from "../../helpers/app.ts";
import { eventually, startAssetsApp, type AssetsTestApp } from "../../helpers/assets.ts";

/**
 * A link preview's image is charged to the message's author and removed once the message no longer shows it:
 * an edit to another link, its author removing the preview, the message deleted.
 */

const TIMEOUT = { timeout: 60_000 };
let app: AssetsTestApp;
let server: Server;
let port = 0;
let alice: TestUser;
let png: Buffer;

before(async () => {
	png = await sharp({ create: { width: 400, height: 300, channels: 3, background: "#3366cc" } })
		.png({ compressionLevel: 0 })
		.toBuffer();
	server = createServer((req, res) => {
		if (req.url!.startsWith("/img")) return res.writeHead(200, { "content-type": "image/png" }).end(png);
		const html = `<html><head><meta property="og:title" content="T ${req.url}"><meta property="og:image" content="/img${req.url}"></head></html>`;
		res.writeHead(200, { "content-type": "text/html" }).end(html);
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	port = (server.address() as AddressInfo).port;
	// Room for a few preview images, not for many.
	app = await startAssetsApp({ quotaBytes: png.length * 3 + 1000 }, { linkPreviews: { enabled: true, allowHosts: [`127.0.0.1:${port}`] } } as never);
	alice = await registerUser(app, "alice");
});
after(async () => {
	await app.stop();
	server.close();
});

interface AssetRecord {
	_id: string;
	ownerId: string;
	chargedTo?: string;
	size: number;
}
const assets = () => (app.broker.getLocalService("assets") as unknown as { db: { assets: { find(q: object): Promise<AssetRecord[]> } } }).db.assets;
const previewService = () => app.broker.getLocalService("link-previews") as unknown as { queue: { size: number; drained(): Promise<void> } };
async function settled() {
	await eventually(() => previewService().queue.size === 0, 15_000, "preview queue empty");
	await previewService().queue.drained();
}

const link = (path: string) => `http://127.0.0.1:${port}${path}`;

async function setup() {
	const api = client(app, alice.accessToken);
	const group = await api.post("/api/groups", { name: "L", memberIds: [] });
	assert.equal(group.status, 201, JSON.stringify(group.body));
	const latest = async (sent: Message): Promise<Message> => (await api.get(`/api/messages/${group.body.id}?after=${sent.seq - 1}&limit=1`)).body.items[0];
	const send = async (content: string) => {
		const sent = await api.post("/api/messages", { groupId: group.body.id, content });
		assert.equal(sent.status, 201, JSON.stringify(sent.body));
		await settled();
		return sent.body as Message;
	};
	return { api, latest, send };
}

const status = async (url: string) => (await fetch(app.url + url)).status;
const previewImages = async () => (await assets().find({ ownerId: "server:link-previews" })).map(doc => doc._id);

test("an edit to another link removes the image it replaced; deleting the message removes the last", TIMEOUT, async () => {
	const { api, latest, send } = await setup();
	const sent = await send(link("/p0"));
	const first = (await latest(sent)).preview?.image;
	assert.ok(first, "the preview has an image");
	assert.equal(await status(first), 200);
	const images: string[] = [];
	for (let i = 1; i <= 3; i++) {
		const edited = await api.request("PATCH", `/api/messages/${sent.id}`, { content: link(`/p${i}`) });
		assert.equal(edited.status, 200, JSON.stringify(edited.body));
		await settled();
		const image = (await latest(sent)).preview?.image;
		assert.ok(image, `edit ${i} has a preview image`);
		images.push(image);
	}
	await eventually(async () => (await status(first)) === 404, 5000, "the first image is gone");
	assert.equal(await status(images[0]), 404);
	assert.equal(await status(images[2]), 200);
	await eventually(async () => (await previewImages()).length === 1, 5000, "one preview image left");

	const deleted = await api.request("DELETE", `/api/messages/${sent.id}`);
	assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
	await eventually(async () => (await status(images[2])) === 404, 5000, "the deleted message's image is gone");
	assert.deepEqual(await previewImages(), []);
});

test("the author removing the preview removes its image", TIMEOUT, async () => {
	const { api, latest, send } = await setup();
	const sent = await send(link("/removed"));
	const image = (await latest(sent)).preview?.image;
	assert.ok(image);
	const removed = await api.request("DELETE", `/api/messages/${sent.id}/preview`);
	assert.equal(removed.status, 200, JSON.stringify(removed.body));
	await eventually(async () => (await status(image)) === 404, 5000, "the removed preview's image is gone");
});

test("preview images count against the author's quota: past it, previews come without an image", TIMEOUT, async () => {
	const { latest, send } = await setup();
	const kept: Message[] = [];
	for (let i = 0; i < 5; i++) kept.push(await send(link(`/q${i}`)));
	const charged = await assets().find({ chargedTo: alice.user.id });
	assert.ok(charged.length >= 1 && charged.length <= 3, `charged ${charged.length}`);
	assert.ok(charged.reduce((sum, doc) => sum + doc.size, 0) <= png.length * 3 + 1000);
	const last = await latest(kept[4]);
	assert.ok(last.preview, "the preview itself is still made");
	assert.equal(last.preview.image, null);
});
