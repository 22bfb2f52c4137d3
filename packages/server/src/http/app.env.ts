import { Readable } from "node:stream";
import type { ProjectRole, User } from "@caretflow/contracts";
import type { TokenScope } from "../auth/auth.service.ts";

/**
 * Hono environment of the caretflow app: the authenticated user is set by the authorization middleware,
 * and for routes on a project, the project the request touches and the user's role on it.
 */
export interface AppEnv {
  Variables: {
    user: User;
    sessionCookie: string | null;
    /** The scope of the API token the request came with; null for a session. */
    apiToken: TokenScope | null;
    project: string;
    projectRole: ProjectRole;
  };
}

/** The client's address as the socket saw it (no proxy headers are trusted). */
export function clientAddress(env: unknown): string {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? "unknown";
}

/**
 * The request body as the Node.js stream the server received, when the app runs under the Node server and
 * nothing has read the body yet; else null (use the Fetch Request's body). Large uploads read this way skip
 * two conversions between Node and web streams.
 */
export function nodeRequestBody(env: unknown): Readable | null {
  const incoming = (env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof Readable && !incoming.readableDidRead ? incoming : null;
}
