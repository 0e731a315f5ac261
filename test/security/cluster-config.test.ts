import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { ConfigError, loadConfig, testConfig } from "../../lib/config.ts";
import { tempDataDir } from "../helpers/app.ts";

const production = { NODE_ENV: "production", DATA_DIR: ":memory:", JWT_SECRET: "j".repeat(48) };
const rabbit = "amqp://chat:a-long-rabbitmq-password@rabbitmq:5672";

describe("CLUSTER_SECRET and the transporter's account", () => {
	test("a clustered production node refuses to start without a real cluster secret", () => {
		assert.throws(() => loadConfig({ ...production, TRANSPORTER: rabbit }), /CLUSTER_SECRET must be set/);
		assert.throws(() => loadConfig({ ...production, TRANSPORTER: rabbit, CLUSTER_SECRET: "change-me" }), /CLUSTER_SECRET is an example value/);
		assert.throws(() => loadConfig({ ...production, TRANSPORTER: rabbit, CLUSTER_SECRET: "short" }), /32 characters/);
		assert.equal(loadConfig({ ...production, TRANSPORTER: rabbit, CLUSTER_SECRET: "c".repeat(40) }).clusterSecret, "c".repeat(40));
	});

	test("an embedded production node needs none (nothing leaves the process), but a weak one given is refused", () => {
		assert.equal(loadConfig(production).clusterSecret.length, 64);
		assert.throws(() => loadConfig({ ...production, CLUSTER_SECRET: "short" }), ConfigError);
	});

	test("production refuses RabbitMQ's guest account, or none, in an amqp TRANSPORTER", () => {
		const secret = { CLUSTER_SECRET: "c".repeat(40) };
		for (const url of [
			"amqp://guest:guest@rabbitmq:5672",
			"amqps://guest:guest@rabbitmq:5671",
			"amqp://rabbitmq:5672",
			"amqp://chat@rabbitmq:5672",
			"amqp://chat:change-me@rabbitmq:5672"
		])
			assert.throws(() => loadConfig({ ...production, ...secret, TRANSPORTER: url }), /dedicated RabbitMQ user/, url);
		assert.equal(
			loadConfig({ ...production, ...secret, TRANSPORTER: "amqps://chat:p%40ss-long-enough@rabbitmq:5671" }).transporter,
			"amqps://chat:p%40ss-long-enough@rabbitmq:5671"
		);
		// Development and tests keep the local default account.
		assert.equal(loadConfig({ DATA_DIR: ":memory:", TRANSPORTER: "amqp://guest:guest@127.0.0.1:5672" }).transporter, "amqp://guest:guest@127.0.0.1:5672");
	});

	test("development keeps a generated secret in DATA_DIR, so nodes of one checkout (and the REPL) agree", () => {
		const data = tempDataDir();
		try {
			const first = loadConfig({ DATA_DIR: data.dir }).clusterSecret;
			assert.ok(first.length >= 32);
			assert.equal(loadConfig({ DATA_DIR: data.dir, TRANSPORTER: "amqp://guest:guest@127.0.0.1:5672" }).clusterSecret, first);
			assert.equal(readFileSync(path.join(data.dir, "cluster-secret"), "utf8").trim(), first);
			assert.notEqual(first, loadConfig({ DATA_DIR: data.dir }).jwt.secret);
		} finally {
			data.remove();
		}
	});

	test("test brokers of one process share one generated secret; a given one wins", () => {
		assert.equal(testConfig().clusterSecret, testConfig().clusterSecret);
		assert.equal(loadConfig({ NODE_ENV: "test", DATA_DIR: ":memory:", CLUSTER_SECRET: "given" }).clusterSecret, "given");
	});
});
