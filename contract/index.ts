// The shapes both sides use: the server's mappers and gateways produce them, the web client reads them.
export type * from "./assets.ts";
export type * from "./errors.ts";
export type * from "./groups.ts";
export type * from "./messages.ts";
export type * from "./presence.ts";
export type * from "./push.ts";
export type * from "./search.ts";
export type * from "./socket.ts";
export type * from "./users.ts";
