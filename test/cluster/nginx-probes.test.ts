import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, nginxBinary, TestCluster, waitUntil, WEB_BUILD_MARKER, writeWebBuild, type NodeProcess } from "../helpers/cluster.ts";

/**
 * nginx/nginx.conf as shipped (a web build in its root) in front of an API node that is not ready: the
 * services it needs (auth, users, groups, messages) run nowhere. What a load balancer or a monitor asks
 * through nginx must be the node's answer, never the SPA's index.html with 200.
 */

const bin = nginxBinary();
if (!bin && process.env.CI === "true") throw new Error("nginx is required with CI=true (apt-get install -y nginx)");

describe("nginx in front of an API node that is not ready", { skip: bin ? false : "nginx is not installed", timeout: 120_000 }, () => {
	const cluster = new TestCluster();
	let api: NodeProcess;
	let gateway: string;

	before(async () => {
		const ports = { api: await freePort(), socket: await freePort(), nginx: await freePort() };
		api = cluster.startNode("api", { SERVICES: "api", PORT: String(ports.api) });
		const direct = `http://127.0.0.1:${ports.api}`;
		try {
			await waitUntil(
				"the API node to answer /health",
				async () => ((await (await fetch(`${direct}/health`)).json()) as { started: boolean }).started,
				60_000,
				250
			);
		} catch (err) {
			throw new Error(`${(err as Error).message}\n${cluster.logs()}`, { cause: err });
		}
		await cluster.startNginx({
			listenPort: ports.nginx,
			apiServers: [`127.0.0.1:${ports.api}`],
			// Nothing listens there: only /socket.io/ goes to it.
			socketServers: [`127.0.0.1:${ports.socket}`],
			webRoot: writeWebBuild(path.join(cluster.dir, "web"))
		});
		gateway = `http://127.0.0.1:${ports.nginx}`;
	});

	after(() => cluster.stop());

	test("/ready is the node's 503 with Retry-After and its JSON, naming what is missing", async () => {
		for (const method of ["GET", "HEAD"]) {
			const res = await fetch(`${gateway}/ready`, { method });
			assert.equal(res.status, 503, `${method} /ready`);
			assert.equal(res.headers.get("retry-after"), "1");
			assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
			if (method === "HEAD") continue;
			const body = (await res.json()) as { status: string; nodeID: string; started: boolean; missing: string[] };
			assert.deepEqual([body.status, body.nodeID, body.started], ["not ready", api.nodeID, true]);
			assert.deepEqual(body.missing, ["auth", "groups", "messages", "users"]);
		}
		// A query string (a cache buster) does not take it past the exact match.
		assert.equal((await fetch(`${gateway}/ready?t=1`)).status, 503);
	});

	test("/health is the node's liveness JSON", async () => {
		const res = await fetch(`${gateway}/health`);
		assert.equal(res.status, 200);
		const body = (await res.json()) as { status: string; nodeID: string; services: string[] };
		assert.deepEqual([body.status, body.nodeID, body.services], ["ok", api.nodeID, ["api"]]);
	});

	test("API and socket paths reach their upstreams; other paths get the web build", async () => {
		for (const url of ["/api/users/profile", "/api/assets/0123456789abcdef01234567/original", "/api/no-such-route"]) {
			const res = await fetch(`${gateway}${url}`);
			const text = await res.text();
			assert.ok(res.status >= 400, `${url}: ${res.status}`);
			assert.ok(!text.includes(WEB_BUILD_MARKER), `${url} was answered by the SPA fallback`);
			assert.equal(typeof (JSON.parse(text) as { code: unknown }).code, "number", `${url}: the API's error body, got ${text}`);
		}
		// The socket upstream is down: nginx's own 502, not the SPA's 200.
		assert.equal((await fetch(`${gateway}/socket.io/?EIO=4&transport=websocket`)).status, 502);
		for (const url of ["/", "/c/0123456789abcdef01234567", "/settings"]) {
			const res = await fetch(`${gateway}${url}`);
			assert.equal(res.status, 200, url);
			assert.ok((await res.text()).includes(WEB_BUILD_MARKER), url);
		}
	});
});
