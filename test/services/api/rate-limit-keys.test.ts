import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import jwt from "jsonwebtoken";
import { client, registerUser, startTestApp, type TestApp, type TestUser } from "../../helpers/app.ts";

const LIMIT = 20;
const randomId = () => randomBytes(12).toString("hex");

/** Tokens an attacker can make without the secret: unsigned, signed with a guess, or with a mangled signature. */
function forgedTokens(sub: string, realToken: string): string[] {
	const unsigned = jwt.sign({ typ: "access", username: "victim" }, "", { algorithm: "none", subject: sub });
	const guessed = jwt.sign({ typ: "access", username: "victim" }, "guessed-secret", { algorithm: "HS256", subject: sub, expiresIn: 900 });
	const [head, payload] = realToken.split(".");
	const resigned = `${head}.${payload}.${randomBytes(32).toString("base64url")}`;
	return [unsigned, guessed, resigned];
}

describe("REST rate limit buckets", () => {
	let app: TestApp;
	let victim: TestUser;

	before(async () => {
		app = await startTestApp({ rateLimit: { restPerMinute: LIMIT, sendPerSecond: 20, sendBurst: 40 } });
		victim = await registerUser(app, "victim");
	});
	after(() => app.stop());

	test("forged tokens naming the victim count against the sender's address, never the victim's bucket", async () => {
		const statuses: number[] = [];
		// Three windows' worth, so a window boundary in the middle still leaves 429s to see.
		for (let i = 0; i < LIMIT * 3; i++) {
			const token = forgedTokens(victim.user.id, victim.accessToken)[i % 3];
			statuses.push((await client(app, token).get("/api/groups")).status);
		}
		// Every forged request is refused by authentication until the address is out of requests.
		assert.ok(
			statuses.every(s => s === 401 || s === 429),
			statuses.join(",")
		);
		assert.ok(statuses.includes(429), "the address runs out of requests");
		const own = client(app, victim.accessToken);
		for (let i = 0; i < LIMIT - 1; i++) assert.equal((await own.get("/api/users/profile")).status, 200, `victim request ${i}`);
	});

	test("a random forged sub per request does not escape the address limit on signed downloads", async () => {
		const other = await startTestApp({ rateLimit: { restPerMinute: LIMIT, sendPerSecond: 20, sendBurst: 40 } });
		try {
			const statuses: number[] = [];
			for (let i = 0; i < LIMIT * 3; i++) {
				const token = jwt.sign({ typ: "access" }, "guessed-secret", { algorithm: "HS256", subject: randomId() });
				statuses.push((await client(other, token).get(`/api/assets/${randomId()}/original?exp=1&sig=x`)).status);
			}
			// At least one window's worth refused, even if a window boundary falls inside the loop.
			assert.ok(statuses.filter(s => s === 429).length >= LIMIT, statuses.join(","));
		} finally {
			await other.stop();
		}
	});
});
