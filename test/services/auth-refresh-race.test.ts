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

	test(`${TRIALS} trials of ${CONCURRENT} concurrent refreshes of one token: nothing of the family survives`, async () => {
		const api = client(app);
		for (let trial = 0; trial < TRIALS; trial++) {
			const login = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
			assert.equal(login.status, 200);
			const { refreshToken } = login.body;
			const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => api.post("/api/auth/refresh", { refreshToken })));
			const won = answers.filter(a => a.status === 200);
			assert.ok(won.length <= 1, `trial ${trial}: ${won.length} refreshes won`);
			for (const a of answers.filter(a => a.status !== 200)) {
				assert.equal(a.status, 401, `trial ${trial}: ${JSON.stringify(a.body)}`);
				assert.ok(["REFRESH_TOKEN_REUSED", "INVALID_REFRESH_TOKEN"].includes(a.body.type), a.body.type);
			}
			assert.ok(
				answers.some(a => a.body.type === "REFRESH_TOKEN_REUSED"),
				`trial ${trial}: the reuse was detected`
			);
			// The winner's new token is of the revoked family, as is the original.
			const family = [refreshToken, ...won.map(w => w.body.refreshToken as string)];
			for (const token of family) {
				const again = await api.post("/api/auth/refresh", { refreshToken: token });
				assert.equal(again.status, 401, `trial ${trial}: a token of the revoked family still refreshes`);
			}
		}
	});

	test("a revoked family stays revoked: a later rotation of any of its tokens is refused", async () => {
		const api = client(app);
		const login = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
		const first = await api.post("/api/auth/refresh", { refreshToken: login.body.refreshToken });
		assert.equal(first.status, 200);
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: login.body.refreshToken })).body.type, "REFRESH_TOKEN_REUSED");
		const after = await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken });
		assert.equal(after.status, 401);
		assert.equal(after.body.type, "INVALID_REFRESH_TOKEN");
		// Other sign-ins are other families.
		const other = await api.post("/api/auth/login", { username: user.user.username, password: "correct horse battery" });
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: other.body.refreshToken })).status, 200);
	});
});
