import assert from "node:assert/strict";
import path from "node:path";
import { after, describe, test } from "node:test";
import { callNode, startReadyNode, TestCluster, type NodeProcess } from "../helpers/cluster.ts";

/**
 * A node killed at random points (SIGTERM, then SIGKILL a moment later, as an impatient orchestrator does)
 * and started again on the same DATA_DIR, ten times, while a client writes: every start succeeds, and
 * every write that was acknowledged is there afterwards, once.
 */

const ROUNDS = 10;
const PASSWORD = "correct horse battery";

interface Acknowledged {
	users: string[];
	messages: Map<string, string>; // clientMessageId → content
}

/** Writes until told to stop: new users (users.db, auth's files) and messages (messages.db); records what was acknowledged. */
async function writeUntil(stop: AbortSignal, base: string, session: { token: string; groupId: string }, round: number, acked: Acknowledged): Promise<void> {
	for (let i = 0; !stop.aborted; i++) {
		try {
			if (i % 3 === 0) {
				const username = `r${round}_${i}_${process.pid % 1000}`;
				const res = await callNode(base, "POST", "/api/auth/register", { username, password: PASSWORD });
				if (res.status === 201) acked.users.push(username);
			} else {
				const clientMessageId = `r${round}-${i}`;
				const content = `round ${round} message ${i}`;
				const res = await callNode(base, "POST", "/api/messages", { groupId: session.groupId, content, clientMessageId }, session.token);
				if (res.status === 201 || res.status === 200) acked.messages.set(clientMessageId, content);
			}
		} catch {
			// the node went away mid-request: not acknowledged
			await new Promise(resolve => setTimeout(resolve, 5));
		}
	}
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe("restart on the same DATA_DIR", { skip: !!process.env.MONGODB_URI && "NeDB files only", timeout: 420_000 }, () => {
	const cluster = new TestCluster();
	after(() => cluster.stop());

	test(`${ROUNDS} kills at random points: every start succeeds and keeps every acknowledged write`, async () => {
		const env = { DATA_DIR: path.join(cluster.dir, "data"), SEND_RATE_PER_SECOND: "1000", SEND_RATE_BURST: "1000", RATE_LIMIT_PER_MINUTE: "100000" };
		const acked: Acknowledged = { users: [], messages: new Map() };
		let { node, base } = await startReadyNode(cluster, "setup", env);
		const owner = (await callNode(base, "POST", "/api/auth/register", { username: `owner_${process.pid % 1000}`, password: PASSWORD })).body;
		const group = (await callNode(base, "POST", "/api/groups", { name: "restarts", memberIds: [] }, owner.accessToken)).body;
		const ownerName: string = owner.user.username;
		assert.equal(await node.kill("SIGTERM"), 0, node.log());

		let next: Promise<{ node: NodeProcess; base: string }> = startReadyNode(cluster, "round-0", env);
		for (let round = 0; round < ROUNDS; round++) {
			({ node, base } = await next);
			const login = await callNode(base, "POST", "/api/auth/login", { username: ownerName, password: PASSWORD });
			assert.equal(login.status, 200, JSON.stringify(login.body));
			const stop = new AbortController();
			const writing = Promise.all([0, 1].map(() => writeUntil(stop.signal, base, { token: login.body.accessToken, groupId: group.id }, round, acked)));
			await sleep(50 + Math.random() * 400);
			node.process.kill("SIGTERM");
			// Every other round the next node starts while this one is still stopping (an orchestrator that does not wait).
			const overlap = round % 2 === 1;
			const name = round + 1 < ROUNDS ? `round-${round + 1}` : "final";
			if (overlap) next = startReadyNode(cluster, name, env);
			await sleep(Math.random() * 1000);
			node.process.kill("SIGKILL");
			await node.exited;
			stop.abort();
			await writing;
			if (!overlap) next = startReadyNode(cluster, name, env);
		}

		({ node, base } = await next);
		try {
			const login = await callNode(base, "POST", "/api/auth/login", { username: ownerName, password: PASSWORD });
			const token = login.body.accessToken;
			const history: { seq: number; clientMessageId: string; content: string }[] = [];
			for (let after = 0; ;) {
				const page = (await callNode(base, "GET", `/api/messages/${group.id}?after=${after}&limit=100`, undefined, token)).body.items;
				if (page.length === 0) break;
				history.push(...page);
				after = page[page.length - 1].seq;
			}
			assert.deepEqual(
				history.map(m => m.seq),
				history.map((_, i) => i + 1),
				"seqs without gaps or repeats"
			);
			const stored = new Map(history.map(m => [m.clientMessageId, m.content]));
			assert.equal(stored.size, history.length, "no message stored twice");
			for (const [clientMessageId, content] of acked.messages) assert.equal(stored.get(clientMessageId), content, `acknowledged ${clientMessageId} is kept`);
			for (const username of acked.users) {
				const res = await callNode(base, "POST", "/api/auth/login", { username, password: PASSWORD });
				assert.equal(res.status, 200, `acknowledged registration of ${username} is kept`);
			}
			assert.ok(acked.messages.size > ROUNDS, `the writers got through (${acked.messages.size} messages, ${acked.users.length} users)`);
		} finally {
			await node.kill("SIGTERM");
		}
	});
});
