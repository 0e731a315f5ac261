import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import type { Group } from "../../contract/groups.ts";
import type { Message, ReactionsEvent, Receipt, SyncResult } from "../../contract/messages.ts";
import { syncLimits } from "../../services/messages/sync.ts";
import { testConfig } from "../../lib/config.ts";
import { startTestApp, useTestApp, type TestUser } from "../helpers/app.ts";
import { emitWithAck, waitFor, waitForEvent, type ClientSocket } from "../helpers/socket.ts";

/** The stored facts of a message as one viewer sees them, without the receipt counts (derived from the cursors). */
const facts = ({ status: _s, deliveredCount: _d, seenCount: _c, ...rest }: Message) => rest;

/** A seeded PRNG (mulberry32): the same seed, the same run. */
function random(seed: number) {
	let a = seed >>> 0;
	const next = () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
	return {
		next,
		int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
		pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)],
		chance: (p: number) => next() < p
	};
}

type SyncItem = SyncResult["items"][number] & { readState?: { readSeq: number; unreadFrom: number | null } };

/**
 * One device of a user as a client following docs/API.md holds a conversation: the messages by seq (the
 * copy with the larger version wins, a tombstone always), every member's cursors, its own unread marker,
 * and the syncTokens it was given. Live events and syncs are applied by the same rules.
 */
class Device {
	readonly messages = new Map<string, Map<number, Message>>();
	readonly receipts = new Map<string, Map<string, Receipt>>();
	readonly unreadFrom = new Map<string, number | null>();
	readonly tokens: string[] = [];
	socket: ClientSocket | undefined;
	readonly user: TestUser;
	readonly name: string;
	readonly groupIds: string[];

	constructor(user: TestUser, name: string, groupIds: string[]) {
		this.user = user;
		this.name = name;
		this.groupIds = groupIds;
		for (const g of groupIds) {
			this.messages.set(g, new Map());
			this.receipts.set(g, new Map());
		}
	}

	get me() {
		return this.user.user.id;
	}

	/** The seq up to which this device holds every message: what it asks chat.sync for. */
	cursor(groupId: string): number {
		const held = this.messages.get(groupId)!;
		let seq = 0;
		while (held.has(seq + 1)) seq++;
		return seq;
	}

	put(m: Message, keepMine = false): void {
		const held = this.messages.get(m.groupId);
		if (!held) return;
		const existing = held.get(m.seq);
		if (existing && existing.deletedAt && !m.deletedAt) return;
		if (existing && m.version < existing.version) return;
		// Broadcasts have no viewer: `me` stays as this device had it.
		const reactions = keepMine ? m.reactions.map(r => ({ ...r, me: existing?.reactions.find(x => x.emoji === r.emoji)?.me ?? false })) : m.reactions;
		held.set(m.seq, { ...m, reactions });
	}

	moveReceipt(groupId: string, userId: string, delivered: number, read: number): void {
		const receipts = this.receipts.get(groupId);
		if (!receipts) return;
		const r = receipts.get(userId) ?? { userId, deliveredSeq: 0, readSeq: 0 };
		receipts.set(userId, { userId, readSeq: Math.max(r.readSeq, read), deliveredSeq: Math.max(r.deliveredSeq, delivered, read) });
	}

