import type { Context, ServiceSchema } from "moleculer";
import type { Message } from "../../contract/messages.ts";
import type { PushKey, PushSubscriptionRequest } from "../../contract/push.ts";
import type { User } from "../../contract/users.ts";
import { DbCollections, DuplicateKeyError, type Collection, type DbMethods } from "../../mixins/db.mixin.ts";
import { chatConfig, type PushConfig } from "../../lib/config.ts";
import { invalidField, MoleculerClientError, notFound } from "../../lib/errors.ts";
import { newId } from "../../lib/ids.ts";
import { idParam, params } from "../../lib/params.ts";
import type { SessionEnded, UserContext } from "../../lib/session.ts";
import { verifiedUser } from "../../middlewares/authenticate.middleware.ts";
import type { NotificationTargets } from "../groups/notifications.ts";
import { PushDelivery } from "./delivery.ts";
import { ownerOf } from "./ownership.ts";
import { notificationOf, pushRecipients } from "./policy.ts";
import { beyondCap, endpointProblem, keysProblem, registeredAtOf, type SubscriptionDoc } from "./subscriptions.ts";

interface PushState extends DbMethods {
	db: { subscriptions: Collection<SubscriptionDoc> };
	config: PushConfig;
	delivery: PushDelivery;
	/** Pushes being worked on (tests and a clean stop wait for them). */
	pending: Set<Promise<void>>;
	ownsConversation(groupId: string): boolean;
	notify(message: Message): Promise<void>;
	prune(userId: string, keepId: string): Promise<void>;
}

const pushDisabled = () => new MoleculerClientError("Web Push is not enabled on this server", 404, "PUSH_DISABLED");

/**
 * Web Push for devices whose app is closed: devices register a subscription (one per browser), and each new
 * message is pushed to the members who want to hear of it (policy.ts) and have no visible app open (presence).
 * Pushes are sent from the `message.created` event, never from the send itself, with bounded concurrency and a
 * timeout (delivery.ts); subscriptions the push service no longer knows (404/410) are dropped. A subscription
 * ends with the sign-in that registered it (the `auth.session.ended` and `auth.sessions.revoked` events).
 */
