import {
  CaretflowError,
  DEFAULT_PROJECT,
  Handle,
  notFound,
  type Permission,
  PROJECT_HEADER,
  type ProjectRole,
  type RouteDef,
  routes,
  type User,
  userError,
} from "@caretflow/contracts";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/app.env.ts";
import { type ProjectService, roleAtLeast } from "../projects/project.service.ts";
import { authenticate } from "./auth.middleware.ts";
import type { AuthService, TokenScope } from "./auth.service.ts";

interface CompiledRoute {
  def: RouteDef;
  method: string;
  pattern: RegExp;
}

// `{path}` (an artifact path) may span segments; every other parameter is one segment.
const compiled: CompiledRoute[] = routes.map((def) => ({
  def,
  method: def.method.toUpperCase(),
  pattern: new RegExp(
    `^${def.path.replace(/\{(\w+)\}/g, (_, name: string) => (name === "path" ? `(?<${name}>.+)` : `(?<${name}>[^/]+)`))}$`,
  ),
}));

/** The route of the table a request is for, with its path parameters (still percent-encoded); null when none. */
export function matchRoute(method: string, path: string): { def: RouteDef; params: Record<string, string> } | null {
  const m = method === "HEAD" ? "GET" : method;
  for (const r of compiled) {
    if (r.method !== m) continue;
    const hit = r.pattern.exec(path);
    if (hit) return { def: r.def, params: { ...hit.groups } };
  }
  return null;
}

/**
 * What a request under the proxy to MLflow's UI needs: a signed-in user. The proxy then does the
 * per-object checks (mlflow/mlflow.scope.ts): a project member reads only their projects' experiments,
 * runs and models, and is refused every write; a site admin reads everything and makes the guarded writes.
 */
export const MLFLOW_PROXY_PERMISSION: Permission = { signedIn: true };
/** What a request to an /api path that no route matches needs before it gets its 404. */
const UNKNOWN_ROUTE_PERMISSION: Permission = { signedIn: true };

/** The project a request touches: the `{project}` path parameter, else the header, else `?project=`, else `default`. */
export function requestedProject(c: Context, params: Record<string, string>): string {
  const raw = params.project !== undefined ? decodeURIComponent(params.project) : (c.req.header(PROJECT_HEADER) ?? c.req.query("project"));
  const name = raw === undefined || raw === "" ? DEFAULT_PROJECT : raw;
  if (!Handle.safeParse(name).success) {
    throw userError(
      "bad_project_name",
      `'${name.slice(0, 80)}' is not a project name`,
      "Project names are letters, digits, '.', '_' and '-', starting with a letter or digit (list yours with GET /api/projects).",
      400,
    );
  }
  return name;
}

/**
 * The one authorization middleware: finds the request's route in the route table and enforces the
 * permission it declares (sign-in, site admin, or a role on the project the request touches). Sets
 * `user`, and for project routes `project` and `projectRole`, for the handlers. `https`: caretflow's public
 * URL is https, so a changing request's Origin must be https too.
 */
export function authorize(
  deps: { auth: AuthService; projects: ProjectService; https?: boolean },
  fixed?: Permission,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const match = fixed ? null : matchRoute(c.req.method, c.req.path);
    const permission = fixed ?? match?.def.permission ?? UNKNOWN_ROUTE_PERMISSION;
    if ("public" in permission) return next();
    const user = await authenticate(c, deps.auth, { https: deps.https === true });
    const token = c.get("apiToken");
    if (token) checkTokenScope(token, c.req.method, permission);
    if ("siteAdmin" in permission && user.role !== "admin") throw forbidden("Only site admins may do this", "Ask a site admin.");
    if ("project" in permission) {
      const project = requestedProject(c, match?.params ?? {});
      if (token?.project != null && token.project !== project) {
        throw forbidden(
          `The API token '${token.name}' is scoped to project '${token.project}' and cannot touch project '${project}'`,
          `Use it with --project ${token.project}, or create a token for '${project}' (caretflow tokens create NAME --project ${project}).`,
        );
      }
      c.set("project", project);
      c.set("projectRole", await checkProjectRole(deps.projects, user, project, permission.project));
    }
    return next();
  };
}

const READ_METHODS = new Set(["GET", "HEAD"]);

/**
 * What an API token's scope allows beyond its user's own rights (it never adds any): a read token makes
 * GET and HEAD requests only; a project-scoped token never reaches site-admin routes and changes nothing
 * outside its project (no new projects, tokens or passwords). The project itself is checked by the caller.
 */
export function checkTokenScope(token: TokenScope, method: string, permission: Permission): void {
  const scope = `${token.access} on ${token.project === null ? "all your projects" : `project '${token.project}'`}`;
  if (token.access === "read" && !READ_METHODS.has(method.toUpperCase())) {
    throw forbidden(
      `The API token '${token.name}' is read-only (scope: ${scope}); it may only make GET requests`,
      "Create a write token for this (caretflow tokens create NAME, without --read-only), or sign in.",
    );
  }
  if (token.project === null) return;
  if ("siteAdmin" in permission) {
    throw forbidden(
      `The API token '${token.name}' is scoped to project '${token.project}' (scope: ${scope}); site-admin routes need a token for all projects`,
      "Create a token without --project, or sign in.",
    );
  }
  if ("signedIn" in permission && !READ_METHODS.has(method.toUpperCase())) {
    throw forbidden(
      `The API token '${token.name}' is scoped to project '${token.project}' (scope: ${scope}); it cannot change things outside that project`,
      "Create a token without --project, or sign in.",
    );
  }
}

/** The role the user holds on the project (owner for a site admin), once it is at least `needed`. */
async function checkProjectRole(projects: ProjectService, user: User, project: string, needed: ProjectRole): Promise<ProjectRole> {
  if (user.role === "admin") {
    if (!(await projects.exists(project))) throw notFound("project", project, "List projects with GET /api/projects.");
    return "owner";
  }
  const held = await projects.roleOf(user.id, project);
  // A project the user is not in answers like one that does not exist, so names are not revealed.
  if (held === null) {
    throw forbidden(
      `You are not a member of project '${project}' (or it does not exist)`,
      `Ask an owner of '${project}' to add you (caretflow projects add-member ${project} ${user.username} --role ${needed}), or pick one of your projects with --project.`,
    );
  }
  if (!roleAtLeast(held, needed)) {
    throw forbidden(
      `This needs the ${needed} role on project '${project}'; you are a ${held}`,
      `Ask an owner of '${project}' for the ${needed} role.`,
    );
  }
  return held;
}

function forbidden(message: string, hint: string): CaretflowError {
  return new CaretflowError({ code: "forbidden", kind: "user", status: 403, message, hint });
}