	listen(socket: ClientSocket): void {
		this.socket = socket;
		socket.on("chat.message.incoming", (m: Message) => {
			this.put(m);
			// A message is its sender's read receipt up to it, and sending clears the sender's own marker.
			this.moveReceipt(m.groupId, m.senderId, m.seq, m.seq);
			if (m.senderId === this.me) this.setUnreadFrom(m.groupId, null);
		});
		const changed = (m: Message) => {
			if (this.messages.get(m.groupId)?.has(m.seq)) this.put(m, true);
		};
		socket.on("chat.message.updated", changed);
		socket.on("chat.message.deleted", changed);
		socket.on("chat.message.reactions", (e: ReactionsEvent) => {
			const held = [...(this.messages.get(e.groupId)?.values() ?? [])].find(m => m.id === e.messageId);
			if (!held || e.version <= held.version) return;
			const reactions = e.reactions.map(r => ({
				...r,
				me: e.actorId === this.me && r.emoji === e.emoji ? e.on : (held.reactions.find(x => x.emoji === r.emoji)?.me ?? false)
			}));
			this.messages.get(e.groupId)!.set(held.seq, { ...held, version: e.version, reactions });
		});
		socket.on("chat.message.delivered", (e: { groupId: string; userId: string; seq: number }) => this.moveReceipt(e.groupId, e.userId, e.seq, 0));
		socket.on("chat.message.seen", (e: { groupId: string; userId: string; seq: number }) => this.moveReceipt(e.groupId, e.userId, e.seq, e.seq));
		socket.on("group.read-state", (e: { groupId: string; readSeq: number; unreadFrom: number | null }) => {
			this.moveReceipt(e.groupId, this.me, e.readSeq, e.readSeq);
			this.setUnreadFrom(e.groupId, e.unreadFrom);
		});
	}

	/** Changes of the own read state heard live, per conversation: a sync's `readState` is older than one heard while it ran. */
	readonly readStateHeard = new Map<string, number>();

	setUnreadFrom(groupId: string, unreadFrom: number | null): void {
		this.unreadFrom.set(groupId, unreadFrom);
		this.readStateHeard.set(groupId, (this.readStateHeard.get(groupId) ?? 0) + 1);
	}

	/** `heard`: readStateHeard when the sync was sent. */
	applySync(item: SyncItem, heard: ReadonlyMap<string, number>): void {
		for (const m of item.messages) this.put(m);
		for (const m of item.changed ?? []) this.put(m);
		const receipts = this.receipts.get(item.groupId)!;
		const members = new Set(item.receipts.map(r => r.userId));
		for (const userId of receipts.keys()) if (!members.has(userId)) receipts.delete(userId);
		for (const r of item.receipts) this.moveReceipt(item.groupId, r.userId, r.deliveredSeq, r.readSeq);
		if (item.readState) {
			this.moveReceipt(item.groupId, this.me, item.readState.readSeq, item.readState.readSeq);
			if ((this.readStateHeard.get(item.groupId) ?? 0) === (heard.get(item.groupId) ?? 0)) this.unreadFrom.set(item.groupId, item.readState.unreadFrom);
		}
	}
}

