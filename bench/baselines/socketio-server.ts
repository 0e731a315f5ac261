import { createServer } from "node:http";
import { Server } from "socket.io";
import { answerHarness } from "../lib/server-ipc.ts";
import { RoomSequencer } from "./rooms.ts";

/**
 * B2: a bare socket.io server. The handshake names the user and its rooms; a send gets the next seq
 * of the room and goes out with `io.to(room).emit`. No storage, no auth, no checks.
 */
const port = Number(process.env.PORT);
const http = createServer();
const io = new Server(http, { path: "/socket.io", transports: ["websocket"], serveClient: false });
const rooms = new RoomSequencer();

io.on("connection", socket => {
	const { token, groups } = socket.handshake.auth as { token: string; groups?: string[] };
	if (groups?.length) socket.join(groups);
	socket.on("chat.message.send", (p: { groupId: string; content: string; clientMessageId?: string }, ack?: (r: unknown) => void) => {
		const message = rooms.message(p.groupId, token, p.content, p.clientMessageId ?? null);
		io.to(p.groupId).emit("chat.message.incoming", message);
		ack?.({ ok: true, message });
	});
});

http.listen(port, process.env.HOST || "127.0.0.1", () => answerHarness({ port }, () => new Promise(resolve => io.close(() => resolve()))));