const PushService: ServiceSchema<{}, {}, PushState> = {
	name: "push",
	mixins: [DbCollections({ subscriptions: { indexes: [{ fields: { endpoint: 1 }, unique: true }, { fields: { userId: 1 } }] } })],

	actions: {
		/** The VAPID public key: the browser's `applicationServerKey`. */
		key: {
			auth: "required",
			readOnly: true,
			handler(): PushKey {
				if (!this.config.enabled) throw pushDisabled();
				return { publicKey: this.config.vapid.publicKey };
			}
		},

		/**
		 * Registers this device (again: the same endpoint keeps its id and now belongs to the caller), bound to the
		 * caller's sign-in: the subscription ends with it (the events below). Registering again binds it anew.
		 */
		subscribe: {
			auth: "required",
			params: params({
				endpoint: { type: "string", min: 1, max: 2048 },
				keys: { type: "object", strict: "remove", props: { p256dh: { type: "string", min: 1, max: 200 }, auth: { type: "string", min: 1, max: 100 } } }
			}),
			async handler(ctx: UserContext<PushSubscriptionRequest>): Promise<{ id: string }> {
				if (!this.config.enabled) throw pushDisabled();
				const { endpoint, keys } = ctx.params;
				const problem = endpointProblem(endpoint, this.config);
				if (problem) throw invalidField("endpoint", problem);
				const keyProblem = keysProblem(keys);
				if (keyProblem) throw invalidField("keys", keyProblem);
				const userId = ctx.meta.user.id;
				// The signed caller's sign-in (lib/cluster-trust.ts), never one merely written into the meta.
				const sessionId = verifiedUser(ctx)?.sessionId ?? null;
				const registeredAt = new Date();
				let existing = await this.db.subscriptions.findOne({ endpoint });
				if (!existing) {
					const doc: SubscriptionDoc = { _id: newId(), userId, endpoint, keys, createdAt: registeredAt, sessionId, registeredAt };
					try {
						await this.db.subscriptions.insert(doc);
						await this.prune(userId, doc._id);
						ctx.meta.$statusCode = 201;
						return { id: doc._id };
					} catch (err) {
						if (!(err instanceof DuplicateKeyError)) throw err;
						// The same browser registered twice at once: the other registration is taken over like any.
						existing = (await this.db.subscriptions.findOne({ endpoint }))!;
					}
				}
				await this.db.subscriptions.updateById(existing._id, { $set: { userId, keys, sessionId, registeredAt } });
				// Taken over from another user, it counts against the caller's cap like a new one.
				await this.prune(userId, existing._id);
				return { id: existing._id };
			}
		},

		/** Only the caller's own devices; another's is not found. */
		unsubscribe: {
			auth: "required",
			params: params({ id: idParam }),
			async handler(ctx: UserContext<{ id: string }>): Promise<{ id: string }> {
				const doc = await this.db.subscriptions.findById(ctx.params.id);
				if (!doc || doc.userId !== ctx.meta.user.id) throw notFound("Subscription");
				await this.db.subscriptions.removeById(doc._id);
				return { id: doc._id };
			}
		},

		/** Resolves once the pushes under way are done (tests; a stopping node). */
		settle: {
			visibility: "protected",
			async handler(): Promise<void> {
				while (this.pending.size) await Promise.all([...this.pending]);
			}
		}
	},

	events: {
		/**
		 * Every session of the user ended (a password change, "sign out of all other devices", an operator's kick):
		 * every device they registered until then stops getting pushes. The device that made the change registers
		 * again with its new session (the web app does, whenever a session starts).
		 */
		async "auth.sessions.revoked"(ctx: Context<{ userId: string; at: number }>) {
			const { userId, at } = ctx.params;
			const mine = await this.db.subscriptions.find({ userId });
			for (const doc of mine) if (registeredAtOf(doc) <= at) await this.db.subscriptions.removeById(doc._id);
		},

		/** One sign-in ended (a logout, a refresh token used twice): the devices it registered stop getting pushes. */
		async "auth.session.ended"(ctx: Context<SessionEnded>) {
			const { userId, sessionId } = ctx.params;
			if (typeof sessionId !== "string" || !sessionId) return;
			await this.db.subscriptions.removeMany({ userId, sessionId });
		},

		/** Off the send path: the work starts after the handler returned. */
		"message.created"(ctx: Context<{ groupId: string; message: Message }>) {
			const { message } = ctx.params;
			if (!this.config.enabled || message.system || !this.ownsConversation(message.groupId)) return;
			const work = this.notify(message).catch(err => this.logger.warn("Push for a message failed", message.id, err?.message ?? err));
			this.pending.add(work);
			void work.finally(() => this.pending.delete(work));
		}
	},

	methods: {
		/** At most MAX_SUBSCRIPTIONS_PER_USER per user: the oldest registrations make room for `keepId`. */
		async prune(userId: string, keepId: string): Promise<void> {
			const mine = await this.db.subscriptions.find({ userId });
			for (const old of beyondCap(mine, keepId)) await this.db.subscriptions.removeById(old._id);
		},

		ownsConversation(groupId: string): boolean {
			const nodes = this.broker.registry.getServiceList({ onlyAvailable: true }) as { name: string; nodeID: string }[];
			const pushNodes = [...new Set(nodes.filter(s => s.name === "push").map(s => s.nodeID))];
			return (ownerOf(groupId, pushNodes) ?? this.broker.nodeID) === this.broker.nodeID;
		},

		async notify(message: Message): Promise<void> {
			const targets = await this.broker.call<NotificationTargets | null, object>("groups.notificationTargets", { groupId: message.groupId });
			if (!targets) return;
			const wanted = pushRecipients(message, targets, [], Date.now());
			if (wanted.length === 0) return;
			const active = await this.broker.call<string[], object>("presence.activeUsers", { userIds: wanted });
			const recipients = pushRecipients(message, targets, active, Date.now());
			if (recipients.length === 0) return;
			const subscriptions = await this.db.subscriptions.find({ userId: { $in: recipients } });
			if (subscriptions.length === 0) return;
			const [sender] = await this.broker.call<User[], object>("users.getMany", { ids: [message.senderId] });
			const notification = notificationOf(message, targets, sender?.displayName || sender?.username || "Someone");
			await Promise.all(
				subscriptions.map(async sub => {
					const result = await this.delivery.send(sub, notification);
					if (result === "gone") await this.db.subscriptions.removeById(sub._id);
					else if (result === "dropped") this.logger.warn("Push queue full: a push was dropped", { dropped: this.delivery.dropped });
				})
			);
		}
	},

	created() {
		this.config = chatConfig(this.broker).push;
		this.pending = new Set();
		this.delivery = new PushDelivery({ vapid: this.config.vapid, concurrency: this.config.concurrency, timeoutMs: this.config.timeoutMs });
	},

	async stopped() {
		await Promise.all([...this.pending]);
	}
};

export default PushService;
