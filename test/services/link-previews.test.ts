import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import type { Message, SyncResult } from "../../contract/messages.ts";
import type { FetchRefusal } from "../../services/link-previews/guarded-fetch.ts";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { closeAll, connectSocket, emitWithAck, socketUrl, waitFor, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

/** Pages served on loopback: only LINK_PREVIEW_ALLOW_HOSTS lets the fetcher reach them. */
interface PageServer {
	server: Server;
	port: number;
	hits: string[];
}

const page = (title: string, image?: string) =>
	`<!doctype html><html><head><title>ignored</title><meta property="og:title" content="${title}"><meta property="og:description" content="About ${title}">` +
	`<meta property="og:site_name" content="Loopback">${image ? `<meta property="og:image" content="${image}">` : ""}</head><body>body</body></html>`;

async function startPages(png: Buffer, otherPort: () => number): Promise<PageServer> {
	const hits: string[] = [];
	const server = createServer((req: IncomingMessage, res: ServerResponse) => {
		const path = req.url ?? "/";
		hits.push(path);
		const html = (body: string) => res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(body);
		const redirect = (to: string) => res.writeHead(302, { location: to }).end();
		const chain = /^\/r\/(\d+)$/.exec(path);
		if (path === "/page") return html(page("Loopback page", "/img.png"));
		if (path === "/other") return html(page("Other page"));
		if (path === "/no-image") return html(page("Fake image", "/fake.png"));
		if (path === "/img.png") return res.writeHead(200, { "content-type": "image/png" }).end(png);
		if (path === "/fake.png") return res.writeHead(200, { "content-type": "image/png" }).end("<html>not an image</html>");
		if (chain) return Number(chain[1]) === 0 ? html(page(`Chain end`)) : redirect(`/r/${Number(chain[1]) - 1}`);
		if (path === "/to-private") return redirect(`http://127.0.0.1:${otherPort()}/page`);
		if (path === "/to-localhost") return redirect(`http://localhost:${(server.address() as AddressInfo).port}/page`);
		if (path === "/to-metadata") return redirect("http://169.254.169.254/latest/meta-data/");
		if (path === "/big") {
			res.writeHead(200, { "content-type": "text/html" });
			res.write("<html><head><title>Big</title>");
			for (let i = 0; i < 700; i++) res.write("<!--" + "x".repeat(1020) + "-->");
			return res.end("</head></html>");
		}
		if (path === "/json") return res.writeHead(200, { "content-type": "application/json" }).end('{"title":"json"}');
		if (path === "/slow") {
			res.writeHead(200, { "content-type": "text/html" });
			res.write("<html><head>");
			const timer = setTimeout(() => res.end(page("Too late")), 8000);
			res.on("close", () => clearTimeout(timer));
			return;
		}
		res.writeHead(404).end();
	});
	await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
	return { server, port: (server.address() as AddressInfo).port, hits };
}

type PreviewService = {
	queue: { drained(): Promise<void>; size: number };
	deps: { onRefused?: (link: string, err: Error & { reason?: FetchRefusal }) => void };
};

/** The refusals of the app's fetcher, by link, and a wait for its queue to be done. */
function observe(app: TestApp) {
	const service = app.broker.getLocalService("link-previews") as unknown as PreviewService;
	const refusals = new Map<string, FetchRefusal | string>();
	const original = service.deps.onRefused;
	service.deps.onRefused = (link, err) => {
		refusals.set(link, err.reason ?? err.message);
		original?.(link, err);
	};
	return {
		refusals,
		async settled() {
			await waitFor(() => service.queue.size === 0, "preview queue empty", 15_000);
			await service.queue.drained();
		}
	};
}

describe("link previews", () => {
	let pages: PageServer;
	let elsewhere: PageServer;
	let app: TestApp;
	let alice: TestUser;
	let bob: TestUser;
	let fetcher: ReturnType<typeof observe>;
	const sockets: ClientSocket[] = [];

	before(async () => {
		const png = await sharp({ create: { width: 120, height: 80, channels: 3, background: "#3366cc" } })
			.png()
			.toBuffer();
		elsewhere = await startPages(png, () => 0);
		pages = await startPages(png, () => elsewhere.port);
		app = await startTestApp({ linkPreviews: { enabled: true, allowHosts: [`127.0.0.1:${pages.port}`] } });
		fetcher = observe(app);
		[alice, bob] = await Promise.all([registerUser(app, "alice"), registerUser(app, "bob")]);
	});
	after(async () => {
		closeAll(...sockets);
		await app.stop();
		pages.server.close();
		elsewhere.server.close();
	});

	const link = (path: string) => `http://127.0.0.1:${pages.port}${path}`;
	const group = async () => {
		const res = await client(app, alice.accessToken).post("/api/groups", { name: "Links", memberIds: [bob.user.id] });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		return res.body.id as string;
	};
	const send = async (groupId: string, content: string) => {
		const res = await client(app, alice.accessToken).post("/api/messages", { groupId, content });
		assert.equal(res.status, 201, JSON.stringify(res.body));
		return res.body as Message;
	};
	const stored = async (user: TestUser, message: Message): Promise<Message> => {
		const res = await client(app, user.accessToken).get(`/api/messages/${message.groupId}?after=${message.seq - 1}&limit=1`);
		return res.body.items[0];
	};
	const connect = async (user: TestUser) => {
		const socket = await connectSocket(socketUrl(app.broker), user.accessToken);
		sockets.push(socket);
		return socket;
	};

	test("a loopback page gives a preview that reaches members as chat.message.updated and through sync; its image is ours", async () => {
		const groupId = await group();
		const bobSocket = await connect(bob);
		const before = (await emitWithAck(bobSocket, "chat.sync", { cursors: { [groupId]: 0 } })) as unknown as SyncResult;
		const updated = waitForEvent<Message>(bobSocket, "chat.message.updated", m => m.preview != null);
		const sent = await send(groupId, `read this: **${link("/page")}**`);
		assert.equal(sent.preview, null, "the send is answered before any fetch");

		const heard = await updated;
		assert.equal(heard.id, sent.id);
		assert.ok(heard.version > sent.version);
		assert.equal(heard.content, sent.content);
		assert.deepEqual(
			{ ...heard.preview, image: null },
			{ url: link("/page"), title: "Loopback page", description: "About Loopback page", siteName: "Loopback", image: null }
		);
		assert.match(heard.preview!.image!, /^\/api\/assets\/[a-f0-9]{24}\/(thumb|original)\?exp=\d+&sig=/);
		const image = await fetch(app.url + heard.preview!.image);
		assert.equal(image.status, 200);
		assert.match(image.headers.get("content-type") ?? "", /^image\//);

		assert.deepEqual((await stored(alice, sent)).preview, heard.preview);
		const synced = (await emitWithAck(bobSocket, "chat.sync", { cursors: { [groupId]: sent.seq }, since: before.syncToken })) as unknown as SyncResult;
		const changed = synced.items[0].changed ?? [];
		assert.deepEqual(
			changed.map(m => [m.id, m.preview?.title]),
			[[sent.id, "Loopback page"]]
		);
	});

	test("refusals: a redirect to a private address, to localhost or to metadata; more than 3 redirects; oversize; non-HTML; slow", async () => {
		const groupId = await group();
		const cases: [string, FetchRefusal][] = [
			["/to-private", "address"],
			["/to-localhost", "address"],
			["/to-metadata", "address"],
			["/r/4", "redirects"],
			["/json", "type"],
			["/slow", "timeout"]
		];
		const messages = await Promise.all(cases.map(([path]) => send(groupId, `try ${link(path)}`)));
		const chained = await send(groupId, link("/r/3"));
		await fetcher.settled();
		for (const [path, reason] of cases) assert.equal(fetcher.refusals.get(link(path)), reason, path);
		assert.deepEqual(elsewhere.hits, [], "nothing reached the other loopback port");
		for (const message of messages) assert.equal((await stored(bob, message)).preview, null);
		assert.equal((await stored(bob, chained)).preview?.title, "Chain end", "three redirects are fine");
	});

	test("a page longer than 512 kB is read that far: its head gives the preview", async () => {
		const groupId = await group();
		const sent = await send(groupId, link("/big"));
		await fetcher.settled();
		assert.equal((await stored(bob, sent)).preview?.title, "Big");
	});

	test("an image that is not one is dropped; the preview keeps its text", async () => {
		const groupId = await group();
		const sent = await send(groupId, link("/no-image"));
		await fetcher.settled();
		const preview = (await stored(bob, sent)).preview;
		assert.equal(preview?.title, "Fake image");
		assert.equal(preview?.image, null);
	});

	test("an edit that changes the link replaces the preview; one that removes it drops it; one that keeps it keeps it", async () => {
		const groupId = await group();
		const sent = await send(groupId, link("/page"));
		await fetcher.settled();
		assert.equal((await stored(bob, sent)).preview?.title, "Loopback page");
		const edit = (content: string) => client(app, alice.accessToken).request("PATCH", `/api/messages/${sent.id}`, { content });

		const kept = await edit(`${link("/page")} (still)`);
		assert.equal(kept.body.preview?.title, "Loopback page");

		const bobSocket = await connect(bob);
		const replaced = waitForEvent<Message>(bobSocket, "chat.message.updated", m => m.id === sent.id && m.preview?.title === "Other page");
		const moved = await edit(`now ${link("/other")}`);
		assert.equal(moved.status, 200);
		assert.equal(moved.body.preview, null, "the old preview goes in the edit itself");
		assert.equal((await replaced).preview?.url, link("/other"));

		const gone = await edit("no link any more");
		assert.equal(gone.body.preview, null);
		await fetcher.settled();
		assert.equal((await stored(bob, sent)).preview, null);
	});

	test("the author removes the preview (others 403); it does not come back for the same link", async () => {
		const groupId = await group();
		const sent = await send(groupId, link("/other"));
		await fetcher.settled();
		assert.equal((await stored(bob, sent)).preview?.title, "Other page");

		const refused = await client(app, bob.accessToken).del(`/api/messages/${sent.id}/preview`);
		assert.equal(refused.status, 403, JSON.stringify(refused.body));
		const stranger = await registerUser(app, "carol");
		assert.equal((await client(app, stranger.accessToken).del(`/api/messages/${sent.id}/preview`)).status, 404);

		const bobSocket = await connect(bob);
		const heard = waitForEvent<Message>(bobSocket, "chat.message.updated", m => m.id === sent.id);
		const removed = await client(app, alice.accessToken).del(`/api/messages/${sent.id}/preview`);
		assert.equal(removed.status, 200, JSON.stringify(removed.body));
		assert.equal(removed.body.preview, null);
		assert.ok(removed.body.version > sent.version);
		assert.equal((await heard).preview, null);

		const hitsBefore = pages.hits.length;
		const edited = await client(app, alice.accessToken).request("PATCH", `/api/messages/${sent.id}`, { content: `${link("/other")} edited` });
		assert.equal(edited.status, 200);
		await fetcher.settled();
		assert.equal((await stored(bob, sent)).preview, null);
		assert.equal(pages.hits.length, hitsBefore, "the removed link is not fetched again");
	});
});

describe("link previews: the guard without the allow setting, and LINK_PREVIEWS=off", () => {
	let pages: PageServer;
	before(async () => {
		pages = await startPages(Buffer.alloc(0), () => 0);
	});
	after(() => pages.server.close());

	const sendWith = async (app: TestApp, content: string) => {
		const alice = await registerUser(app, "alice");
		const groupId = (await client(app, alice.accessToken).post("/api/groups", { name: "G", memberIds: [] })).body.id;
		const sent = await client(app, alice.accessToken).post("/api/messages", { groupId, content });
		assert.equal(sent.status, 201, JSON.stringify(sent.body));
		return { alice, message: sent.body as Message };
	};

	test("loopback and private addresses are refused by default", async () => {
		const app = await startTestApp();
		try {
			const fetcher = observe(app);
			const links = [
				`http://127.0.0.1:${pages.port}/page`,
				`http://localhost:${pages.port}/page`,
				"http://[::1]/",
				"http://10.1.2.3/",
				"http://169.254.169.254/latest",
				"http://[::ffff:127.0.0.1]/"
			];
			for (const url of links) await sendWith(app, url);
			await fetcher.settled();
			for (const url of links) assert.equal(fetcher.refusals.get(new URL(url).href), "address", url);
			const credentials = "http://user:pass@example.com/";
			await sendWith(app, credentials);
			await fetcher.settled();
			assert.equal(fetcher.refusals.get(credentials), "credentials");
			assert.deepEqual(pages.hits, []);
		} finally {
			await app.stop();
		}
	});

	test("LINK_PREVIEWS=off: no service, nothing fetched", async () => {
		const app = await startTestApp({ linkPreviews: { enabled: false, allowHosts: [`127.0.0.1:${pages.port}`] } });
		try {
			assert.equal(app.broker.getLocalService("link-previews"), undefined);
			const { alice, message } = await sendWith(app, `http://127.0.0.1:${pages.port}/page`);
			await new Promise(resolve => setTimeout(resolve, 300));
			const [again] = (await client(app, alice.accessToken).get(`/api/messages/${message.groupId}?after=0&limit=1`)).body.items;
			assert.equal(again.preview, null);
			assert.deepEqual(pages.hits, []);
		} finally {
			await app.stop();
		}
	});
});
