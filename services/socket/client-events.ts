import type { Logger, ServiceBroker } from "moleculer";
import { Errors } from "moleculer";
import type { Message, ReactionsEvent } from "../../contract/messages.ts";
import type { ConnectionStatus } from "../../contract/presence.ts";
import type { Ack, ClientEventName, ClientEvents } from "../../contract/socket.ts";
import { invalidField, notFound, overloadedBody, toClientError } from "../../lib/errors.ts";
import type { AdmissionState, RejectionTally } from "../../lib/overload.ts";
import { assertShallow, idParam, params } from "../../lib/params.ts";
import type { SocketLimitsConfig } from "../../lib/config.ts";
import type { ChatSocket } from "./chat-socket.ts";
import { recordRejection, type EventBudget } from "./event-budget.ts";
import type { PresenceReporter } from "./presence-reporter.ts";
import { refreshSession } from "./session.ts";
import type { TypingTracker } from "./typing.ts";

export type Payload = Record<string, unknown>;
type Result<E extends ClientEventName> = ClientEvents[E]["result"];
export type ClientEventHandler<E extends ClientEventName> = (socket: ChatSocket, payload: Payload) => Promise<Result<E>>;
/** One handler per client → server event of the contract, each resolving to what that event's ack carries. */
export type ClientEventHandlers = { [E in ClientEventName]: ClientEventHandler<E> };

/** What the handlers use of the gateway. */
export interface ClientEventDeps {
	broker: ServiceBroker;
	typing: TypingTracker;
	presence: PresenceReporter;
}

/** Events whose ack a client may leave out (fire-and-forget signals). */
const ACK_OPTIONAL: ReadonlySet<ClientEventName> = new Set(["typing.start", "typing.stop", "user.heartbeat"]);

/** Payloads the gateway reads itself; the others are validated by the action they are forwarded to. */
const PAYLOAD_SCHEMAS = {
	typing: params({ groupId: idParam }),
	heartbeat: params({
		status: {
			type: "enum",
			values: ["online", "away"],
			optional: true,
			// The validator's own message puts the allowed list where the refused value belongs.
			messages: { enumValue: "The 'status' field must be 'online' or 'away', not '{actual}'." }
		}
	}),
	refresh: params({ token: { type: "string", min: 1, max: 4096 } }),
	edit: params({ messageId: idParam }),
	react: params({ messageId: idParam, on: { type: "boolean" } })
};

type PayloadCheck = (payload: Payload) => true | unknown[];
type CheckedPayload = keyof typeof PAYLOAD_SCHEMAS;

export function clientEventHandlers({ broker, typing, presence }: ClientEventDeps): ClientEventHandlers {
	const validator = broker.validator as unknown as { compile(schema: object): PayloadCheck };
	const checks = Object.fromEntries(Object.entries(PAYLOAD_SCHEMAS).map(([name, schema]) => [name, validator.compile(schema)]));
	const check = (name: CheckedPayload, payload: Payload) => {
		const result = checks[name](payload);
		if (result !== true) throw new Errors.ValidationError("Parameters validation error!", "VALIDATION_ERROR", result);
	};
	const callAs = <T>(socket: ChatSocket, action: string, payload: Payload) => broker.call<T, Payload>(action, payload, { meta: { user: socket.data.user } });
	/** The payload goes to the action as it is, on behalf of the socket's user. */
	const forward =
		<E extends ClientEventName>(action: string): ClientEventHandler<E> =>
		(socket, payload) =>
			callAs<Result<E>>(socket, action, payload);

	return {
		async "chat.message.send"(socket, payload) {
			const message = await callAs<Message>(socket, "messages.send", payload);
			typing.stop(socket.data.user.id, message.groupId);
			return { message };
		},
		async "chat.message.edit"(socket, payload) {
			const { content } = payload;
			check("edit", payload);
			return { message: await callAs<Message>(socket, "messages.edit", { id: payload.messageId, content }) };
		},
		async "chat.message.react"(socket, payload) {
			// The check keeps only the fields it names; the action checks the emoji.
			const { emoji } = payload;
			check("react", payload);
			return callAs<ReactionsEvent>(socket, payload.on ? "messages.addReaction" : "messages.removeReaction", { id: payload.messageId, emoji });
		},
		"chat.message.delivered": forward("messages.markDelivered"),
		"chat.message.seen": forward("messages.markSeen"),
		"chat.message.unread": forward("messages.markUnread"),
		"chat.sync": forward("messages.sync"),
		"presence.query": forward("presence.query"),
		"search.query": forward("search.query"),

		async "typing.start"(socket, payload) {
			check("typing", payload);
			const groupId = payload.groupId as string;
			await requireMember(broker, socket.data.user.id, groupId);
			typing.start(socket.data.user.id, groupId, socket.id);
			return { groupId };
		},

		async "typing.stop"(socket, payload) {
			check("typing", payload);
			const groupId = payload.groupId as string;
			typing.stop(socket.data.user.id, groupId);
			return { groupId };
		},

		async "user.heartbeat"(socket, payload) {
			check("heartbeat", payload);
			const status = payload.status as ConnectionStatus | undefined;
			if (status && status !== socket.data.status) {
				socket.data.status = status;
				presence.statusChanged(socket, status);
			}
			return { status: socket.data.status };
		},

		async "auth.refresh"(socket, payload) {
			check("refresh", payload);
			return refreshSession(broker, socket, payload.token as string);
		}
	};
}

