import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { client, registerUser, tempDataDir, type TestUser } from "../helpers/app.ts";
import {
	collectTopics,
	deferredCleanups,
	firstSeen,
	kcatSkip,
	spawnChatNode,
	startMockKafka,
	waitFor,
	type ChatProcess,
	type Collector,
	type MockKafka
} from "../helpers/kafka.ts";

const defer = deferredCleanups();

test("a chat node killed -9 while it streams loses no event once it is back", { skip: kcatSkip(), timeout: 240_000 }, async () => {
	const kafka: MockKafka = await startMockKafka();
	defer(() => kafka.stop());
	const data = tempDataDir();
	defer(() => data.remove());
	const env = {
		DATA_DIR: data.dir,
		JWT_SECRET: randomBytes(32).toString("hex"),
		KAFKA_BROKERS: kafka.brokers.join(","),
		KAFKA_IDEMPOTENT: "false",
		KAFKA_POLL_INTERVAL_MS: "200",
		RATE_LIMIT_PER_MINUTE: "100000",
		SEND_RATE_PER_SECOND: "1000",
		SEND_RATE_BURST: "1000"
	};
	const collector: Collector = await collectTopics(kafka.brokers, ["chat.messages"]);
	defer(() => collector.stop());
	let node: ChatProcess = await spawnChatNode(env);
	defer(() => node.kill());

	const [alice, bob] = [await registerUser(node, "alice"), await registerUser(node, "bob")];
	const groups: string[] = [];
	for (const owner of [alice, bob]) {
		const res = await client(node, owner.accessToken).post("/api/groups", {
			name: `Crash ${owner.user.username}`,
			memberIds: [owner === alice ? bob.user.id : alice.user.id]
		});
		assert.equal(res.status, 201, JSON.stringify(res.body));
		groups.push(res.body.id);
	}
	const acknowledged = new Map<string, Set<number>>(groups.map(g => [g, new Set()]));
	const created = (groupId: string) =>
		firstSeen(collector.records)
			.filter(r => r.event.type === "message.created" && r.event.groupId === groupId)
			.map(r => (r.event.payload as { message: { seq: number } }).message.seq);

	// Two senders stream into two conversations until the node is killed under them.
	let killed = false;
	const sender = async (user: TestUser, groupId: string) => {
		for (let i = 0; !killed; i++) {
			try {
				const res = await client(node, user.accessToken).post("/api/messages", { groupId, content: `before ${i}` });
				if (res.status === 201) acknowledged.get(groupId)!.add(res.body.seq);
			} catch {
				return; // the node is gone
			}
		}
	};
	const sending = Promise.all([sender(alice, groups[0]), sender(bob, groups[1])]);
	await waitFor("the stream to be under way", () => created(groups[0]).length >= 40 && created(groups[1]).length >= 40, 90_000, 5);
	killed = true;
	await node.kill();
	await sending;
	const beforeKill = groups.map(g => acknowledged.get(g)!.size);
	assert.ok(
		beforeKill.every(n => n >= 40),
		`sent ${beforeKill}`
	);

	node = await spawnChatNode(env);
	for (const [user, groupId] of [
		[alice, groups[0]],
		[bob, groups[1]]
	] as const) {
		for (let i = 0; i < 5; i++) {
			const res = await client(node, user.accessToken).post("/api/messages", { groupId, content: `after ${i}` });
			assert.equal(res.status, 201, JSON.stringify(res.body));
			acknowledged.get(groupId)!.add(res.body.seq);
		}
	}

	for (const groupId of groups) {
		const wanted = [...acknowledged.get(groupId)!];
		const last = Math.max(...wanted);
		await waitFor(
			`every acknowledged message of ${groupId} on Kafka`,
			() => {
				const seen = new Set(created(groupId));
				return wanted.every(seq => seen.has(seq));
			},
			120_000
		);
		// A de-duplicating consumer sees the conversation complete and in order (a send cut off by the kill may add one more).
		const seqs = created(groupId);
		assert.deepEqual(
			seqs.slice(0, last),
			Array.from({ length: last }, (_, i) => i + 1)
		);
	}
});