describe("chat.sync carries every change: a seeded random run of several users and devices", () => {
	// Each user makes hundreds of requests a run, more than a minute's REST budget.
	const t = useTestApp(["ana", "ben", "cy"], () => startTestApp({ rateLimit: { ...testConfig().rateLimit, restPerMinute: 100_000 } }));
	const { api, connect, history } = t;
	let users: TestUser[];
	before(() => {
		users = t.users;
		// A few messages then fill a page: the run pages through hasMore often.
		syncLimits.page = 4;
	});
	after(() => void (syncLimits.page = 200));

	/** Syncs every conversation of the device until nothing more is waiting; `since` as the device chooses. */
	const syncDevice = async (device: Device, since: string | undefined): Promise<number> => {
		let cursors: Record<string, number> = Object.fromEntries(device.groupIds.map(g => [g, device.cursor(g)]));
		let token = since;
		let rounds = 0;
		while (Object.keys(cursors).length > 0) {
			const heard = new Map(device.readStateHeard);
			const ack = await emitWithAck(device.socket!, "chat.sync", { cursors, ...(token ? { since: token } : {}) });
			assert.equal(ack.ok, true, JSON.stringify(ack).slice(0, 400));
			const result = ack as unknown as SyncResult;
			const next: Record<string, number> = {};
			for (const item of result.items as SyncItem[]) {
				device.applySync(item, heard);
				if (item.hasMore) next[item.groupId] = device.cursor(item.groupId);
			}
			token = result.syncToken;
			device.tokens.push(token);
			cursors = next;
			assert.ok(++rounds < 500, "sync rounds end");
		}
		return rounds;
	};

	/** Without a token a client has to read what it holds again (docs/API.md, "Sync with changes", 5). */
	const reload = async (device: Device) => {
		for (const g of device.groupIds) for (const m of await history(device.user, g)) device.put(m);
	};

	/** Back online: a new socket, then a sync with the latest, a stale, a forged or no token. */
	const comeBack = async (device: Device, others: Device[], rng: ReturnType<typeof random>, log: string[]) => {
		device.listen(await connect(device.user));
		const roll = rng.next();
		const latest = device.tokens.at(-1);
		if (roll < 0.15 && latest) {
			// Altered, or another user's: refused, and the device goes on with its own.
			const foreign = others.find(d => d.user !== device.user && d.tokens.length)?.tokens.at(-1);
			const forged = rng.chance(0.5) && foreign ? foreign : `${latest.slice(0, 8)}${latest[8] === "A" ? "B" : "A"}${latest.slice(9)}`;
			log.push(`${device.name} syncs with a ${forged === foreign ? "foreign" : "forged"} token`);
			const ack = await emitWithAck(device.socket!, "chat.sync", { cursors: { [device.groupIds[0]]: 0 }, since: forged });
			assert.deepEqual([ack.error?.code, ack.error?.data?.[0]?.field], [422, "since"], JSON.stringify(ack));
			await syncDevice(device, latest);
		} else if (roll < 0.3 && device.tokens.length > 1) {
			log.push(`${device.name} syncs with a stale token`);
			await syncDevice(device, rng.pick(device.tokens.slice(0, -1)));
		} else if (roll < 0.4) {
			log.push(`${device.name} syncs without a token`);
			await syncDevice(device, undefined);
			await reload(device);
		} else {
			log.push(`${device.name} syncs with its latest token`);
			await syncDevice(device, latest);
		}
	};

	const run = async (seed: number, steps: number) => {
		const rng = random(seed);
		const [ana, ben, cy] = users;
		const team = await t.group(ana, `Team ${seed}`, [ben, cy]);
		const pair = await t.group(ben, `Pair ${seed}`, [ana]);
		const membersOf = new Map([
			[team, [ana, ben, cy]],
			[pair, [ben, ana]]
		]);
		const ownerOf = new Map([
			[team, ana],
			[pair, ben]
		]);
		const devices = users.flatMap(u =>
			[1, 2].map(
				i =>
					new Device(
						u,
						`${u.user.username}#${i}`,
						[...membersOf].filter(([, m]) => m.includes(u)).map(([g]) => g)
					)
			)
		);
		for (const d of devices) {
			d.listen(await connect(d.user));
			await syncDevice(d, undefined);
		}
		const sent = new Map<string, Message[]>([
			[team, []],
			[pair, []]
		]);
		const log: string[] = [];
		const words = ["hi", "ok", "lunch?", "ship it", "later", "done", "wait", "why"];
		const name = (u: TestUser) => u.user.username;
		const where = (groupId: string) => (groupId === team ? "team" : "pair");
		/** A socket of the user's that is online, sometimes: the same actions over the other entry point. */
		const socketOf = (u: TestUser) => (rng.chance(0.4) ? devices.find(d => d.user === u && d.socket)?.socket : undefined);
		const ok = (res: { status?: number; ok?: boolean; body?: any; error?: any }) => res.status === 200 || res.ok === true;
		const refusedAs = (res: { body?: any; error?: any }) => res.body?.type ?? res.error?.type;
		/**
		 * One random change, drawn now (every random choice before the first await, so a seed gives the same run
		 * even when changes race), done by the returned function. `sends`: whether it may be a send.
		 */
		const mutation = (step: number, sends: boolean): (() => Promise<void>) => {
			const groupId = rng.pick([team, team, pair]);
			const members = membersOf.get(groupId)!;
			const actor = rng.pick(members);
			const messages = sent.get(groupId)!;
			const roll = rng.next();
			const target = messages.length ? rng.pick(messages) : undefined;
			if (!target || (sends && roll < 0.28)) {
				const mention = rng.chance(0.2) ? ` @${name(rng.pick(members))}` : "";
				const replyTo = target && rng.chance(0.25) ? target.id : undefined;
				const content = `${rng.pick(words)} ${step}${mention}`;
				return async () => {
					const res = await api(actor).post("/api/messages", { groupId, content, ...(replyTo ? { replyTo } : {}) });
					assert.equal(res.status, 201, JSON.stringify(res.body));
					messages.push(res.body);
					log.push(`${step}: ${name(actor)} sends ${res.body.seq}${replyTo ? ` replying to ${target!.seq}` : ""} in ${where(groupId)}`);
				};
			}
			if (roll < 0.42) {
				const author = members.find(u => u.user.id === target.senderId)!;
				const mention = rng.chance(0.2) ? ` @${name(rng.pick(members))}` : "";
				const content = `${rng.pick(words)} edited ${step}${mention}`;
				const socket = socketOf(author);
				return async () => {
					const res = socket
						? await emitWithAck(socket, "chat.message.edit", { messageId: target.id, content })
						: await api(author).request("PATCH", `/api/messages/${target.id}`, { content });
					assert.ok(ok(res) || refusedAs(res) === "MESSAGE_DELETED", JSON.stringify(res));
					log.push(`${step}: ${name(author)} edits ${target.seq} in ${where(groupId)} → ${refusedAs(res) ?? "ok"}`);
				};
			}
			if (roll < 0.48) {
				const by = rng.chance(0.5) ? members.find(u => u.user.id === target.senderId)! : ownerOf.get(groupId)!;
				return async () => {
					const res = await api(by).del(`/api/messages/${target.id}`);
					assert.equal(res.status, 200, JSON.stringify(res.body));
					log.push(`${step}: ${name(by)} deletes ${target.seq} in ${where(groupId)}`);
				};
			}
			if (roll < 0.68) {
				const emoji = rng.pick(["👍", "❤️", "😂"]);
				const on = rng.chance(0.6);
				const socket = socketOf(actor);
				const path = `/api/messages/${target.id}/reactions/${encodeURIComponent(emoji)}`;
				return async () => {
					const res = socket
						? await emitWithAck(socket, "chat.message.react", { messageId: target.id, emoji, on })
						: on
							? await api(actor).put(path)
							: await api(actor).del(path);
					assert.ok(ok(res) || refusedAs(res) === "MESSAGE_DELETED", JSON.stringify(res));
					log.push(`${step}: ${name(actor)} ${on ? "puts" : "takes off"} ${emoji} on ${target.seq} in ${where(groupId)} → ${refusedAs(res) ?? "ok"}`);
				};
			}
			if (roll < 0.8) {
				const kind = rng.pick(["seen", "delivered"]);
				const seq = rng.int(1, messages.length);
				const socket = socketOf(actor);
				return async () => {
					const res = socket
						? await emitWithAck(socket, `chat.message.${kind}`, { groupId, seq })
						: await api(actor).post(`/api/messages/${groupId}/${kind}`, { seq });
					assert.ok(ok(res), JSON.stringify(res));
					log.push(`${step}: ${name(actor)} ${kind} ${seq} in ${where(groupId)}`);
				};
			}
			const seq = rng.int(1, messages.length);
			const socket = socketOf(actor);
			return async () => {
				const res = socket
					? await emitWithAck(socket, "chat.message.unread", { groupId, seq })
					: await api(actor).post(`/api/messages/${groupId}/unread`, { seq });
				assert.ok(ok(res), JSON.stringify(res));
				log.push(`${step}: ${name(actor)} marks unread from ${seq} in ${where(groupId)}`);
			};
		};
		for (let step = 0; step < steps; step++) {
			const roll = rng.next();
			if (roll < 0.1) {
				const device = rng.pick(devices);
				if (device.socket) {
					device.socket.close();
					device.socket.removeAllListeners();
					device.socket = undefined;
					log.push(`${step}: ${device.name} goes offline`);
				} else {
					log.push(`${step}: ${device.name} comes back`);
					await comeBack(device, devices, rng, log);
				}
			} else if (roll < 0.2) {
				// Changes racing each other (one send at most, so seqs stay the seed's) and an online device's sync.
				const racing = [mutation(step, true), ...Array.from({ length: rng.int(1, 3) }, () => mutation(step, false))];
				const syncing = rng.pick(devices);
				log.push(`${step}: ${racing.length} changes race${syncing.socket ? ` a sync of ${syncing.name}` : ""}`);
				await Promise.all([...racing.map(change => change()), syncing.socket ? syncDevice(syncing, syncing.tokens.at(-1)) : undefined]);
			} else {
				await mutation(step, true)();
			}
		}
		for (const d of devices) if (!d.socket) await comeBack(d, devices, rng, log);

		// Everything said before the last message has reached every socket once that message has.
		for (const groupId of [team, pair]) {
			const inGroup = devices.filter(d => d.groupIds.includes(groupId));
			const arrived = Promise.all(inGroup.map(d => waitForEvent<Message>(d.socket!, "chat.message.incoming", m => m.content === `end ${seed}`)));
			const last = await t.send(ownerOf.get(groupId)!, groupId, `end ${seed}`);
			sent.get(groupId)!.push(last);
			await arrived;
		}
		const expected = new Map<string, { messages: ReturnType<typeof facts>[]; receipts: Receipt[]; readSeq: number; unreadFrom: number | null }>();
		for (const d of devices) {
			for (const g of d.groupIds) {
				const key = `${d.me}:${g}`;
				if (expected.has(key)) continue;
				const group = (await api(d.user).get(`/api/groups/${g}`)).body as Group;
				const receipts = (await api(d.user).get(`/api/messages/${g}/receipts`)).body.items as Receipt[];
				expected.set(key, {
					messages: (await history(d.user, g)).map(facts),
					receipts: receipts.sort((a, b) => (a.userId < b.userId ? -1 : 1)),
					readSeq: group.readSeq,
					unreadFrom: group.unreadFrom
				});
			}
		}
		const stateOf = (d: Device, g: string) => ({
			messages: [...d.messages.get(g)!.values()].sort((a, b) => a.seq - b.seq).map(facts),
			receipts: [...d.receipts.get(g)!.values()].sort((a, b) => (a.userId < b.userId ? -1 : 1)),
			readSeq: d.receipts.get(g)!.get(d.me)?.readSeq ?? 0,
			unreadFrom: d.unreadFrom.get(g) ?? null
		});
		const agrees = () => devices.every(d => d.groupIds.every(g => isDeepStrictEqual(stateOf(d, g), expected.get(`${d.me}:${g}`))));
		await waitFor(agrees, "every device to hold the server's state", 3000).catch(() => undefined);
		for (const d of devices) {
			for (const g of d.groupIds) {
				const want = expected.get(`${d.me}:${g}`)!;
				const have = stateOf(d, g);
				const where = `seed ${seed}, ${d.name} in ${g === team ? "team" : "pair"}; steps:\n${log.slice(-(Number(process.env.SYNC_FUZZ_LOG) || 60)).join("\n")}`;
				assert.deepEqual(have.messages, want.messages, `messages differ (${where})`);
				assert.deepEqual(have.receipts, want.receipts, `receipts differ (${where})`);
				assert.deepEqual([have.readSeq, have.unreadFrom], [want.readSeq, want.unreadFrom], `own read state differs (${where})`);
			}
		}
		for (const d of devices) d.socket?.close();
	};

	const seeds = process.env.SYNC_FUZZ_SEEDS?.split(",").map(Number) ?? [1, 2, 3];
	for (const seed of seeds) {
		test(`seed ${seed}: every device ends with the server's messages, receipts and its own read state`, async () => {
			await run(seed, Number(process.env.SYNC_FUZZ_STEPS ?? 150));
		});
	}
});

