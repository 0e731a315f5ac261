import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, test } from "node:test";
import { callNode, startReadyNode, TestCluster } from "../helpers/cluster.ts";

/**
 * A sender's read of their own message is written behind (up to a second later). kill -9 right after a
 * reply: the restarted node still counts the replier as having read what they answered, so receipts do not
 * move back and their unread count stays right.
 */

const PASSWORD = "correct horse battery";

describe("a sender's read after kill -9", { skip: !!process.env.MONGODB_URI && "NeDB files only", timeout: 120_000 }, () => {
	const cluster = new TestCluster();
	after(() => cluster.stop());

	test("is there after the restart, though the write-behind had not stored it", async () => {
		const env = { DATA_DIR: path.join(cluster.dir, "data") };
		let { node, base } = await startReadyNode(cluster, "first", env);
		const register = async (username: string) => (await callNode(base, "POST", "/api/auth/register", { username, password: PASSWORD })).body;
		const alice = await register(`alice_${process.pid % 1000}`);
		const bob = await register(`bob_${process.pid % 1000}`);
		const group = (await callNode(base, "POST", "/api/groups", { name: "Crash", memberIds: [bob.user.id] }, alice.accessToken)).body;
		const question = (await callNode(base, "POST", "/api/messages", { groupId: group.id, content: "q" }, alice.accessToken)).body;
		// Past the write-behind of alice's own read, then bob answers and the node dies at once.
		await new Promise(resolve => setTimeout(resolve, 1500));
		const answer = await callNode(base, "POST", "/api/messages", { groupId: group.id, content: "a" }, bob.accessToken);
		assert.equal(answer.status, 201);
		await node.kill("SIGKILL");

		({ node, base } = await startReadyNode(cluster, "second", env));
		const login = async (username: string) => (await callNode(base, "POST", "/api/auth/login", { username, password: PASSWORD })).body.accessToken;
		const [aliceToken, bobToken] = [await login(alice.user.username), await login(bob.user.username)];
		const receipts = (await callNode(base, "GET", `/api/messages/${question.id}/receipts`, undefined, aliceToken)).body;
		assert.deepEqual(receipts.seenBy, [bob.user.id], JSON.stringify(receipts));
		const bobs = (await callNode(base, "GET", `/api/groups/${group.id}`, undefined, bobToken)).body;
		assert.deepEqual([bobs.readSeq, bobs.unreadCount], [2, 0]);
		assert.match(node.log(), /Restored \d+ sender read/);
	});
});