/** The gateway is no action, so typing.start asks for the membership itself (the cached `groups.membership`). */
async function requireMember(broker: ServiceBroker, userId: string, groupId: string): Promise<void> {
	const membership = await broker.call<object | null, object>("groups.membership", { groupId, userId });
	if (!membership) throw notFound("Conversation");
}

/** What a socket's events are charged against. */
export interface SocketBudget {
	budget: EventBudget;
	limits: SocketLimitsConfig;
	/** This node's send admission (the Admission middleware's pool), for refusing sends before any work. */
	sends?: { state(): AdmissionState | undefined; tally: RejectionTally };
}

/**
 * Listens to every client event on a new socket. Each event is charged to the user's budget first;
 * a socket refused `floodRejections` times within the window hears `connection.closing` and is closed.
 */
export function listenClientEvents(socket: ChatSocket, handlers: ClientEventHandlers, logger: Logger, { budget, limits, sends }: SocketBudget): void {
	const charge = async (event: ClientEventName) => {
		try {
			await budget.charge(socket.data.user.id, event);
		} catch (err) {
			if (recordRejection(socket.data, Date.now(), limits)) closeFlooding(socket, limits);
			throw err;
		}
	};
	for (const event of Object.keys(handlers) as ClientEventName[]) {
		const handler = handlers[event] as ClientEventHandler<ClientEventName>;
		const listener = acknowledged(event, payload => handler(socket, payload), {
			ackOptional: ACK_OPTIONAL.has(event),
			logger,
			charge: () => charge(event)
		});
		socket.on(event, event === "chat.message.send" && sends ? shedWhenFull(sends, listener) : listener);
	}
}

/**
 * While the node's send pool is full, a send is refused right here: the same 503 SERVICE_OVERLOADED the
 * Admission middleware would answer, without a context, a promise chain or an error object. Under three
 * times the load a node can store, most of its CPU would otherwise go to turning sends away.
 */
function shedWhenFull(sends: NonNullable<SocketBudget["sends"]>, listener: (payload: unknown, ack: unknown) => void) {
	return (payload: unknown, ack: unknown) => {
		const state = sends.state();
		const reply = typeof ack === "function" ? ack : typeof payload === "function" ? payload : null;
		if (reply && state?.full()) {
			sends.tally.count("messages.send", "SERVICE_OVERLOADED");
			return (reply as (response: object) => void)({ ok: false, error: overloadedBody(state.retryAfterMs()) });
		}
		listener(payload, ack);
	};
}

/** After the refusal's ack has gone out: the reason first, then the close (engine.io flushes before closing). */
function closeFlooding(socket: ChatSocket, limits: SocketLimitsConfig): void {
	if (socket.data.closing) return;
	socket.data.closing = true;
	setImmediate(() => {
		socket.emit("connection.closing", { reason: "flooding", retryAfterMs: limits.floodWindowMs });
		socket.disconnect(true);
	});
}

/**
 * A socket listener running `handler` on the event's payload (which must be an object) and acking
 * {ok: true, ...result} or {ok: false, error}, the error as a client may see it (5xx opaque, and logged).
 */
export function acknowledged<R extends object>(
	event: string,
	handler: (payload: Payload) => Promise<R>,
	options: { ackOptional: boolean; logger: Pick<Logger, "error">; charge?: () => Promise<void> }
): (payload: unknown, ack: unknown) => void {
	return (payload, ack) => {
		if (typeof payload === "function" && ack === undefined) [payload, ack] = [undefined, payload];
		const reply = typeof ack === "function" ? (ack as (response: Ack<R>) => void) : null;
		// Without an ack the client could never learn the outcome, so nothing is done; the event still costs.
		if (!reply && !options.ackOptional) return void options.charge?.().catch(() => undefined);
		const run = async () => {
			// Charged first: a malformed event costs like any other, and counts towards the flood rule when refused.
			await options.charge?.();
			if (!isPayload(payload)) throw invalidField("payload", `The '${event}' payload must be an object.`, "object");
			assertShallow(payload);
			return handler(payload);
		};
		run().then(
			result => reply?.({ ok: true, ...result }),
			err => {
				const error = toClientError(err);
				// 503s (shed, timed out, no node) are counted where they happen, one log line per interval (lib/overload.ts).
				if (error.code >= 500 && error.code !== 503) options.logger.error(`Socket event ${event} failed`, err);
				reply?.({ ok: false, error });
			}
		);
	};
}

const isPayload = (value: unknown): value is Payload => typeof value === "object" && value !== null && !Array.isArray(value);
