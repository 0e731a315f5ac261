import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newId } from "../../../lib/ids.ts";
import type { MessageDoc } from "../../../services/messages/documents.ts";
import { hitsPage, sourcePage } from "../../../services/messages/search-door.ts";
import type { Cursors } from "../../../services/messages/cursors.ts";
import { messageDoc, messageLog } from "./fixtures.ts";

const noReceipts = { receiptsOf: async () => [] } as unknown as Cursors;

describe("the search service's door", () => {
	test("the store in pages: every searchable message once, in _id order, without deleted ones or system lines", async () => {
		const log = await messageLog();
		const docs: MessageDoc[] = [];
		for (let seq = 1; seq <= 2500; seq++) {
			const extra: Partial<MessageDoc> =
				seq % 10 === 0 ? { deletedAt: new Date(), content: "" } : seq % 10 === 1 ? { system: { type: "member.left" }, content: "" } : {};
			docs.push(messageDoc("g1", seq, { _id: newId(), ...extra }));
		}
		for (const doc of docs) await log.insert(doc);
		const seen: string[] = [];
		let after: string | undefined;
		let pages = 0;
		for (;;) {
			const page = await sourcePage({ db: { messages: log } as never }, after, 1000);
			pages++;
			seen.push(...page.messages.map(m => m.id));
			if (!page.last) break;
			after = page.last;
		}
		const expected = docs.filter(d => !d.deletedAt && !d.system).map(d => d._id);
		assert.ok(pages >= 3);
		assert.deepEqual(seen, [...expected].sort());
	});

	test("a page of ranked ids comes back in rank order, only what is still searchable and in scope", async () => {
		const log = await messageLog();
		const a = messageDoc("g1", 1, { content: "alpha" });
		const b = messageDoc("g2", 1, { content: "beta" });
		const c = messageDoc("g1", 2, { content: "", deletedAt: new Date() });
		const d = messageDoc("g3", 1, { content: "not mine" });
		for (const doc of [a, b, c, d]) await log.insert(doc);
		const svc = { db: { messages: log } as never, cursors: noReceipts, secret: "s".repeat(40) };
		const page = await hitsPage(svc, { groupIds: ["g1", "g2"], ids: [b._id, c._id, d._id, a._id, "missing"] });
		assert.deepEqual(
			page.messages.map(m => m.content),
			["beta", "alpha"]
		);
		const bySender = await hitsPage(svc, { groupIds: ["g1", "g2"], senderId: "someone else", ids: [a._id, b._id] });
		assert.deepEqual(bySender.messages, []);
	});
});
