import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createHash } from "node:crypto";
import bcrypt from "bcrypt";
import jwt from "jsonwebtoken";
import type { Collection } from "../../mixins/db.mixin.ts";
import type { CredentialDoc } from "../../services/auth/documents.ts";
import { client, registerUser, startTestApp, type TestApp } from "../helpers/app.ts";
import { closeAll, connectSocket, disconnected, emitWithAck, openSocket, socketUrl, waitForEvent } from "../helpers/socket.ts";

describe("auth", () => {
	let app: TestApp;
	before(async () => {
		app = await startTestApp();
	});
	after(() => app.stop());

	test("register returns the user and a token pair; usernames are unique case-insensitively", async () => {
		const api = client(app);
		const res = await api.post("/api/auth/register", { username: "Dora.Explorer", password: "long enough", displayName: "Dora" });
		assert.equal(res.status, 201);
		assert.equal(res.body.user.username, "dora.explorer");
		assert.equal(res.body.user.displayName, "Dora");
		assert.ok(res.body.accessToken && res.body.refreshToken);
		assert.equal(res.body.expiresIn, 15 * 60);
		assert.equal(res.body.user.passwordHash, undefined);
		const again = await api.post("/api/auth/register", { username: "DORA.explorer", password: "another one" });
		assert.equal(again.status, 409);
		assert.equal(again.body.type, "USERNAME_TAKEN");
	});

	test("registration rejects bad usernames and passwords, naming the field", async () => {
		const api = client(app);
		const cases: [unknown, string][] = [
			[{ username: "ab", password: "long enough" }, "username"],
			[{ username: "a".repeat(33), password: "long enough" }, "username"],
			[{ username: "bad name!", password: "long enough" }, "username"],
			[{ username: "goodname", password: "short" }, "password"],
			[{ username: "goodname", password: "x".repeat(129) }, "password"],
			[{ username: { $gt: "" }, password: "long enough" }, "username"],
			[{ password: "long enough" }, "username"]
		];
		for (const [body, field] of cases) {
			const res = await api.post("/api/auth/register", body);
			assert.equal(res.status, 422, JSON.stringify(body));
			assert.ok(
				res.body.data.some((p: { field: string }) => p.field === field),
				JSON.stringify(res.body)
			);
			assert.match(res.body.message, new RegExp(field));
		}
		assert.equal((await api.post("/api/auth/login", { username: "goodname", password: "long enough" })).status, 401);
	});

	test("login accepts the right password only, and does not say which part was wrong", async () => {
		const { user } = await registerUser(app, "login");
		const api = client(app);
		const ok = await api.post("/api/auth/login", { username: user.username.toUpperCase(), password: "correct horse battery" });
		assert.equal(ok.status, 200);
		assert.equal(ok.body.user.id, user.id);
		const wrong = await api.post("/api/auth/login", { username: user.username, password: "wrong horse battery" });
		const unknown = await api.post("/api/auth/login", { username: "nobody_here", password: "wrong horse battery" });
		assert.equal(wrong.status, 401);
		assert.equal(unknown.status, 401);
		assert.equal(wrong.body.message, unknown.body.message);
	});

	test("passwords longer than bcrypt's 72 bytes still count in full", async () => {
		const api = client(app);
		const base = "p".repeat(80);
		const reg = await api.post("/api/auth/register", { username: "longpass", password: base + "A" });
		assert.equal(reg.status, 201);
		assert.equal((await api.post("/api/auth/login", { username: "longpass", password: base + "B" })).status, 401);
		assert.equal((await api.post("/api/auth/login", { username: "longpass", password: base + "A" })).status, 200);
	});

	test("a password is the same password in any Unicode form; hashes of the form as typed still sign in and are upgraded", async () => {
		const api = client(app);
		const composed = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e";
		const decomposed = composed.normalize("NFD");
		assert.equal((await api.post("/api/auth/register", { username: "unicode_pw", password: composed })).status, 201);
		assert.equal((await api.post("/api/auth/login", { username: "unicode_pw", password: decomposed })).status, 200, "typed decomposed");
		assert.equal((await api.post("/api/auth/login", { username: "unicode_pw", password: composed })).status, 200, "typed composed");

		// An account whose hash was made of the decomposed password as typed, before passwords were normalized.
		const old = await api.post("/api/auth/register", { username: "legacy_pw", password: "placeholder password" });
		const credentials = (app.broker.getLocalService("auth") as unknown as { db: { credentials: Collection<CredentialDoc> } }).db.credentials;
		const legacyHash = await bcrypt.hash(createHash("sha256").update(decomposed, "utf8").digest("base64"), 4);
		await credentials.updateById(old.body.user.id, { $set: { passwordHash: legacyHash } });
		assert.equal((await api.post("/api/auth/login", { username: "legacy_pw", password: "placeholder password" })).status, 401);
		assert.equal((await api.post("/api/auth/login", { username: "legacy_pw", password: decomposed })).status, 200, "the legacy hash still signs in");
		assert.notEqual((await credentials.findById(old.body.user.id))?.passwordHash, legacyHash, "and is replaced by a hash of the normalized password");
		assert.equal((await api.post("/api/auth/login", { username: "legacy_pw", password: composed })).status, 200, "now in either form");
		assert.equal((await api.post("/api/auth/login", { username: "legacy_pw", password: decomposed })).status, 200);
	});

	test("refresh rotates the token; reusing a rotated token revokes the whole family", async () => {
		const session = await registerUser(app, "rot");
		const api = client(app);
		const first = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(first.status, 200);
		assert.notEqual(first.body.refreshToken, session.refreshToken);
		const me = await client(app, first.body.accessToken).get("/api/users/profile");
		assert.equal(me.body.id, session.user.id);

		const second = await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken });
		assert.equal(second.status, 200);

		// An attacker replays the first (already rotated) token: the family dies, including the newest token.
		const replay = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(replay.status, 401);
		assert.equal(replay.body.type, "REFRESH_TOKEN_REUSED");
		const newest = await api.post("/api/auth/refresh", { refreshToken: second.body.refreshToken });
		assert.equal(newest.status, 401);

		// Other sessions of the same user are separate families and survive.
		const other = await api.post("/api/auth/login", { username: session.user.username, password: "correct horse battery" });
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: other.body.refreshToken })).status, 200);
	});

	test("a refresh whose answer was lost is retried with the same token and gets the same successor; once that was used, the old token revokes the sign-in", async () => {
		const session = await registerUser(app, "lost");
		const api = client(app);
		const lost = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(lost.status, 200);
		// The answer never reached the client (a reload, a dropped connection): it presents the same token again.
		const retried = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(retried.status, 200, JSON.stringify(retried.body));
		assert.equal(retried.body.refreshToken, lost.body.refreshToken, "the same successor");
		assert.equal((await client(app, retried.body.accessToken).get("/api/users/profile")).status, 200);
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: session.refreshToken })).body.refreshToken, lost.body.refreshToken);

		const next = await api.post("/api/auth/refresh", { refreshToken: retried.body.refreshToken });
		assert.equal(next.status, 200);
		// The successor was used: a copy of the old token now is a stolen one.
		const replay = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(replay.status, 401);
		assert.equal(replay.body.type, "REFRESH_TOKEN_REUSED");
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: next.body.refreshToken })).status, 401);
		const access = await client(app, next.body.accessToken).get("/api/users/profile");
		assert.equal(access.status, 401);
		assert.equal(access.body.type, "SESSION_REVOKED", "the sign-in's access tokens end with it");
	});

	test("a token handed out twice allows no retry of its own rotation: its second holder ends the sign-in", async () => {
		const session = await registerUser(app, "twice");
		const api = client(app);
		const first = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		// A copy of the first token, used within the window: both now hold the same successor.
		const copy = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		assert.equal(copy.body.refreshToken, first.body.refreshToken);
		const owner = await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken });
		assert.equal(owner.status, 200);
		// The other holder, a moment later: not taken for a lost answer again.
		const other = await api.post("/api/auth/refresh", { refreshToken: copy.body.refreshToken });
		assert.equal(other.status, 401);
		assert.equal(other.body.type, "REFRESH_TOKEN_REUSED");
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: owner.body.refreshToken })).status, 401);
	});

	test("what a rotated token keeps for a retry opens only with that token's secret, and goes once its successor is used", async () => {
		const session = await registerUser(app, "sealed");
		const api = client(app);
		const tokens = (app.broker.getLocalService("auth") as unknown as { db: { refreshTokens: { findById(id: string): Promise<Record<string, unknown>> } } }).db
			.refreshTokens;
		const [firstId] = session.refreshToken.split(".");
		const first = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
		const stored = await tokens.findById(firstId);
		assert.equal(typeof stored.successorSealed, "string");
		assert.ok(!String(stored.successorSealed).includes(first.body.refreshToken.split(".")[1]), "not in the clear");
		// A forged retry with the right id and another secret is refused like any wrong token, and ends nothing.
		const forged = await api.post("/api/auth/refresh", { refreshToken: `${firstId}.${"A".repeat(43)}` });
		assert.equal(forged.body.type, "INVALID_REFRESH_TOKEN");
		assert.equal((await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken })).status, 200);
		assert.equal((await tokens.findById(firstId)).successorSealed, undefined, "gone once the successor was used");
	});

	test("past the retry window a rotated token revokes the sign-in at once", async () => {
		const strict = await startTestApp({ jwt: { ...app.config.jwt, refreshRetrySeconds: 0 } });
		try {
			const session = await registerUser(strict, "strict");
			const api = client(strict);
			const first = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
			assert.equal(first.status, 200);
			const replay = await api.post("/api/auth/refresh", { refreshToken: session.refreshToken });
			assert.equal(replay.body.type, "REFRESH_TOKEN_REUSED");
			assert.equal((await api.post("/api/auth/refresh", { refreshToken: first.body.refreshToken })).status, 401);
			assert.equal((await client(strict, first.body.accessToken).get("/api/users/profile")).body.type, "SESSION_REVOKED");
		} finally {
			await strict.stop();
		}
	});

	test("logout ends that sign-in: its refresh and access tokens and its sockets; the user's other sign-ins go on", async () => {
		const session = await registerUser(app, "out");
		const phone = await client(app).post("/api/auth/login", { username: session.user.username, password: "correct horse battery" });
		const refreshed = await client(app).post("/api/auth/refresh", { refreshToken: session.refreshToken });
		const url = socketUrl(app.broker);
		const [tab, otherTab, phoneSocket] = await Promise.all([
			connectSocket(url, session.accessToken),
			connectSocket(url, refreshed.body.accessToken),
			connectSocket(url, phone.body.accessToken)
		]);
		try {
			const told = [tab, otherTab].map(socket => waitForEvent<{ reason: string }>(socket, "session.revoked"));
			const gone = [tab, otherTab].map(socket => disconnected(socket));
			const api = client(app, session.accessToken);
			assert.equal((await api.post("/api/auth/logout", { refreshToken: refreshed.body.refreshToken })).status, 200);
			for (const reason of await Promise.all(told)) assert.equal(reason.reason, "You signed out in another tab.");
			await Promise.all(gone);
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: refreshed.body.refreshToken })).status, 401);
			for (const token of [session.accessToken, refreshed.body.accessToken]) {
				const res = await client(app, token).get("/api/users/profile");
				assert.equal(res.status, 401);
				assert.equal(res.body.type, "SESSION_REVOKED");
			}
			await assert.rejects(connectSocket(url, refreshed.body.accessToken, { reconnection: false }), "no socket opens with it");

			assert.equal((await client(app, phone.body.accessToken).get("/api/users/profile")).status, 200, "the phone is another sign-in");
			assert.ok(phoneSocket.connected);
			assert.equal((await emitWithAck(phoneSocket, "presence.query", { userIds: [session.user.id] })).ok, true);
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: phone.body.refreshToken })).status, 200);
		} finally {
			closeAll(tab, otherTab, phoneSocket);
		}
	});

	test("garbage refresh tokens are 401 or 422, never 500", async () => {
		const api = client(app);
		for (const refreshToken of ["x".repeat(20), "aaaaaaaaaaaaaaaaaaaaaaaa.bbbb", "..........", 42, null, { $ne: 1 }]) {
			const res = await api.post("/api/auth/refresh", { refreshToken });
			assert.ok(res.status === 401 || res.status === 422, `${JSON.stringify(refreshToken)} → ${res.status}`);
		}
	});

	test("expired, forged and malformed access tokens are rejected with 401", async () => {
		const session = await registerUser(app, "exp");
		const secret = app.config.jwt.secret;
		const expired = jwt.sign({ typ: "access", username: session.user.username }, secret, { subject: session.user.id, expiresIn: -10 });
		const forged = jwt.sign({ typ: "access", username: session.user.username }, "not the secret", { subject: session.user.id, expiresIn: 60 });
		const noneAlg = jwt.sign({ typ: "access", sub: session.user.id }, "", { algorithm: "none" });
		const res = await client(app, expired).get("/api/users/profile");
		assert.equal(res.status, 401);
		assert.equal(res.body.type, "TOKEN_EXPIRED");
		for (const token of [forged, noneAlg, "abc", session.refreshToken]) {
			assert.equal((await client(app, token).get("/api/users/profile")).status, 401, token);
		}
		assert.equal((await client(app).get("/api/users/profile", { authorization: "Basic abc" })).status, 401);
	});
});

