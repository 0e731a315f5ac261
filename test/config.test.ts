import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ALL_SERVICES, ConfigError, loadConfig, parseDuration } from "../lib/config.ts";
import { tempDataDir } from "./helpers/app.ts";

describe("configuration", () => {
	test("the embedded default: every service, no transporter, memory cacher, NeDB under ./data, port 3000", () => {
		const data = tempDataDir();
		try {
			const config = loadConfig({ DATA_DIR: data.dir });
			assert.deepEqual(config.services, [...ALL_SERVICES]);
			assert.equal(config.transporter, undefined);
			assert.equal(config.cacher, undefined);
			assert.deepEqual(config.storage, { kind: "nedb", dir: data.dir });
			assert.equal(config.port, 3000);
			assert.equal(config.jwt.accessTtlSeconds, 900);
			assert.equal(path.resolve(loadConfig({}).dataDir), path.resolve("data"));
		} finally {
			data.remove();
		}
	});

	test("development keeps a generated JWT secret under DATA_DIR so tokens survive restarts", () => {
		const data = tempDataDir();
		try {
			const first = loadConfig({ DATA_DIR: data.dir }).jwt.secret;
			assert.ok(existsSync(path.join(data.dir, "jwt-secret")));
			assert.equal(loadConfig({ DATA_DIR: data.dir }).jwt.secret, first);
			assert.equal(readFileSync(path.join(data.dir, "jwt-secret"), "utf8").trim(), first);
		} finally {
			data.remove();
		}
	});

	test("production refuses to start without a real JWT secret", () => {
		assert.throws(() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:" }), ConfigError);
		assert.throws(
			() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", JWT_SECRET: "your-super-secret-jwt-key-change-this-in-production" }),
			/example value/
		);
		assert.throws(() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", JWT_SECRET: "short" }), /32 characters/);
		const ok = loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", JWT_SECRET: "k".repeat(48) });
		assert.equal(ok.logFormat, "json");
	});

	test("cluster settings: SERVICES subsets, transporter, Redis, Mongo", () => {
		const config = loadConfig({
			DATA_DIR: ":memory:",
			SERVICES: "socket, presence",
			TRANSPORTER: "amqp://guest:guest@127.0.0.1:5672",
			REDIS_URL: "redis://127.0.0.1:6379",
			MONGODB_URI: "mongodb://mongo:27017/chat",
			JWT_EXPIRES_IN: "1h"
		});
		assert.deepEqual(config.services, ["presence", "socket"]);
		assert.equal(config.cacher, "redis://127.0.0.1:6379");
		assert.deepEqual(config.storage, { kind: "mongo", uri: "mongodb://mongo:27017/chat" });
		assert.equal(config.jwt.accessTtlSeconds, 3600);
		assert.throws(() => loadConfig({ DATA_DIR: ":memory:", SERVICES: "api,chat" }), /unknown services: chat/);
		assert.throws(() => loadConfig({ DATA_DIR: ":memory:", PORT: "http" }), /PORT/);
	});

	test("durations", () => {
		assert.equal(parseDuration("900", 1, "X"), 900);
		assert.equal(parseDuration("15m", 1, "X"), 900);
		assert.equal(parseDuration("30d", 1, "X"), 30 * 86400);
		assert.equal(parseDuration(undefined, 7, "X"), 7);
		assert.throws(() => parseDuration("soon", 1, "X"), ConfigError);
	});
});
