import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { entryOf, MessageIndex, type IndexEntry } from "../../../services/search/message-index.ts";

let counter = 0;
const entry = (content: string, over: Partial<IndexEntry> = {}): IndexEntry => ({
	id: `m${String(++counter).padStart(5, "0")}`,
	groupId: "g1",
	senderId: "alice",
	content,
	version: 1,
	createdAt: 1_000 + counter,
	searchable: true,
	...over
});
const everywhere = { groupIds: new Set(["g1", "g2"]) };
const ids = (index: MessageIndex, q: string[], scope: { groupIds: Set<string>; senderId?: string } = everywhere) => index.search(q, scope).map(h => h.id);

describe("MessageIndex", () => {
	test("every term must match; longer words by prefix; case and diacritics do not matter", () => {
		const index = new MessageIndex();
		const a = entry("Deployment of the Café service");
		const b = entry("the deploy failed");
		const c = entry("cafe opening hours");
		index.addStored([a, b, c]);
		assert.deepEqual(ids(index, ["deploy"]).sort(), [a.id, b.id].sort());
		assert.deepEqual(ids(index, ["cafe", "deploy"]), [a.id]);
		assert.equal(ids(index, ["Café"]).length, 2);
		assert.deepEqual(ids(index, ["cafe"]).sort(), [a.id, c.id].sort());
		// A two-letter term is a whole word only.
		assert.deepEqual(ids(index, ["of"]), [a.id]);
		assert.deepEqual(index.search(["deploy"], everywhere).find(h => h.id === a.id)?.terms, ["deployment"]);
	});

	test("ranks a message with the term more often (and shorter) first; equal scores newest first", () => {
		const index = new MessageIndex();
		const weak = entry("release notes are in the wiki with many other words around them");
		const strong = entry("release release release");
		const twinOld = entry("same words here", { createdAt: 1 });
		const twinNew = entry("same words here", { createdAt: 2 });
		index.addStored([weak, strong, twinOld, twinNew]);
		assert.deepEqual(ids(index, ["release"]), [strong.id, weak.id]);
		assert.deepEqual(ids(index, ["same"]), [twinNew.id, twinOld.id]);
	});

	test("filters by conversation and sender", () => {
		const index = new MessageIndex();
		const mine = entry("budget meeting", { groupId: "g1", senderId: "alice" });
		const bobs = entry("budget review", { groupId: "g1", senderId: "bob" });
		const other = entry("budget elsewhere", { groupId: "g3" });
		index.addStored([mine, bobs, other]);
		assert.deepEqual(ids(index, ["budget"]).sort(), [mine.id, bobs.id].sort());
		assert.deepEqual(ids(index, ["budget"], { groupIds: new Set(["g1"]), senderId: "bob" }), [bobs.id]);
		assert.deepEqual(ids(index, ["budget"], { groupIds: new Set() }), []);
	});

	test("changes replace the text (older versions ignored), deletions and system lines leave", () => {
		const index = new MessageIndex();
		const m = entry("original wording");
		index.enqueue(m);
		assert.deepEqual(ids(index, ["original"]), [m.id], "a search applies what is queued");
		index.enqueue({ ...m, content: "edited wording", version: 3 });
		index.enqueue({ ...m, content: "stale wording", version: 2 });
		assert.deepEqual(ids(index, ["original"]), []);
		assert.deepEqual(ids(index, ["stale"]), []);
		assert.deepEqual(ids(index, ["edited"]), [m.id]);
		index.enqueue({ ...m, content: "", version: 4, searchable: false });
		assert.deepEqual(ids(index, ["wording"]), []);
		assert.equal(index.size, 0);
		const system = entryOf({
			id: "s1",
			groupId: "g1",
			senderId: "alice",
			content: "",
			version: 5,
			createdAt: new Date().toISOString(),
			deletedAt: null,
			system: { type: "member.left" }
		});
		assert.equal(system.searchable, false);
		index.enqueue(system);
		assert.equal(index.size, 0);
	});

	test("a queued change is applied without a search, off the caller's turn", async () => {
		const index = new MessageIndex();
		index.enqueue(entry("later"));
		assert.equal(index.size, 0);
		await new Promise(resolve => setImmediate(resolve));
		assert.equal(index.size, 1);
	});

	test("a rebuild starts over; changes that arrive during it win over older stored copies", () => {
		const index = new MessageIndex();
		index.addStored([entry("forgotten text")]);
		const edited = entry("stored before the edit", { version: 1 });
		const deleted = entry("stored before the delete", { version: 1 });
		const sent = entry("sent during the rebuild", { version: 1 });
		index.beginRebuild();
		assert.ok(index.rebuilding);
		index.enqueue({ ...edited, content: "edited during the rebuild", version: 2 });
		index.enqueue({ ...deleted, content: "", version: 2, searchable: false });
		index.enqueue(sent);
		index.flush();
		index.addStored([edited, deleted]);
		index.endRebuild();
		assert.ok(!index.rebuilding);
		assert.deepEqual(ids(index, ["forgotten"]), []);
		assert.deepEqual(ids(index, ["stored"]), []);
		assert.deepEqual(ids(index, ["rebuild"]).sort(), [edited.id, sent.id].sort());
	});
});