describe("password change", () => {
	let app: TestApp;
	before(async () => {
		app = await startTestApp();
	});
	after(() => app.stop());

	test("the current password is asked for; every other session ends, this device gets a new one", async () => {
		const { user, accessToken } = await registerUser(app, "changer");
		const password = "correct horse battery";
		const other = await client(app).post("/api/auth/login", { username: user.username, password });
		const otherSocket = await connectSocket(socketUrl(app.broker), other.body.accessToken);
		try {
			const me = client(app, accessToken);
			const wrong = await me.post("/api/auth/password", { currentPassword: "not it at all", newPassword: "a brand new secret" });
			assert.equal(wrong.status, 422);
			assert.deepEqual(
				wrong.body.data.map((d: { field: string; type: string }) => [d.field, d.type]),
				[["currentPassword", "wrongPassword"]]
			);
			assert.equal((await me.post("/api/auth/password", { currentPassword: password, newPassword: "short" })).status, 422);
			assert.equal((await me.post("/api/auth/password", { currentPassword: password, newPassword: password })).body.data[0].type, "samePassword");
			assert.equal((await client(app).post("/api/auth/login", { username: user.username, password })).status, 200, "nothing changed yet");

			const revoked = waitForEvent<{ reason: string }>(otherSocket, "session.revoked");
			const gone = disconnected(otherSocket);
			const changed = await me.post("/api/auth/password", { currentPassword: password, newPassword: "a brand new secret" });
			assert.equal(changed.status, 200, JSON.stringify(changed.body));
			assert.equal(changed.body.user.id, user.id);
			assert.equal((await revoked).reason, "Your password was changed. Sign in with the new one.");
			await gone;

			assert.equal((await client(app, changed.body.accessToken).get("/api/users/profile")).status, 200, "the new session works");
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: changed.body.refreshToken })).status, 200);
			const old = await client(app, accessToken).get("/api/users/profile");
			assert.equal(old.status, 401);
			assert.equal(old.body.type, "SESSION_REVOKED", "the old access token of this device too");
			assert.equal((await client(app, other.body.accessToken).get("/api/users/profile")).body.type, "SESSION_REVOKED");
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: other.body.refreshToken })).status, 401);
			await assert.rejects(connectSocket(socketUrl(app.broker), other.body.accessToken, { reconnection: false }), "the other device's token opens no socket");
			assert.equal((await client(app).post("/api/auth/login", { username: user.username, password })).status, 401, "the old password is gone");
			assert.equal((await client(app).post("/api/auth/login", { username: user.username, password: "a brand new secret" })).status, 200);
		} finally {
			closeAll(otherSocket);
		}
	});

	test("signing out of all other devices ends their sessions and sockets; this device goes on with a new session", async () => {
		const { user, accessToken } = await registerUser(app, "leaver");
		const other = await client(app).post("/api/auth/login", { username: user.username, password: "correct horse battery" });
		const otherSocket = await connectSocket(socketUrl(app.broker), other.body.accessToken);
		try {
			assert.equal((await client(app).post("/api/auth/logout-others", {})).status, 401);
			const revoked = waitForEvent<{ reason: string }>(otherSocket, "session.revoked");
			const gone = disconnected(otherSocket);
			const fresh = await client(app, accessToken).post("/api/auth/logout-others", {});
			assert.equal(fresh.status, 200, JSON.stringify(fresh.body));
			assert.equal((await revoked).reason, "You signed out of this device from another one.");
			await gone;
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: other.body.refreshToken })).status, 401);
			assert.equal((await client(app, other.body.accessToken).get("/api/users/profile")).body.type, "SESSION_REVOKED");
			assert.equal((await client(app, fresh.body.accessToken).get("/api/users/profile")).status, 200);
			assert.equal((await client(app).post("/api/auth/refresh", { refreshToken: fresh.body.refreshToken })).status, 200);
			assert.equal(
				(await client(app).post("/api/auth/login", { username: user.username, password: "correct horse battery" })).status,
				200,
				"the password stays"
			);
		} finally {
			closeAll(otherSocket);
		}
	});

	test("a refresh of another device that lands while the password changes yields no access token that outlives the change", async () => {
		const { user, accessToken } = await registerUser(app, "racer");
		const password = "correct horse battery";
		const other = await client(app).post("/api/auth/login", { username: user.username, password });
		const credentials = (app.broker.getLocalService("auth") as unknown as { db: { credentials: { updateById: (...args: unknown[]) => Promise<unknown> } } }).db
			.credentials;
		const updateById = credentials.updateById;
		let raced: Promise<{ status: number; body: { accessToken?: string } }> | undefined;
		// The other device refreshes in the middle of the change, while its cut-off is being stored.
		credentials.updateById = async function (this: unknown, ...args: unknown[]) {
			if (JSON.stringify(args[1]).includes("sessionsRevokedAt") && !raced) {
				raced = client(app).post("/api/auth/refresh", { refreshToken: other.body.refreshToken });
				await raced;
			}
			return updateById.apply(this, args);
		};
		try {
			const changed = await client(app, accessToken).post("/api/auth/password", { currentPassword: password, newPassword: "a brand new secret" });
			assert.equal(changed.status, 200, JSON.stringify(changed.body));
		} finally {
			credentials.updateById = updateById;
		}
		const refreshed = await raced!;
		if (refreshed.status === 200) {
			const res = await client(app, refreshed.body.accessToken).get("/api/users/profile");
			assert.equal(res.status, 401, "the raced refresh's access token is refused");
		} else assert.equal(refreshed.status, 401);
	});

	test("a socket whose handshake is under way when its sign-in ends is closed once connected, saying why", async () => {
		const session = await registerUser(app, "midway");
		const broker = app.broker as unknown as { call: (...args: unknown[]) => Promise<unknown> };
		const call = broker.call;
		let handshakeFetch!: () => void;
		const fetching = new Promise<void>(resolve => (handshakeFetch = resolve));
		let loggedOut!: () => void;
		const logout = new Promise<void>(resolve => (loggedOut = resolve));
		broker.call = async function (this: unknown, ...args: unknown[]) {
			if (args[0] === "groups.idsForUser") {
				handshakeFetch();
				await logout;
			}
			return call.apply(this, args);
		};
		try {
			const socket = openSocket(socketUrl(app.broker), session.accessToken, { reconnection: false });
			const told = waitForEvent<{ reason: string }>(socket, "session.revoked");
			const gone = disconnected(socket);
			await fetching;
			broker.call = call;
			assert.equal((await client(app).post("/api/auth/logout", { refreshToken: session.refreshToken })).status, 200);
			loggedOut();
			assert.equal((await told).reason, "You signed out in another tab.");
			await gone;
			closeAll(socket);
		} finally {
			broker.call = call;
			loggedOut();
		}
	});

	test("without a session it is a 401; guesses of the current password are limited like sign-ins", async () => {
		assert.equal((await client(app).post("/api/auth/password", { currentPassword: "x", newPassword: "a brand new secret" })).status, 401);
		const limited = await startTestApp({ login: { ...app.config.login, attemptsPerAddress: 3 } });
		try {
			const { accessToken } = await registerUser(limited, "guessed");
			const me = client(limited, accessToken);
			const statuses: number[] = [];
			for (let i = 0; i < 4; i++)
				statuses.push((await me.post("/api/auth/password", { currentPassword: `guess ${i}`, newPassword: "a brand new secret" })).status);
			assert.deepEqual(statuses, [422, 422, 422, 429], "LOGIN_ATTEMPTS_PER_ADDRESS per account and address");
		} finally {
			await limited.stop();
		}
	});
});
