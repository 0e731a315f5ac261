import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadConfig } from "../../lib/config.ts";
import { checkVapidKeys, generateVapidKeys } from "../../lib/vapid.ts";
import { tempDataDir } from "../helpers/app.ts";

const secrets = { JWT_SECRET: "j".repeat(40) };

describe("VAPID keys and WEB_PUSH", () => {
	test("development generates a pair once and keeps it in DATA_DIR", () => {
		const data = tempDataDir();
		try {
			const first = loadConfig({ DATA_DIR: data.dir }).push;
			const second = loadConfig({ DATA_DIR: data.dir }).push;
			assert.equal(first.enabled, true);
			assert.equal(checkVapidKeys(first.vapid), null);
			assert.deepEqual(second.vapid, first.vapid);
			assert.match(first.vapid.subject, /^mailto:/);
		} finally {
			data.remove();
		}
	});

	test("production uses the given keys, is off without them, and refuses WEB_PUSH=on without them", () => {
		const keys = generateVapidKeys();
		const on = loadConfig({
			NODE_ENV: "production",
			DATA_DIR: ":memory:",
			...secrets,
			VAPID_PUBLIC_KEY: keys.publicKey,
			VAPID_PRIVATE_KEY: keys.privateKey,
			VAPID_SUBJECT: "mailto:ops@example.com"
		}).push;
		assert.equal(on.enabled, true);
		assert.equal(on.vapid.publicKey, keys.publicKey);
		assert.equal(loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", ...secrets }).push.enabled, false);
		assert.throws(() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", ...secrets, WEB_PUSH: "on" }), /VAPID_PUBLIC_KEY/);
		assert.throws(
			() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", ...secrets, VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey }),
			/VAPID_SUBJECT/
		);
	});

	test("a mismatched or malformed pair is refused at start, not at the first push", () => {
		const a = generateVapidKeys();
		const b = generateVapidKeys();
		assert.throws(() => loadConfig({ DATA_DIR: ":memory:", VAPID_PUBLIC_KEY: a.publicKey, VAPID_PRIVATE_KEY: b.privateKey }), /not the public key/);
		assert.throws(() => loadConfig({ DATA_DIR: ":memory:", VAPID_PUBLIC_KEY: "abc", VAPID_PRIVATE_KEY: b.privateKey }), /VAPID_PUBLIC_KEY/);
		assert.throws(() => loadConfig({ DATA_DIR: ":memory:", VAPID_SUBJECT: "ops@example.com" }), /VAPID_SUBJECT/);
		assert.equal(loadConfig({ DATA_DIR: ":memory:", WEB_PUSH: "off" }).push.enabled, false);
		assert.throws(() => loadConfig({ NODE_ENV: "production", DATA_DIR: ":memory:", ...secrets, PUSH_TEST_ENDPOINTS: "http://127.0.0.1:4000" }), /tests only/);
	});
});
