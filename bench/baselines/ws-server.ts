import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { answerHarness } from "../lib/server-ipc.ts";
import { RoomSequencer } from "./rooms.ts";

/**
 * B1: a bare `ws` server. The URL names the user and its rooms (?user=&groups=a,b); frames are JSON
 * `{t, a?, d}`; a broadcast is serialized once and written to every socket of the room.
 */
const port = Number(process.env.PORT);
const http = createServer();
const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
const members = new Map<string, Set<WebSocket>>();
const rooms = new RoomSequencer();

wss.on("connection", (ws, req) => {
	const query = new URL(req.url ?? "/", "http://x").searchParams;
	const userId = query.get("user") ?? "";
	const groups = (query.get("groups") ?? "").split(",").filter(Boolean);
	for (const g of groups) {
		let set = members.get(g);
		if (!set) members.set(g, (set = new Set()));
		set.add(ws);
	}
	ws.on("close", () => {
		for (const g of groups) members.get(g)?.delete(ws);
	});
	ws.on("message", data => {
		const frame = JSON.parse(data.toString()) as { t: string; a: number; d: { groupId: string; content: string; clientMessageId?: string } };
		if (frame.t !== "send") return;
		const message = rooms.message(frame.d.groupId, userId, frame.d.content, frame.d.clientMessageId ?? null);
		const out = JSON.stringify({ t: "msg", d: message });
		for (const peer of members.get(frame.d.groupId) ?? []) peer.send(out);
		ws.send(JSON.stringify({ t: "ack", a: frame.a, d: { ok: true, message } }));
	});
});

http.listen(port, process.env.HOST || "127.0.0.1", () => answerHarness({ port }, () => new Promise(resolve => wss.close(() => resolve()))));
