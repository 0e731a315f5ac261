import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { changesPage, pageMark, storedLastVersion } from "../../../services/messages/changes.ts";
import { groupVersionKey, type MessageDoc } from "../../../services/messages/documents.ts";
import { Sequencer } from "../../../services/messages/sequencer.ts";
import { memoryCollection } from "../../helpers/memory-collection.ts";
import { maxSeq, messageDoc } from "./fixtures.ts";

function versionedLog() {
	return memoryCollection<MessageDoc>("messages", [
		{ fields: { groupSeq: 1 }, unique: true },
		{ fields: { groupVersion: 1 }, unique: true, sparse: true }
	]);
}

/** A message of g1 sent at `createdVersion` whose latest change is at `version`. */
const versioned = (groupId: string, seq: number, createdVersion: number, version = createdVersion) =>
	messageDoc(groupId, seq, { version, createdVersion, groupVersion: groupVersionKey(groupId, version) });

describe("change pages", () => {
	test("the mark: the window's end, or the last change of a full page", () => {
		const window = { since: 10, upTo: 50, maxSeq: 40, limit: 2 };
		assert.deepEqual(pageMark(window, []), { mark: 50, hasMore: false });
		assert.deepEqual(pageMark(window, [{ seq: 3, version: 12 }]), { mark: 50, hasMore: false });
		assert.deepEqual(
			pageMark(window, [
				{ seq: 3, version: 12 },
				{ seq: 1, version: 20 }
			]),
			{ mark: 20, hasMore: true }
		);
		assert.deepEqual(pageMark({ ...window, upTo: 8 }, []), { mark: 10, hasMore: false }, "a mark never goes back");
	});

	test("pages changes in version order, only below the cursor, leaving out messages as they were sent, and in one conversation", async () => {
		const log = await versionedLog();
		// seq 1..4 sent at versions 1..4; seq 2 edited at 5, seq 1 deleted at 6, seq 5 sent at 7 and edited at 8, seq 3 edited at 9.
		await log.insert(versioned("g1", 1, 1, 6));
		await log.insert(versioned("g1", 2, 2, 5));
		await log.insert(versioned("g1", 3, 3, 9));
		await log.insert(versioned("g1", 4, 4));
		await log.insert(versioned("g1", 5, 7, 8));
		await log.insert(versioned("g2", 1, 1, 7));
		const seqs = (page: { docs: MessageDoc[] }) => page.docs.map(d => d.seq);

		const all = await changesPage(log, "g1", { since: 0, upTo: 9, maxSeq: 4, limit: 10 });
		assert.deepEqual(seqs(all), [2, 1, 3]);
		assert.deepEqual([all.mark, all.hasMore], [9, false]);

		const first = await changesPage(log, "g1", { since: 0, upTo: 9, maxSeq: 4, limit: 2 });
		assert.deepEqual(seqs(first), [2], "a full page of raw changes: the creation at 4 counts toward the page but is left out");
		assert.deepEqual([first.mark, first.hasMore], [5, true]);
		const second = await changesPage(log, "g1", { since: first.mark, upTo: 9, maxSeq: 4, limit: 2 });
		assert.deepEqual(seqs(second), [1, 3]);
		assert.deepEqual([second.mark, second.hasMore], [9, true]);
		const third = await changesPage(log, "g1", { since: second.mark, upTo: 9, maxSeq: 4, limit: 2 });
		assert.deepEqual(seqs(third), []);
		assert.deepEqual([third.mark, third.hasMore], [9, false]);

		assert.deepEqual(
			seqs(await changesPage(log, "g1", { since: 5, upTo: 8, maxSeq: 5, limit: 10 })),
			[1, 5],
			"the window's end is inclusive, its start exclusive"
		);
		assert.deepEqual(seqs(await changesPage(log, "g1", { since: 9, upTo: 9, maxSeq: 5, limit: 10 })), []);
		assert.deepEqual(seqs(await changesPage(log, "g1", { since: 0, upTo: 9, maxSeq: 0, limit: 10 })), []);
	});

	test("the stored last version starts from the last message's and counts messages from before versions as their seq", async () => {
		const log = await versionedLog();
		assert.equal(await storedLastVersion(log, "g1", undefined), 0);
		const legacy = messageDoc("g1", 7);
		await log.insert(legacy);
		assert.equal(await storedLastVersion(log, "g1", legacy), 7);
		const last = versioned("g1", 8, 8);
		await log.insert(last);
		await log.insert(versioned("g1", 3, 3, 12));
		await log.insert(versioned("g9", 1, 1, 40));
		assert.equal(await storedLastVersion(log, "g1", last), 12);
	});

	test("sends and changes of a conversation share one gapless counter; a version taken elsewhere is retried", async () => {
		const log = await versionedLog();
		const sequencer = new Sequencer(log, g => maxSeq(log, g), {
			storedLastVersion: async g => storedLastVersion(log, g, (await log.find({ groupId: g }, { sort: ["-seq"], limit: 1 }))[0])
		});
		const send = () =>
			sequencer.store(
				"g1",
				(seq, version) => versioned("g1", seq, version),
				() => undefined
			);
		const first = await send();
		await send();
		const edit = (id: string) =>
			sequencer.change("g1", stamp => stamp(version => log.updateById(id, { $set: { version, groupVersion: groupVersionKey("g1", version) } })));
		assert.equal((await edit(first.doc._id))!.version, 3);
		// Another node gave version 4 meanwhile: the unique key refuses it here, and the next one is taken.
		await log.insert(versioned("g1", 50, 4));
		assert.equal((await edit(first.doc._id))!.version, 5);
		assert.equal(await sequencer.change("g1", stamp => stamp(async () => null)), null, "a change that found nothing to do");
		const third = await send();
		assert.deepEqual([third.doc.seq, third.doc.version], [3, 6]);
	});
});