describe("chat.sync: what a device missed of its own read state", () => {
	const t = useTestApp(["dana", "eli"]);
	const { api, connect } = t;

	test("a device offline while another marked the conversation unread, or read it again, learns that from chat.sync", async () => {
		const [dana, eli] = t.users;
		const groupId = await t.group(eli, "Read state", [dana]);
		for (let i = 1; i <= 4; i++) await t.send(eli, groupId, `m${i}`);
		assert.equal((await api(dana).post(`/api/messages/${groupId}/seen`, { seq: 4 })).status, 200);
		const laptop = await connect(dana);
		const sync = async () => {
			const ack = await emitWithAck(laptop, "chat.sync", { cursors: { [groupId]: 4 } });
			assert.equal(ack.ok, true, JSON.stringify(ack));
			return (ack as unknown as SyncResult).items[0] as SyncItem;
		};
		assert.deepEqual((await sync()).readState, { readSeq: 4, unreadFrom: null });

		// The laptop is offline (it hears nothing) while the phone marks unread from 2…
		assert.equal((await api(dana).post(`/api/messages/${groupId}/unread`, { seq: 2 })).status, 200);
		assert.deepEqual((await sync()).readState, { readSeq: 4, unreadFrom: 2 });
		// …and then reads to the end again, which clears the marker.
		assert.equal((await api(dana).post(`/api/messages/${groupId}/seen`, { seq: 4 })).status, 200);
		const item = await sync();
		assert.deepEqual(item.readState, { readSeq: 4, unreadFrom: null });
		const group = (await api(dana).get(`/api/groups/${groupId}`)).body as Group;
		assert.deepEqual(item.readState, { readSeq: group.readSeq, unreadFrom: group.unreadFrom }, "the same as the conversation shows");
	});
});

