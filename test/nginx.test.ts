import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp } from "./helpers/app.ts";
import { freePort, nginxBinary, waitUntil, writeNginxConfig } from "./helpers/cluster.ts";
import { connectSocket, emitWithAck } from "./helpers/socket.ts";

/** nginx/nginx.conf with Debian's nginx: it passes `nginx -t`, and as a running proxy it does what the file says. */

const bin = nginxBinary();
if (!bin && process.env.CI === "true") throw new Error("nginx is required with CI=true (apt-get install -y nginx)");

describe("nginx/nginx.conf", { skip: bin ? false : "nginx is not installed" }, () => {
	const dir = mkdtempSync(path.join(tmpdir(), "chat-nginx-"));
	// nginx's workers run as an unprivileged user; they must reach the web root under here.
	chmodSync(dir, 0o755);
	let echo: Server;
	let echoPort: number;
	let app: TestApp;
	const running: ChildProcess[] = [];

	/** Records what reached the upstream: method, url, headers, body size. */
	const seen: { url: string; headers: Record<string, unknown>; bytes: number }[] = [];

	before(async () => {
		echo = createServer((req, res) => {
			let bytes = 0;
			req.on("data", chunk => (bytes += chunk.length));
			req.on("end", () => {
				seen.push({ url: req.url ?? "", headers: req.headers, bytes });
				res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: req.url, headers: req.headers, bytes }));
			});
		});
		await new Promise<void>(resolve => echo.listen(0, "127.0.0.1", resolve));
		echoPort = (echo.address() as { port: number }).port;
		app = await startTestApp({ http: { bodyLimit: "256kb", corsOrigins: "*", trustProxy: true } });
	});

	after(async () => {
		// SIGTERM: the master stops its workers (after SIGKILL they would be left behind).
		await Promise.all(
			running.map(child => new Promise(resolve => (child.exitCode != null ? resolve(null) : (child.once("exit", resolve), child.kill("SIGTERM")))))
		);
		await new Promise(resolve => echo?.close(resolve));
		await app?.stop();
		rmSync(dir, { recursive: true, force: true });
	});

	async function runNginx(name: string, apiServers: string[], socketServers: string[], webRoot?: string): Promise<string> {
		const prefix = path.join(dir, name);
		mkdirSync(prefix, { recursive: true });
		const port = await freePort();
		const conf = writeNginxConfig({ prefix, listenPort: port, apiServers, socketServers, webRoot });
		const child = spawn(bin!, ["-p", prefix, "-c", conf, "-g", "daemon off;"], { stdio: "ignore" });
		running.push(child);
		const base = `http://127.0.0.1:${port}`;
		await waitUntil(`nginx ${name}`, async () => (await fetch(`${base}/nginx-health`)).ok, 15_000);
		return base;
	}

	test("passes nginx -t", async () => {
		const prefix = path.join(dir, "syntax");
		mkdirSync(prefix, { recursive: true });
		const conf = writeNginxConfig({
			prefix,
			listenPort: await freePort(),
			apiServers: ["127.0.0.1:3000", "127.0.0.1:3100"],
			socketServers: ["127.0.0.1:3001", "127.0.0.1:3101", "127.0.0.1:3201"]
		});
		const result = spawnSync(bin!, ["-t", "-p", prefix, "-c", conf], { encoding: "utf8" });
		assert.equal(result.status, 0, result.stderr);
		assert.match(result.stderr, /syntax is ok/);
		assert.match(result.stderr, /test is successful/);
	});

	test("passes the client address on, serves the web build with SPA fallback, and limits the body size", async () => {
		const web = path.join(dir, "web");
		mkdirSync(path.join(web, "_app/immutable"), { recursive: true });
		writeFileSync(path.join(web, "index.html"), "<!doctype html><title>chat</title>");
		writeFileSync(path.join(web, "favicon.txt"), "icon");
		writeFileSync(path.join(web, "_app/immutable/app.abc123.js"), "console.log(1)");
		const base = await runNginx("proxy", [`127.0.0.1:${echoPort}`], [`127.0.0.1:${echoPort}`], web);

		const res = await fetch(`${base}/api/users/profile`, { headers: { "x-forwarded-for": "203.0.113.9" } });
		const body = (await res.json()) as { url: string; headers: Record<string, string> };
		assert.equal(body.url, "/api/users/profile");
		assert.equal(body.headers["x-real-ip"], "127.0.0.1");
		assert.equal(body.headers["x-forwarded-for"], "203.0.113.9, 127.0.0.1");
		assert.equal(body.headers["x-forwarded-proto"], "http");

		const deepLink = await fetch(`${base}/c/0123456789abcdef01234567`);
		assert.equal(deepLink.status, 200);
		assert.match(await deepLink.text(), /<title>chat<\/title>/);
		assert.equal(deepLink.headers.get("cache-control"), "no-cache");
		assert.equal(await (await fetch(`${base}/favicon.txt`)).text(), "icon");
		const immutable = await fetch(`${base}/_app/immutable/app.abc123.js`);
		assert.match(immutable.headers.get("cache-control") ?? "", /immutable/);
		assert.equal((await fetch(`${base}/_app/immutable/missing.js`)).status, 404);

		// 25 MiB (UPLOAD_MAX_BYTES) passes to the API; 27 MiB is refused by nginx itself.
		const fits = await fetch(`${base}/api/assets/upload`, { method: "POST", body: Buffer.alloc(25 * 1024 * 1024) });
		assert.equal(fits.status, 200);
		assert.equal(((await fits.json()) as { bytes: number }).bytes, 25 * 1024 * 1024);
		const tooBig = await fetch(`${base}/api/assets/upload`, { method: "POST", body: Buffer.alloc(27 * 1024 * 1024) });
		assert.equal(tooBig.status, 413);
	});

	test("without a web build, pages come from the API node", async () => {
		const base = await runNginx("no-web", [`127.0.0.1:${echoPort}`], [`127.0.0.1:${echoPort}`]);
		const res = await fetch(`${base}/some/page`);
		assert.equal(((await res.json()) as { url: string }).url, "/some/page");
	});

	test("REST and websocket (socket.io, upgrade on /socket.io/) reach a real node through nginx", async () => {
		const port = new URL(app.url).port;
		const base = await runNginx("app", [`127.0.0.1:${port}`], [`127.0.0.1:${port}`]);
		const alice = await registerUser({ url: base }, "nginx");
		const profile = await client({ url: base }, alice.accessToken).get("/api/users/profile");
		assert.equal(profile.status, 200);
		assert.equal(profile.body.id ?? profile.body.user?.id, alice.user.id);
		const socket = await connectSocket(base, alice.accessToken);
		try {
			assert.equal(socket.io.engine.transport.name, "websocket");
			const group = await client({ url: base }, alice.accessToken).post("/api/groups", { name: "via nginx", memberIds: [] });
			assert.equal(group.status, 201, JSON.stringify(group.body));
			const ack = await emitWithAck(socket, "chat.message.send", { groupId: group.body.id, content: "through the proxy", clientMessageId: "n1" });
			assert.equal(ack.ok, true, JSON.stringify(ack));
		} finally {
			socket.close();
		}
	});
});
