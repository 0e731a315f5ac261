import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../helpers/app.ts";

const TRIALS = 20;
const CONCURRENT = 8;

describe("refresh token reuse under concurrency", () => {
	let app: TestApp;
	let user: TestUser;

	before(async () => {
		app = await startTestApp({ rateLimit: { restPerMinute: 100_000, sendPerSecond: 20, sendBurst: 40 } });
		user = await registerUser(app, "race");
	});
	after(() => app.stop());

	test(`${TRIALS} trials of ${CONCURRENT} concurrent refreshes of one token: one successor for all; once it was used, the token revokes everything of the sign-in`, async () => {
		const api = client(app);
		for (let trial = 0; trial < TRIALS; trial++) {
			const login = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
			assert.equal(login.status, 200);
			const { refreshToken } = login.body;
			const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => api.post("/api/auth/refresh", { refreshToken })));
			for (const a of answers) assert.equal(a.status, 200, `trial ${trial}: ${JSON.stringify(a.body)}`);
			const successors = new Set(answers.map(a => a.body.refreshToken as string));
			assert.equal(successors.size, 1, `trial ${trial}: ${successors.size} successors`);
			const [successor] = successors;
			const next = await api.post("/api/auth/refresh", { refreshToken: successor });
			assert.equal(next.status, 200);
			// Now the original is a copy someone else kept: the whole sign-in ends.
			const replays = await Promise.all(Array.from({ length: CONCURRENT }, () => api.post("/api/auth/refresh", { refreshToken })));
			assert.ok(
				replays.some(a => a.body.type === "REFRESH_TOKEN_REUSED"),
				`trial ${trial}: the reuse was detected`
			);
			for (const a of replays) assert.equal(a.status, 401, `trial ${trial}: ${JSON.stringify(a.body)}`);
			for (const token of [refreshToken, successor, next.body.refreshToken]) {
				const again = await api.post("/api/auth/refresh", { refreshToken: token });
				assert.equal(again.status, 401, `trial ${trial}: a token of the revoked family still refreshes`);
			}
			for (const token of [...answers.map(a => a.body.accessToken as string), next.body.accessToken]) {
				assert.equal((await client(app, token).get("/api/users/profile")).body.type, "SESSION_REVOKED", `trial ${trial}: an access token survived`);
			}
		}
	});

	test("a revoked family stays revoked: a later rotation of any of its tokens is refused", async () => {
		const api = client(app);
		const login = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
		const first = await api.post("/api/auth/refresh", { refreshToken: login.body.refreshToken });
		assert.equal(first.status, 200);
		const second = await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken });
		assert.equal(second.status, 200);
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: login.body.refreshToken })).body.type, "REFRESH_TOKEN_REUSED");
		for (const token of [first.body.refreshToken, second.body.refreshToken]) {
			const after = await api.post("/api/auth/refresh", { refreshToken: token });
			assert.equal(after.status, 401);
			assert.equal(after.body.type, "INVALID_REFRESH_TOKEN");
		}
		// Other sign-ins are other families.
		const other = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: other.body.refreshToken })).status, 200);
	});
});
