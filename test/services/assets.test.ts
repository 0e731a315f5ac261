import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { signedAssetUrl } from "../../lib/asset-urls.ts";
import { client, registerUser, type TestUser } from "../helpers/app.ts";
import { filesUnder, startAssetsApp, testImage, uploadFile, type AssetsTestApp } from "../helpers/assets.ts";
import { closeAll, connectSocket, emitWithAck, socketUrl, waitForEvent } from "../helpers/socket.ts";

const MAX = 256 * 1024;
const TIMEOUT = { timeout: 30_000 };

describe("assets", () => {
	let app: AssetsTestApp;
	let alice: TestUser;
	let bob: TestUser;
	let carol: TestUser;
	let groupId: string;

	before(async () => {
		app = await startAssetsApp({ maxBytes: MAX });
		[alice, bob, carol] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob"), registerUser(app, "carol")]);
		const res = await client(app, alice.accessToken).post("/api/groups", { name: "Files", memberIds: [bob.user.id] });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		groupId = res.body.id;
	});
	after(() => app.stop());

	const download = (url: string, headers: Record<string, string> = {}) => fetch(app.url + url, { headers });
	const pdf = (length: number) => Buffer.concat([Buffer.from("%PDF-1.7\n"), randomBytes(length - 9)]);

	test("upload and download round trip the exact bytes with safe headers", TIMEOUT, async () => {
		const bytes = pdf(100_000);
		const up = await uploadFile(app, alice.accessToken, bytes, { name: "../../etc/Report \u202eQ3.pdf", type: "application/pdf" });
		assert.equal(up.status, 201, JSON.stringify(up.body));
		assert.match(up.body.id, /^[a-f0-9]{24}$/);
		assert.equal(up.body.size, bytes.length);
		assert.equal(up.body.mimeType, "application/pdf");
		assert.equal(up.body.name, "Report _Q3.pdf");
		assert.equal(up.body.thumbnailUrl, null);
		assert.match(up.body.url, new RegExp(`^/api/assets/${up.body.id}/original\\?exp=\\d+&sig=`));

		// Stored under our own id, whatever the client called it.
		assert.ok(filesUnder(app.uploadsDir).includes(`files/${up.body.id.slice(0, 2)}/${up.body.id}.original`));

		const res = await download(up.body.url);
		assert.equal(res.status, 200);
		assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
		assert.equal(res.headers.get("content-type"), "application/pdf");
		assert.equal(res.headers.get("content-length"), String(bytes.length));
		assert.equal(res.headers.get("x-content-type-options"), "nosniff");
		assert.equal(res.headers.get("accept-ranges"), "bytes");
		assert.match(res.headers.get("content-disposition")!, /^attachment; filename="Report _Q3.pdf"; filename\*=UTF-8''Report%20_Q3.pdf$/);
		assert.match(res.headers.get("cache-control")!, /^private, max-age=\d+, immutable$/);
		const etag = res.headers.get("etag")!;
		assert.ok(etag);

		const again = await download(up.body.url, { "if-none-match": etag });
		assert.equal(again.status, 304);
		const head = await fetch(app.url + up.body.url, { method: "HEAD" });
		assert.equal(head.status, 200);
		for (const name of ["content-type", "content-length", "content-disposition", "etag", "x-content-type-options"])
			assert.equal(head.headers.get(name), res.headers.get(name), name);
		assert.equal((await head.arrayBuffer()).byteLength, 0);

		// The owner sees the asset; nobody else learns it exists.
		const own = await client(app, alice.accessToken).get(`/api/assets/${up.body.id}`);
		assert.equal(own.status, 200);
		assert.equal(own.body.size, bytes.length);
		assert.equal((await client(app, bob.accessToken).get(`/api/assets/${up.body.id}`)).status, 404);
	});

	test("Range requests answer 206 with the right slice, 416 when unsatisfiable", TIMEOUT, async () => {
		const bytes = pdf(50_000);
		const up = await uploadFile(app, alice.accessToken, bytes, { name: "r.pdf", type: "application/pdf" });
		assert.equal(up.status, 201);

		const middle = await download(up.body.url, { range: "bytes=100-1099" });
		assert.equal(middle.status, 206);
		assert.equal(middle.headers.get("content-range"), `bytes 100-1099/${bytes.length}`);
		assert.equal(middle.headers.get("content-length"), "1000");
		assert.deepEqual(Buffer.from(await middle.arrayBuffer()), bytes.subarray(100, 1100));

		const tail = await download(up.body.url, { range: "bytes=-500" });
		assert.equal(tail.status, 206);
		assert.deepEqual(Buffer.from(await tail.arrayBuffer()), bytes.subarray(bytes.length - 500));

		const open = await download(up.body.url, { range: "bytes=49000-" });
		assert.equal(open.status, 206);
		assert.deepEqual(Buffer.from(await open.arrayBuffer()), bytes.subarray(49_000));

		const beyond = await download(up.body.url, { range: `bytes=${bytes.length}-` });
		assert.equal(beyond.status, 416);
		assert.equal(beyond.headers.get("content-range"), `bytes */${bytes.length}`);
		await beyond.arrayBuffer();

		// A stale If-Range gets the whole file.
		const stale = await download(up.body.url, { range: "bytes=0-9", "if-range": '"other"' });
		assert.equal(stale.status, 200);
		assert.equal((await stale.arrayBuffer()).byteLength, bytes.length);
	});

	test("over the size limit: 413 and nothing left on disk", TIMEOUT, async () => {
		const before = filesUnder(app.uploadsDir);
		const exactly = await uploadFile(app, alice.accessToken, Buffer.alloc(MAX, "a"), { name: "max.txt", type: "text/plain" });
		assert.equal(exactly.status, 201, JSON.stringify(exactly.body));
		const afterMax = filesUnder(app.uploadsDir);

		const oneMore = await uploadFile(app, alice.accessToken, Buffer.alloc(MAX + 1, "a"), { name: "big.txt", type: "text/plain" });
		assert.equal(oneMore.status, 413);
		assert.match(oneMore.body.message, /larger than the limit/);
		assert.deepEqual(filesUnder(app.uploadsDir), afterMax);

		const huge = await uploadFile(app, alice.accessToken, Buffer.alloc(MAX * 8, "a"), { name: "huge.txt", type: "text/plain" });
		assert.equal(huge.status, 413);
		assert.deepEqual(filesUnder(app.uploadsDir), afterMax);
		assert.equal(afterMax.length, before.length + 1);
	});

	test("bytes that do not match the claimed type, or no allowed type at all, are refused with 415", TIMEOUT, async () => {
		const before = filesUnder(app.uploadsDir);
		const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(2000)]);
		const exe = Buffer.concat([Buffer.from("MZ"), Buffer.alloc(58), randomBytes(2000)]);
		const cases = [
			{ bytes: elf, type: "image/png", name: "cat.png" },
			{ bytes: elf, type: "application/octet-stream", name: "tool" },
			{ bytes: exe, type: "application/pdf", name: "invoice.pdf" },
			{ bytes: Buffer.concat([Buffer.from([0, 1, 2, 3]), randomBytes(4000)]), type: "image/png", name: "noise.png" },
			{ bytes: await testImage("jpeg", 40, 30), type: "image/png", name: "photo.png" },
			{ bytes: Buffer.from("just some text\n"), type: "image/gif", name: "text.gif" }
		];
		for (const c of cases) {
			const res = await uploadFile(app, alice.accessToken, c.bytes, c);
			assert.equal(res.status, 415, `${c.name}: ${JSON.stringify(res.body)}`);
		}
		assert.deepEqual(filesUnder(app.uploadsDir), before);
	});

	test("uploads need a session and the field 'file'", TIMEOUT, async () => {
		const anon = await uploadFile(app, undefined, Buffer.from("hello"), { name: "a.txt", type: "text/plain" });
		assert.equal(anon.status, 401);
		const wrongField = await uploadFile(app, alice.accessToken, Buffer.from("hello"), { name: "a.txt", type: "text/plain", field: "upload" });
		assert.equal(wrongField.status, 422);
		assert.equal(wrongField.body.data[0].field, "file");
		const empty = await uploadFile(app, alice.accessToken, Buffer.alloc(0), { name: "a.txt", type: "text/plain" });
		assert.equal(empty.status, 422);
		const badPurpose = await uploadFile(app, alice.accessToken, Buffer.from("hello"), { name: "a.txt", purpose: "banner" });
		assert.equal(badPurpose.status, 422);
		assert.equal(badPurpose.body.data[0].field, "purpose");
	});

	test("a bad, foreign or expired signature is 403; unknown assets are 404", TIMEOUT, async () => {
		const up = await uploadFile(app, alice.accessToken, Buffer.from("secret plans\n"), { name: "plans.txt", type: "text/plain" });
		assert.equal(up.status, 201);
		const other = await uploadFile(app, alice.accessToken, Buffer.from("other\n"), { name: "other.txt", type: "text/plain" });
		const id = up.body.id as string;
		const secret = app.config.jwt.secret;

		const ok = await download(up.body.url);
		assert.equal(ok.status, 200);
		assert.equal(ok.headers.get("content-type"), "text/plain; charset=utf-8");
		assert.equal(await ok.text(), "secret plans\n");

		const tampered = up.body.url.replace(/sig=./, (m: string) => (m.endsWith("A") ? "sig=B" : "sig=A"));
		const forged = `/api/assets/${id}/original?exp=0&sig=${"A".repeat(32)}`;
		const foreign = other.body.url.replace(other.body.id, id);
		const expired = signedAssetUrl(secret, id, "original", 60, Date.now() - 3 * 3600_000);
		const otherSecret = signedAssetUrl("not-the-secret", id, "original", 3600);
		for (const url of [tampered, forged, foreign, expired, otherSecret, `/api/assets/${id}/original`, `/api/assets/${id}/original?exp=abc&sig=x`]) {
			const res = await download(url);
			assert.equal(res.status, 403, url);
			await res.arrayBuffer();
		}
		const unknown = await download(signedAssetUrl(secret, "a".repeat(24), "original", 3600));
		assert.equal(unknown.status, 404);
		const noThumb = await download(signedAssetUrl(secret, id, "thumb", 3600));
		assert.equal(noThumb.status, 404);
	});

	test("thumbnails and dimensions for a PNG and a JPEG", TIMEOUT, async () => {
		for (const [format, width, height, thumbW, thumbH] of [
			["png", 800, 600, 320, 240],
			["jpeg", 300, 1000, 96, 320]
		] as const) {
			const bytes = await testImage(format, width, height);
			const up = await uploadFile(app, alice.accessToken, bytes, { name: `pic.${format}`, type: `image/${format}` });
			assert.equal(up.status, 201, JSON.stringify(up.body));
			assert.equal(up.body.mimeType, `image/${format}`);
			assert.equal(up.body.width, width);
			assert.equal(up.body.height, height);
			assert.ok(up.body.thumbnailUrl);

			const original = await download(up.body.url);
			assert.match(original.headers.get("content-disposition")!, /^inline;/);
			assert.deepEqual(Buffer.from(await original.arrayBuffer()), bytes);

			const thumb = await download(up.body.thumbnailUrl);
			assert.equal(thumb.status, 200);
			assert.equal(thumb.headers.get("content-type"), "image/webp");
			const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
			assert.equal(meta.format, "webp");
			assert.deepEqual([meta.width, meta.height], [thumbW, thumbH]);
		}
	});

	test("avatars: cropped square, URLs that do not expire, images only", TIMEOUT, async () => {
		const up = await uploadFile(app, bob.accessToken, await testImage("jpeg", 500, 300), { name: "me.jpg", type: "image/jpeg", purpose: "avatar" });
		assert.equal(up.status, 201, JSON.stringify(up.body));
		assert.equal(up.body.purpose, "avatar");
		assert.match(up.body.thumbnailUrl, /\?exp=0&/);
		const thumb = await download(up.body.thumbnailUrl);
		const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
		assert.deepEqual([meta.width, meta.height], [256, 256]);

		const profile = await client(app, bob.accessToken).put("/api/users/profile", { avatarAssetId: up.body.id });
		assert.equal(profile.status, 200, JSON.stringify(profile.body));
		const avatar = await download(profile.body.avatarUrl);
		assert.equal(avatar.status, 200);
		await avatar.arrayBuffer();

		const notImage = await uploadFile(app, bob.accessToken, Buffer.from("not a face\n"), { name: "me.txt", type: "text/plain", purpose: "avatar" });
		assert.equal(notImage.status, 415);
	});

	test("attachments reach members only, and deleting the message hides them", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const bytes = pdf(20_000);
		const up = await uploadFile(app, alice.accessToken, bytes, { name: "agenda.pdf", type: "application/pdf" });
		const image = await uploadFile(app, alice.accessToken, await testImage("png", 640, 480), { name: "board.png", type: "image/png" });
		assert.equal(up.status, 201);

		const sent = await a.post("/api/messages", { groupId, attachments: [{ assetId: up.body.id }, { assetId: image.body.id }] });
		assert.equal(sent.status, 201, JSON.stringify(sent.body));
		assert.equal(sent.body.content, "");
		const [pdfAttachment, imageAttachment] = sent.body.attachments;
		assert.deepEqual(
			{ ...pdfAttachment, url: undefined },
			{ id: up.body.id, name: "agenda.pdf", size: bytes.length, mimeType: "application/pdf", url: undefined, thumbnailUrl: null, width: null, height: null }
		);
		assert.equal(imageAttachment.width, 640);
		assert.equal(imageAttachment.height, 480);
		assert.ok(imageAttachment.thumbnailUrl);

		// Bob, a member, finds the URLs in the history and can download.
		const history = await client(app, bob.accessToken).get(`/api/messages/${groupId}`);
		const seen = history.body.items.find((m: { id: string }) => m.id === sent.body.id);
		const bobsUrl = seen.attachments[0].url as string;
		const got = await download(bobsUrl);
		assert.equal(got.status, 200);
		assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);

		// Carol is no member: no history, so no URL; the asset itself is not hers to look up.
		const c = client(app, carol.accessToken);
		assert.equal((await c.get(`/api/messages/${groupId}`)).status, 404);
		assert.equal((await c.get(`/api/assets/${up.body.id}`)).status, 404);
		const guessed = await download(`/api/assets/${up.body.id}/original?exp=0&sig=${"x".repeat(32)}`);
		assert.equal(guessed.status, 403);

		// Only your own uploads can be attached.
		const stolen = await c.post("/api/messages", {
			groupId: (await c.post("/api/groups", { name: "Mine", memberIds: [] })).body.id,
			attachments: [{ assetId: up.body.id }]
		});
		assert.equal(stolen.status, 422);

		const deleted = await a.del(`/api/messages/${sent.body.id}`);
		assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
		const gone = await download(bobsUrl);
		assert.equal(gone.status, 404);
		const goneThumb = await download(imageAttachment.thumbnailUrl);
		assert.equal(goneThumb.status, 404);
		assert.equal((await a.get(`/api/assets/${up.body.id}`)).status, 404);
	});

	test("a file serves one message, or pictures: deleting a message never breaks another message or a picture", TIMEOUT, async () => {
		const a = client(app, alice.accessToken);
		const other = (await a.post("/api/groups", { name: "Elsewhere", memberIds: [bob.user.id] })).body.id as string;
		const file = await uploadFile(app, alice.accessToken, pdf(5_000), { name: "once.pdf", type: "application/pdf" });
		const first = await a.post("/api/messages", { groupId, clientMessageId: "share-once-1", attachments: [{ assetId: file.body.id }] });
		assert.equal(first.status, 201, JSON.stringify(first.body));
		// A retry of the same send claims it again; another message may not.
		const retried = await a.post("/api/messages", { groupId, clientMessageId: "share-once-1", attachments: [{ assetId: file.body.id }] });
		assert.deepEqual([retried.status, retried.body.id], [200, first.body.id]);
		const again = await a.post("/api/messages", { groupId: other, attachments: [{ assetId: file.body.id }] });
		assert.deepEqual([again.status, again.body.type], [409, "ASSET_IN_USE"], JSON.stringify(again.body));
		assert.equal((await a.put("/api/users/profile", { avatarAssetId: file.body.id })).status, 422, "not an image");

		const face = await uploadFile(app, alice.accessToken, await testImage("png", 64, 64), { name: "face.png", type: "image/png", purpose: "avatar" });
		const profile = await a.put("/api/users/profile", { avatarAssetId: face.body.id });
		assert.equal(profile.status, 200, JSON.stringify(profile.body));
		assert.equal((await a.put(`/api/groups/${other}`, { avatarAssetId: face.body.id })).status, 200, "pictures share it");
		const attached = await a.post("/api/messages", { groupId, attachments: [{ assetId: face.body.id }] });
		assert.deepEqual([attached.status, attached.body.type], [409, "ASSET_IN_USE"]);

		// Two attachments, the second in use: the first is not taken by the refused send.
		const spare = await uploadFile(app, alice.accessToken, pdf(1_000), { name: "spare.pdf", type: "application/pdf" });
		const mixed = await a.post("/api/messages", { groupId, attachments: [{ assetId: spare.body.id }, { assetId: file.body.id }] });
		assert.equal(mixed.status, 409);
		assert.equal((await a.post("/api/messages", { groupId: other, attachments: [{ assetId: spare.body.id }] })).status, 201);

		assert.equal((await a.del(`/api/messages/${first.body.id}`)).status, 200);
		assert.equal((await download(profile.body.avatarUrl)).status, 200, "the picture survives");
	});

	test("a message with an attachment arrives over the socket", TIMEOUT, async () => {
		const url = socketUrl(app.broker);
		const [sa, sb] = await Promise.all([connectSocket(url, alice.accessToken), connectSocket(url, bob.accessToken)]);
		try {
			const up = await uploadFile(app, alice.accessToken, await testImage("png", 100, 50), { name: "tiny.png", type: "image/png" });
			const incoming = waitForEvent(sb, "chat.message.incoming", m => m.clientMessageId === "with-file");
			const ack = await emitWithAck(sa, "chat.message.send", {
				groupId,
				content: "look",
				clientMessageId: "with-file",
				attachments: [{ assetId: up.body.id }]
			});
			assert.equal(ack.ok, true, JSON.stringify(ack));
			const message = await incoming;
			assert.equal(message.attachments.length, 1);
			assert.equal(message.attachments[0].id, up.body.id);
			assert.equal(message.attachments[0].width, 100);
			const res = await download(message.attachments[0].thumbnailUrl);
			assert.equal(res.status, 200);
			await res.arrayBuffer();
		} finally {
			closeAll(sa, sb);
		}
	});
});
