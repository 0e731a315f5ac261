import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../../lib/config.ts";
import { wantsPreviewOf } from "../../../services/messages/previews.ts";
import type { MessageDoc } from "../../../services/messages/documents.ts";

describe("link previews: configuration", () => {
	test("on by default; LINK_PREVIEWS=off turns them off; anything else is refused", () => {
		assert.deepEqual(loadConfig({ NODE_ENV: "test" }).linkPreviews, { enabled: true, allowHosts: [] });
		assert.equal(loadConfig({ NODE_ENV: "test", LINK_PREVIEWS: "off" }).linkPreviews.enabled, false);
		assert.equal(loadConfig({ NODE_ENV: "test", LINK_PREVIEWS: "OFF" }).linkPreviews.enabled, false);
		assert.throws(() => loadConfig({ NODE_ENV: "test", LINK_PREVIEWS: "maybe" }), ConfigError);
	});

	test("LINK_PREVIEW_ALLOW_HOSTS: host:port entries, IPv6 in brackets; never in production", () => {
		const config = loadConfig({ NODE_ENV: "development", LINK_PREVIEW_ALLOW_HOSTS: "127.0.0.1:8080, [::1]:9000,Localhost:80" });
		assert.deepEqual(config.linkPreviews.allowHosts, ["127.0.0.1:8080", "::1:9000", "localhost:80"]);
		for (const bad of ["127.0.0.1", "http://127.0.0.1:80", "a b:80"])
			assert.throws(() => loadConfig({ NODE_ENV: "test", LINK_PREVIEW_ALLOW_HOSTS: bad }), ConfigError, bad);
		const production = { NODE_ENV: "production", JWT_SECRET: "x".repeat(40), LINK_PREVIEW_ALLOW_HOSTS: "127.0.0.1:8080" };
		assert.throws(() => loadConfig(production), /test and development setting/);
		assert.equal(loadConfig({ ...production, LINK_PREVIEW_ALLOW_HOSTS: "" }).linkPreviews.enabled, true);
	});
});

describe("link previews: when a made preview is still wanted", () => {
	const doc = (over: Partial<MessageDoc> = {}) =>
		({ content: "see https://a.org/x", deletedAt: null, previewFor: "https://a.org/x", previewRemoved: false, ...over }) as MessageDoc;

	test("while the message still links there, is not deleted, is no system line and was not removed; an edit meanwhile wins", () => {
		assert.equal(wantsPreviewOf(doc(), "https://a.org/x"), true);
		assert.equal(wantsPreviewOf(doc({ content: "now https://b.org/" }), "https://a.org/x"), false, "edited to another link");
		assert.equal(wantsPreviewOf(doc({ content: "https://a.org/x edited, same link" }), "https://a.org/x"), true);
		assert.equal(wantsPreviewOf(doc({ previewFor: "https://b.org/" }), "https://a.org/x"), false, "claimed for another link since");
		assert.equal(wantsPreviewOf(doc({ previewRemoved: true }), "https://a.org/x"), false);
		assert.equal(wantsPreviewOf(doc({ deletedAt: new Date() }), "https://a.org/x"), false);
		assert.equal(wantsPreviewOf(doc({ system: { type: "member.left" } }), "https://a.org/x"), false);
	});
});