describe("chat.sync after leaving a conversation and joining it again", () => {
	const t = useTestApp(["fay", "gus"]);
	const { api, connect } = t;

	test("while away the conversation is unknown and the token keeps its place; back in, every change of the time away arrives", async () => {
		const [fay, gus] = t.users;
		const groupId = await t.group(fay, "Away", [gus]);
		const sent: Message[] = [];
		for (let i = 1; i <= 4; i++) sent.push(await t.send(fay, groupId, `m${i}`));
		const socket = await connect(gus);
		const sync = async (cursor: number, since?: string) => {
			const ack = await emitWithAck(socket, "chat.sync", { cursors: { [groupId]: cursor }, ...(since ? { since } : {}) });
			assert.equal(ack.ok, true, JSON.stringify(ack));
			return ack as unknown as SyncResult;
		};
		const first = await sync(0);
		assert.equal(first.items[0].messages.length, 4);

		assert.equal((await api(gus).del(`/api/groups/${groupId}/members/${gus.user.id}`)).status, 200);
		assert.equal((await api(fay).request("PATCH", `/api/messages/${sent[0].id}`, { content: "m1 edited while away" })).status, 200);
		assert.equal((await api(fay).put(`/api/messages/${sent[1].id}/reactions/${encodeURIComponent("👍")}`)).status, 200);
		assert.equal((await api(fay).del(`/api/messages/${sent[2].id}`)).status, 200);
		const away = await sync(4, first.syncToken);
		assert.deepEqual([away.items, away.unknownGroupIds], [[], [groupId]]);

		await t.send(fay, groupId, "while away");
		assert.equal((await api(fay).post(`/api/groups/${groupId}/members`, { userIds: [gus.user.id] })).status, 200);
		const back = await sync(4, away.syncToken);
		const [item] = back.items as SyncItem[];
		const history = (await api(gus).get(`/api/messages/${groupId}`)).body.items as Message[];
		assert.deepEqual(item.messages.map(facts), history.slice(4).map(facts), "what was said meanwhile, the system lines included");
		assert.deepEqual(item.changed!.map(facts), history.slice(0, 3).map(facts), "the edit, the reaction and the delete of the time away");
		const group = (await api(gus).get(`/api/groups/${groupId}`)).body as Group;
		assert.deepEqual(item.readState, { readSeq: group.readSeq, unreadFrom: null });
		assert.deepEqual(
			item.receipts.find(r => r.userId === gus.user.id),
			{ userId: gus.user.id, deliveredSeq: group.lastSeq, readSeq: group.lastSeq },
			"a member added again starts at the end"
		);
	});
});
