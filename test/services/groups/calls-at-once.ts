import type { TestApp, TestUser } from "../../helpers/app.ts";
import { callerSigner } from "../../../lib/cluster-trust.ts";

/**
 * Calls actions as `user`, signed the way a gateway signs its caller, resolving to 200 or the error's code.
 * Requests through one embedded gateway seldom overlap inside the groups service; calls started here
 * together arrive together, as they do from several API nodes of a cluster.
 */
export function callsAs(app: TestApp, user: TestUser): (action: string, params: object) => Promise<number> {
	return (action, params) =>
		app.broker.call(action, params, { meta: { user: callerSigner(app.broker).signUser(user.user, Date.now() / 1000 + 60) } }).then(
			() => 200,
			(err: { code?: number }) => err.code ?? 500
		);
}
