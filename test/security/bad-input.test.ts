import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";
import { socketUrl } from "../helpers/socket.ts";

/** Everything the node logs while `run` runs (Moleculer's console logger writes through console.*). */
async function capturingLogs<T>(run: () => Promise<T>): Promise<{ result: T; logs: string }> {
	const lines: string[] = [];
	const originals = { log: console.log, info: console.info, warn: console.warn, error: console.error };
	for (const name of Object.keys(originals) as (keyof typeof originals)[])
		console[name] = (...args: unknown[]) =>
			lines.push(args.map(a => (a instanceof Error ? String(a.stack) : typeof a === "string" ? a : JSON.stringify(a))).join(" "));
	try {
		return { result: await run(), logs: lines.join("\n") };
	} finally {
		Object.assign(console, originals);
	}
}

const STACK_FRAME = /\n\s+at /;

/** A payload of ~100 kB of nested arrays: 50 000 levels. */
const DEEP = "[".repeat(50_000) + "]".repeat(50_000);

const isErrorBody = (body: any) =>
	body && typeof body.name === "string" && typeof body.message === "string" && typeof body.code === "number" && typeof body.type === "string";

/** One HTTP/1.1 request written by hand: its body is cut short of its Content-Length, then the connection half-closes. */
function truncatedRequest(app: TestApp, token: string): Promise<string> {
	const { port } = new URL(app.url);
	return new Promise((resolve, reject) => {
		const socket = connect(Number(port), "127.0.0.1", () => {
			socket.end(
				`POST /api/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"groupId":`
			);
		});
		let answer = "";
		socket.on("data", chunk => (answer += chunk));
		socket.on("close", () => resolve(answer));
		socket.on("error", reject);
		socket.setTimeout(5000, () => socket.destroy(new Error("no answer to a truncated request")));
	});
}

/**
 * A socket.io client speaking the wire protocol itself: socket.io-client cannot even encode a deeply nested
 * payload (it recurses), but an attacker's client can send one.
 */
async function rawSocketAcks(app: TestApp, token: string, packets: string[]): Promise<any[]> {
	const ws = new WebSocket(socketUrl(app.broker).replace(/^http/, "ws") + "/socket.io/?EIO=4&transport=websocket");
	const acks: any[] = [];
	try {
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`only ${acks.length} of ${packets.length} acks arrived`)), 10_000);
			ws.onerror = () => reject(new Error("websocket failed"));
			ws.onmessage = event => {
				const frame = String(event.data);
				if (frame === "2") ws.send("3");
				else if (frame.startsWith("0")) ws.send("40" + JSON.stringify({ token }));
				else if (frame.startsWith("40")) packets.forEach((packet, id) => ws.send(`42${id}${packet}`));
				else if (frame.startsWith("43")) {
					const [, id, body] = /^43(\d+)(.*)$/s.exec(frame)!;
					acks[Number(id)] = JSON.parse(body)[0];
					if (acks.filter(Boolean).length === packets.length) {
						clearTimeout(timer);
						resolve();
					}
				}
			};
		});
	} finally {
		ws.close();
	}
	return acks;
}

