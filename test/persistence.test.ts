import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { client, registerUser, withDataFiles } from "./helpers/app.ts";

describe("embedded persistence", () => {
	test(
		"users, sessions, groups, messages and cursors survive a restart of the embedded app",
		{ skip: !!process.env.MONGODB_URI && "uses NeDB files" },
		async () => {
			await withDataFiles(async start => {
				let app = await start();
				const alice = await registerUser(app, "persist");
				const bob = await registerUser(app, "persist");
				const g = (await client(app, alice.accessToken).post("/api/groups", { name: "Durable", memberIds: [bob.user.id] })).body;
				for (let i = 1; i <= 5; i++) await client(app, alice.accessToken).post("/api/messages", { groupId: g.id, content: `m${i}`, clientMessageId: `c${i}` });
				await client(app, bob.accessToken).post(`/api/messages/${g.id}/seen`, { seq: 3 });
				await app.stop();

				app = await start();
				try {
					const login = await client(app).post("/api/auth/login", { username: alice.user.username, password: "correct horse battery" });
					assert.equal(login.status, 200, JSON.stringify(login.body));
					assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: bob.refreshToken })).status, 200, "refresh tokens survive");
					const a = client(app, alice.accessToken);
					const history = (await a.get(`/api/messages/${g.id}`)).body.items;
					assert.deepEqual(
						history.map((m: { seq: number; content: string }) => `${m.seq}:${m.content}`),
						["1:m1", "2:m2", "3:m3", "4:m4", "5:m5"]
					);
					const retried = await a.post("/api/messages", { groupId: g.id, content: "m5", clientMessageId: "c5" });
					assert.equal(retried.body.seq, 5, "idempotency survives the restart");
					const next = await a.post("/api/messages", { groupId: g.id, content: "m6" });
					assert.equal(next.body.seq, 6, "the sequence continues without a gap");
					assert.equal((await client(app, bob.accessToken).get(`/api/groups/${g.id}`)).body.unreadCount, 3);
				} finally {
					await app.stop();
				}
			});
		}
	);

	test(
		"ended sign-ins stay ended across a restart, and a refresh retried after one still gets its successor",
		{ skip: !!process.env.MONGODB_URI && "uses NeDB files" },
		async () => {
			await withDataFiles(async start => {
				let app = await start();
				const [leaver, changer, lost] = await Promise.all([registerUser(app, "ended"), registerUser(app, "ended"), registerUser(app, "ended")]);
				assert.equal((await client(app).post("/api/auth/logout", { refreshToken: leaver.refreshToken })).status, 200);
				const changed = await client(app, changer.accessToken).post("/api/auth/password", {
					currentPassword: "correct horse battery",
					newPassword: "a brand new secret"
				});
				assert.equal(changed.status, 200);
				const unanswered = await client(app).post("/api/auth/refresh", { refreshToken: lost.refreshToken });
				assert.equal(unanswered.status, 200);
				await app.stop();

				app = await start();
				try {
					for (const token of [leaver.accessToken, changer.accessToken]) {
						const res = await client(app, token).get("/api/users/profile");
						assert.equal(res.status, 401);
						assert.equal(res.body.type, "SESSION_REVOKED");
					}
					assert.equal((await client(app, changed.body.accessToken).get("/api/users/profile")).status, 200);
					const retried = await client(app).post("/api/auth/refresh", { refreshToken: lost.refreshToken });
					assert.equal(retried.status, 200, JSON.stringify(retried.body));
					assert.equal(retried.body.refreshToken, unanswered.body.refreshToken);
				} finally {
					await app.stop();
				}
			});
		}
	);
});
