import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
	eventIdTime,
	makeEnvelope,
	newEventId,
	outboxFields,
	outboxUpdate,
	publishableEvents,
	type EventEnvelope,
	type OutboxFields
} from "../../lib/outbox.ts";

/** An event id that sorts by `n` (real ids are time-ordered hex of the same length). */
const id = (n: number) => n.toString(16).padStart(24, "0");

function event(n: number, groupId = "g1"): EventEnvelope {
	return { id: id(n), type: "message.seen", version: 1, occurredAt: new Date(0).toISOString(), groupId, payload: { userId: "u1", seq: n } };
}

/** A pending document as the owner reads it: its outbox in push order, outboxNext the smallest id in it. */
function doc(_id: string, ...events: number[]): OutboxFields & { _id: string } {
	return { _id, outbox: events.map(n => event(n)), outboxNext: id(Math.min(...events)) };
}

const published = (entries: ReturnType<typeof publishableEvents>) => entries.map(e => `${e.docId}:${parseInt(e.event.id, 16)}`);

describe("publishableEvents", () => {
	test("orders the events of a page by id across documents and names where each one lives", () => {
		const entries = publishableEvents("cursors", [doc("a", 1, 4), doc("b", 2, 3), doc("c", 5)], 10);
		assert.deepEqual(published(entries), ["a:1", "b:2", "b:3", "a:4", "c:5"]);
		assert.ok(entries.every(e => e.collection === "cursors"));
		assert.deepEqual(entries[0].event, event(1));
	});

	test("a page shorter than the limit is the whole backlog: every event is publishable", () => {
		assert.deepEqual(published(publishableEvents("messages", [doc("a", 1, 9), doc("b", 2)], 3)), ["a:1", "b:2", "a:9"]);
	});

	test("a full page publishes only up to its last outboxNext: a document beyond it may hold an older event", () => {
		// limit 2: a third document (outboxNext 4, say) may exist beyond the page, so 5 and 6 must wait.
		const entries = publishableEvents("messages", [doc("a", 1, 5), doc("b", 3, 6)], 2);
		assert.deepEqual(published(entries), ["a:1", "b:3"]);
		assert.deepEqual(published(publishableEvents("messages", [doc("a", 1, 3), doc("b", 3)], 2)), ["a:1", "a:3", "b:3"], "the cutoff itself is included");
	});

	test("several events of one document keep the order they were pushed in, even when a node's clock ran ahead", () => {
		// 7 was pushed before 2 (clock skew between nodes): 2 must not overtake it, so it goes out right after 7.
		const skewed = { _id: "a", outbox: [event(7), event(2)], outboxNext: id(2) };
		const entries = publishableEvents("messages", [skewed, doc("b", 3), doc("c", 8)], 10);
		assert.deepEqual(published(entries), ["b:3", "a:7", "a:2", "c:8"]);
	});

	test("documents whose outbox was emptied contribute nothing", () => {
		assert.deepEqual(publishableEvents("messages", [], 10), []);
		const emptied = [{ _id: "a", outbox: [], outboxNext: id(1) }, { _id: "b" }, doc("c", 2)];
		assert.deepEqual(published(publishableEvents("messages", emptied, 10)), ["c:2"]);
	});
});

describe("event ids and outbox writes", () => {
	test("an id is 24 hex characters and carries its time", () => {
		const at = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
		const eventId = newEventId(at);
		assert.match(eventId, /^[a-f0-9]{24}$/);
		assert.equal(eventIdTime(eventId), at);
		assert.ok(newEventId(at + 1) > eventId, "a later millisecond sorts after");
	});

	test("the envelope, and the fields or update that record it with the change", () => {
		const occurredAt = new Date(Date.UTC(2025, 0, 1));
		const envelope = makeEnvelope("message.delivered", "g1", { userId: "u1", seq: 3 }, occurredAt);
		assert.deepEqual(
			{ ...envelope, id: "" },
			{ id: "", type: "message.delivered", version: 1, occurredAt: occurredAt.toISOString(), groupId: "g1", payload: { userId: "u1", seq: 3 } }
		);
		assert.equal(eventIdTime(envelope.id), occurredAt.getTime());
		assert.deepEqual(outboxFields(envelope), { outbox: [envelope], outboxNext: envelope.id });
		assert.deepEqual(outboxUpdate(envelope), { $push: { outbox: envelope }, $min: { outboxNext: envelope.id } });
		assert.deepEqual(outboxFields(null), {}, "nothing when streaming is off");
		assert.deepEqual(outboxUpdate(null), {});
	});
});