describe("bad input: malformed bodies are 4xx with the error body, logged without a stack", () => {
	let app: TestApp;
	let me: TestUser;
	let groupId: string;

	before(async () => {
		app = await startTestApp({ logLevel: "info" });
		me = await registerUser(app, "bad");
		groupId = (await client(app, me.accessToken).post("/api/groups", { name: "Bad input", memberIds: [] })).body.id;
	});
	after(() => app.stop());

	const post = (url: string, body: string | Uint8Array, headers: Record<string, string>) =>
		fetch(app.url + url, { method: "POST", headers: { authorization: `Bearer ${me.accessToken}`, ...headers }, body }).then(async res => ({
			status: res.status,
			body: (await res.json().catch(() => null)) as any
		}));

	test("bodies that are not what their headers say", async () => {
		const json = { "content-type": "application/json" };
		const { logs } = await capturingLogs(async () => {
			const cases: [string, () => ReturnType<typeof post>, number, string][] = [
				["gzip that is not", () => post("/api/messages", '{"groupId":"x"}', { ...json, "content-encoding": "gzip" }), 400, "INVALID_BODY"],
				["deflate that is not", () => post("/api/messages", '{"groupId":"x"}', { ...json, "content-encoding": "deflate" }), 400, "INVALID_BODY"],
				["brotli that is not", () => post("/api/messages", '{"groupId":"x"}', { ...json, "content-encoding": "br" }), 400, "INVALID_BODY"],
				["an unknown encoding", () => post("/api/messages", '{"groupId":"x"}', { ...json, "content-encoding": "xz" }), 415, "UNSUPPORTED_ENCODING"],
				[
					"a charset other than UTF-8",
					() => post("/api/messages", '{"groupId":"x"}', { "content-type": "application/json; charset=koi8-r" }),
					415,
					"UNSUPPORTED_CHARSET"
				],
				[
					"malformed UTF-8 (stored as U+FFFD if it were decoded)",
					() =>
						post("/api/messages", Buffer.concat([Buffer.from(`{"groupId":"${groupId}","content":"ok`), Buffer.from([0xc0, 0xaf, 0xff]), Buffer.from('"}')]), {
							"content-type": "application/json; charset=utf-8"
						}),
					400,
					"INVALID_UTF8"
				],
				["a gzip bomb", () => post("/api/messages", gzipSync(Buffer.alloc(5_000_000, 32)), { ...json, "content-encoding": "gzip" }), 413, "PAYLOAD_TOO_LARGE"],
				["multipart without a boundary", () => post("/api/assets/upload", "--x\r\n", { "content-type": "multipart/form-data" }), 415, "UNSUPPORTED_MEDIA_TYPE"],
				["an upload without a Content-Type", () => post("/api/assets/upload", "just bytes", {}), 415, "UNSUPPORTED_MEDIA_TYPE"],
				["an upload that is not multipart", () => post("/api/assets/upload", "{}", json), 415, "UNSUPPORTED_MEDIA_TYPE"],
				[
					"multipart cut short",
					() =>
						post("/api/assets/upload", '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello', {
							"content-type": "multipart/form-data; boundary=XX"
						}),
					400,
					"INCOMPLETE_BODY"
				]
			];
			for (const [what, send, status, type] of cases) {
				const res = await send();
				assert.equal(res.status, status, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
				assert.ok(isErrorBody(res.body), `${what}: ${JSON.stringify(res.body)}`);
				assert.equal(res.body.type, type, what);
			}
			const zipped = await post("/api/messages", gzipSync(JSON.stringify({ groupId, content: "zipped" })), { ...json, "content-encoding": "gzip" });
			assert.equal(zipped.status, 201, "real gzip still works");
			const truncated = await truncatedRequest(app, me.accessToken);
			assert.match(truncated.split("\r\n")[0], /^HTTP\/1\.1 4\d\d /, truncated);
		});
		assert.doesNotMatch(logs, STACK_FRAME, logs);
		assert.doesNotMatch(logs, /Request failed|Request error/, logs);
	});

	test("a deeply nested array in any field of any JSON endpoint is a 422", async () => {
		const api = client(app, me.accessToken);
		const endpoints: [string, string, string][] = [
			["POST", "/api/auth/register", `{"username":"deepuser","password":${DEEP}}`],
			["POST", "/api/auth/login", `{"username":${DEEP},"password":"whatever1"}`],
			["POST", "/api/auth/refresh", `{"refreshToken":${DEEP}}`],
			["POST", "/api/auth/logout", `{"refreshToken":${DEEP}}`],
			["PUT", "/api/users/profile", `{"displayName":${DEEP}}`],
			["POST", "/api/groups", `{"name":"x","memberIds":[],"extra":${DEEP}}`],
			["PUT", `/api/groups/${groupId}`, `{"name":${DEEP}}`],
			["POST", `/api/groups/${groupId}/members`, `{"userIds":${DEEP}}`],
			["POST", "/api/messages", `{"groupId":"${groupId}","content":${DEEP}}`],
			["POST", "/api/messages", `{"groupId":"${groupId}","content":"x","attachments":${DEEP}}`],
			["POST", `/api/messages/${groupId}/seen`, `{"seq":${DEEP}}`],
			["POST", "/api/assets/uploads", `{"name":"a.txt","size":${DEEP}}`]
		];
		const { logs } = await capturingLogs(async () => {
			for (const [method, url, body] of endpoints) {
				const res = await api.request(method, url, body);
				assert.equal(res.status, 422, `${method} ${url}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
				assert.ok(isErrorBody(res.body));
				assert.equal(res.body.data[0].type, "depth");
			}
		});
		assert.doesNotMatch(logs, STACK_FRAME, logs);
		const valid = await api.post("/api/messages", { groupId, content: "still fine", attachments: [] });
		assert.equal(valid.status, 201);
	});

	test("over the socket, a deeply nested payload is acked with a 422 for forwarded and gateway-checked events", async () => {
		const { result: acks, logs } = await capturingLogs(() =>
			rawSocketAcks(app, me.accessToken, [
				`["chat.message.send",{"groupId":"${groupId}","content":${DEEP}}]`,
				`["chat.sync",{"cursors":${DEEP}}]`,
				`["typing.start",{"groupId":${DEEP}}]`,
				`["auth.refresh",{"token":${DEEP}}]`
			])
		);
		for (const ack of acks) {
			assert.equal(ack.ok, false);
			assert.equal(ack.error.code, 422, JSON.stringify(ack).slice(0, 300));
			assert.ok(isErrorBody(ack.error));
		}
		assert.doesNotMatch(logs, STACK_FRAME, logs);
	});
});

describe("bad input: wrong JSON types are refused, never coerced", () => {
	let app: TestApp;
	let me: TestUser;
	let groupId: string;

	before(async () => {
		app = await startTestApp();
		me = await registerUser(app, "types");
		const api = client(app, me.accessToken);
		groupId = (await api.post("/api/groups", { name: "Types", memberIds: [] })).body.id;
		await api.post("/api/messages", { groupId, content: "one" });
	});
	after(() => app.stop());

	test("booleans, empty and numeric strings in JSON bodies are 422", async () => {
		const api = client(app, me.accessToken);
		for (const seq of [true, "", "1", null, [1], 1.5]) {
			const res = await api.post(`/api/messages/${groupId}/seen`, { seq });
			assert.equal(res.status, 422, `seq ${JSON.stringify(seq)} → ${res.status}`);
		}
		for (const size of [true, "", "10"]) {
			const res = await api.post("/api/assets/uploads", { name: "a.txt", size });
			assert.equal(res.status, 422, `size ${JSON.stringify(size)} → ${res.status}`);
		}
		assert.equal((await api.post(`/api/messages/${groupId}/seen`, { seq: 1 })).status, 200);
	});

	test("query strings carry canonical decimal integers only", async () => {
		const api = client(app, me.accessToken);
		assert.equal((await api.get(`/api/messages/${groupId}?after=0&limit=5`)).body.items.length, 1);
		for (const query of ["limit=true", "limit=", "limit=05", "limit=1e1", "limit=0x5", "limit=%205", "after=-0", "limit=2.0"]) {
			const res = await api.get(`/api/messages/${groupId}?${query}`);
			assert.equal(res.status, 422, `${query} → ${res.status}`);
		}
		assert.equal((await api.get("/api/users?search=123&limit=5")).status, 200, "a string param stays a string");
	});
});

describe("bad input: names and text", () => {
	let app: TestApp;
	let me: TestUser;
	let groupId: string;

	before(async () => {
		app = await startTestApp();
		me = await registerUser(app, "text");
		groupId = (await client(app, me.accessToken).post("/api/groups", { name: "Text", memberIds: [] })).body.id;
	});
	after(() => app.stop());

	test("display names, status and group names: control characters and invisible names refused, bidi overrides removed", async () => {
		const api = client(app, me.accessToken);
		for (const displayName of ["a\u0000b", "two\nlines", "cr\rhere", "tab\there", "\u200b\u200c\u200d", "\ufeff \u2060", "\u202e\u2066"]) {
			const res = await api.put("/api/users/profile", { displayName });
			assert.equal(res.status, 422, `${JSON.stringify(displayName)} → ${res.status}`);
		}
		assert.equal((await api.put("/api/users/profile", { statusText: "away\u0007" })).status, 422);
		assert.equal((await api.put("/api/users/profile", { statusText: "\u200b" })).status, 422);
		const cleaned = await api.put("/api/users/profile", { displayName: "  Ann\u202egpj.exe ", statusText: "in \u2066a\u2069 meeting" });
		assert.equal(cleaned.status, 200);
		assert.equal(cleaned.body.displayName, "Anngpj.exe");
		assert.equal(cleaned.body.statusText, "in a meeting");
		assert.equal(
			(await api.put("/api/users/profile", { displayName: "👨\u200d👩\u200d👧" })).body.displayName,
			"👨\u200d👩\u200d👧",
			"joiners inside text stay"
		);
		const registered = await client(app).post("/api/auth/register", { username: "nul_name", password: "long enough", displayName: "x\u0000" });
		assert.equal(registered.status, 422);

		for (const name of ["a\u0000", "line\nbreak", "\u200b", " \u00ad "]) {
			assert.equal((await api.post("/api/groups", { name, memberIds: [] })).status, 422, `create ${JSON.stringify(name)}`);
			assert.equal((await api.put(`/api/groups/${groupId}`, { name })).status, 422, `rename ${JSON.stringify(name)}`);
		}
		assert.equal((await api.put(`/api/groups/${groupId}`, { name: "\u202dTeam\u202c" })).body.name, "Team");
		assert.equal((await api.put(`/api/groups/${groupId}`, { name: "\u2800\u2800" })).status, 422, "the braille blank draws nothing");
		// Limits count characters: 100 emoji are a 100-character name (200 UTF-16 units), 101 are one too many.
		assert.equal((await api.put(`/api/groups/${groupId}`, { name: "🚀".repeat(100) })).body.name, "🚀".repeat(100));
		const tooLong = await api.put(`/api/groups/${groupId}`, { name: "🚀".repeat(101) });
		assert.equal(tooLong.status, 422);
		assert.equal(tooLong.body.data[0].message, "The 'name' field must be at most 100 characters.");
		assert.equal((await api.put("/api/users/profile", { displayName: "é".repeat(64) })).status, 200);
	});

	test("message content keeps newlines and tabs, refuses other control characters and invisible-only text", async () => {
		const api = client(app, me.accessToken);
		for (const content of ["nul\u0000", "bell\u0007", "esc\u001b[31m", "\u200b\u200b", "\ufeff"]) {
			const res = await api.post("/api/messages", { groupId, content });
			assert.equal(res.status, 422, `${JSON.stringify(content)} → ${res.status}`);
		}
		assert.equal((await api.post("/api/messages", { groupId, content: "😀".repeat(4000) })).status, 201, "4,000 characters, 8,000 UTF-16 units");
		assert.equal((await api.post("/api/messages", { groupId, content: "😀".repeat(4001) })).status, 422);
		const kept = await api.post("/api/messages", { groupId, content: "line one\r\nline two\n\tindented\rend" });
		assert.equal(kept.status, 201);
		assert.equal(kept.body.content, "line one\nline two\n\tindented\nend");
	});

	test("a refusal's message says what the value must be, in words (the validator's own put the allowed list where the value goes)", async () => {
		const api = client(app, me.accessToken);
		const other = await registerUser(app, "bad-other");
		const problem = async (res: { status: number; body: any }) => {
			assert.equal(res.status, 422, JSON.stringify(res.body));
			return res.body.data[0].message as string;
		};
		assert.equal(
			await problem(await api.put(`/api/groups/${groupId}/members/${other.user.id}`, { role: "superadmin" })),
			"The 'role' field must be one of: owner, admin, member."
		);
		assert.equal(
			await problem(await api.post("/api/groups", { name: "Twice", memberIds: [other.user.id, other.user.id] })),
			`The 'memberIds' field lists '${other.user.id}' more than once.`
		);
		assert.equal(
			await problem(await api.post("/api/messages", { groupId, content: "x".repeat(20_001) })),
			"The 'content' field must be at most 4000 characters."
		);
		assert.equal(
			await problem(await api.post("/api/messages", { groupId, content: "x".repeat(4001) })),
			"The 'content' field must be at most 4000 characters."
		);
		assert.equal(await problem(await api.put("/api/users/profile", { displayName: "x".repeat(65) })), "The 'displayName' field must be at most 64 characters.");
		// A null is a value, not a missing field; fastest-validator names the array, not its null item.
		assert.equal(
			await problem(await api.post("/api/messages", { groupId, content: "x", attachments: [null] })),
			"The 'attachments' field must not contain null."
		);
		assert.equal(await problem(await api.post("/api/messages", { groupId: null, content: "x" })), "The 'groupId' field must not be null.");
	});
});
