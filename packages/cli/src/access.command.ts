import { type CreatedUser, ProjectRoleSchema, userError } from "@caretflow/contracts";
import type { Command } from "commander";
import { z } from "zod";
import { action, type CommandEnv, type CommonOptions, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTable, formatTime } from "./table.ts";

/**
 * Secrets come from an environment variable or standard input, never from an argument (arguments are
 * visible to every user of the machine and kept in shell history). Stdin lines are taken in order.
 */
export async function secrets(env: CommandEnv, vars: string[]): Promise<string[]> {
  const fromEnv = vars.map((v) => env.ctx.env[v]);
  if (fromEnv.every((v) => v !== undefined && v !== "")) return fromEnv as string[];
  const text = env.ctx.readStdin ? await env.ctx.readStdin() : "";
  const lines = text.split(/\r?\n/);
  const values = vars.map((v, i) => env.ctx.env[v] || lines[i] || "");
  const missing = vars.filter((_, i) => values[i] === "");
  if (missing.length > 0) {
    throw userError(
      "secret_missing",
      `no ${missing.join(" and ")} given`,
      `set ${missing.join(" and ")} in the environment, or pipe ${vars.length > 1 ? "one per line" : "it"} on standard input (never as an argument)`,
    );
  }
  return values;
}

function showPassword(user: CreatedUser): string {
  return user.password ? `\npassword (shown once, pass it on safely): ${user.password}` : "";
}

export function registerAccess(program: Command, ctx: CliContext, exit: ExitState): void {
  const users = program.command("users").description("local user accounts (site admins)");

  withCommon(
    users
      .command("create <username>")
      .description("create a user; a password is generated and shown once unless --password-stdin")
      .option("--admin", "make the user a site admin")
      .option("--password-stdin", "read the password from standard input (or CARETFLOW_NEW_PASSWORD)"),
  ).action(
    action<CommonOptions & { admin?: boolean; passwordStdin?: boolean }>(ctx, exit, async (env, opts, [username]) => {
      const password = opts.passwordStdin ? (await secrets(env, ["CARETFLOW_NEW_PASSWORD"]))[0] : undefined;
      const client = await env.client();
      const created = await client.POST("/api/users", {
        body: { username: username!, admin: opts.admin === true, ...(password ? { password } : {}) },
      });
      env.out.result(
        created,
        () => `created ${created.role === "admin" ? "site admin" : "user"} ${created.username}${showPassword(created)}`,
      );
      return undefined;
    }),
  );

  withCommon(users.command("list").description("every user with their site role")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { users: list } = await (await env.client()).GET("/api/users");
      env.out.result({ users: list }, () =>
        formatTable(
          [{ header: "USERNAME" }, { header: "ROLE" }, { header: "STATUS" }, { header: "CREATED" }],
          list.map((u) => [u.username, u.role, u.disabled ? "disabled" : "active", formatTime(u.createdAt)]),
        ),
      );
      return undefined;
    }),
  );

  for (const [verb, what] of [
    ["disable", "disable a user: their sessions and tokens stop working at once"],
    ["enable", "enable a disabled user again"],
  ] as const) {
    withCommon(users.command(`${verb} <username>`).description(what)).action(
      action<CommonOptions>(ctx, exit, async (env, _opts, [username]) => {
        const user = await (await env.client()).POST(`/api/users/{username}/${verb}`, { params: { path: { username: username! } } });
        env.out.result(user, () => `${user.username} is ${user.disabled ? "disabled" : "active"}`);
        return undefined;
      }),
    );
  }

  withCommon(
    users.command("reset-password <username>").description("give a user a new generated password (shown once); signs them out"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [username]) => {
      const user = await (await env.client()).POST("/api/users/{username}/password", { params: { path: { username: username! } } });
      env.out.result(user, () => `new password for ${user.username}${showPassword(user)}`);
      return undefined;
    }),
  );

  withCommon(
    program
      .command("password")
      .description(
        "change your own password: the current and the new one from CARETFLOW_PASSWORD and CARETFLOW_NEW_PASSWORD, or two lines on stdin",
      ),
  ).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const [current, next] = await secrets(env, ["CARETFLOW_PASSWORD", "CARETFLOW_NEW_PASSWORD"]);
      await (await env.client()).POST("/api/auth/password", { body: { current: current!, next: next! } });
      env.out.result({ ok: true }, () => "password changed; your other sessions were signed out");
      return undefined;
    }),
  );

  const projects = program.command("projects").description("projects and their members");

  withCommon(
    projects
      .command("create <name>")
      .description("create a project; you become its owner")
      .option("--description <text>", "what the project is for"),
  ).action(
    action<CommonOptions & { description?: string }>(ctx, exit, async (env, opts, [name]) => {
      const body = { name: name!, ...(opts.description ? { description: opts.description } : {}) };
      const project = await (await env.client()).POST("/api/projects", { body });
      env.out.result(project, () => `created project ${project.name}; work in it with --project ${project.name} (or CARETFLOW_PROJECT)`);
      return undefined;
    }),
  );

  withCommon(projects.command("list").description("the projects you belong to, with your role")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const { projects: list } = await (await env.client()).GET("/api/projects");
      env.out.result({ projects: list }, () =>
        list.length === 0
          ? "you belong to no project yet; create one with `caretflow projects create NAME` or ask an owner to add you"
          : formatTable(
              [{ header: "PROJECT" }, { header: "YOUR ROLE" }, { header: "CREATED" }, { header: "DESCRIPTION" }],
              list.map((p) => [p.name, p.role ?? "(site admin)", formatTime(p.createdAt), p.description ?? ""]),
            ),
      );
      return undefined;
    }),
  );

  withCommon(projects.command("members <project>").description("a project's members and their roles")).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [project]) => {
      const { members } = await (await env.client()).GET("/api/projects/{project}/members", { params: { path: { project: project! } } });
      env.out.result({ members }, () =>
        formatTable(
          [{ header: "USERNAME" }, { header: "ROLE" }, { header: "ADDED" }],
          members.map((m) => [m.username, m.role, formatTime(m.addedAt)]),
        ),
      );
      return undefined;
    }),
  );

  withCommon(
    projects
      .command("add-member <project> <username>")
      .description("add a member or change their role (owners)")
      .requiredOption("--role <role>", "viewer (read), editor (create and run) or owner (members, credentials, promotion)"),
  ).action(
    action<CommonOptions & { role: string }>(ctx, exit, async (env, opts, [project, username]) => {
      const body = parseFlags(z.object({ role: ProjectRoleSchema }), { role: opts.role }, { role: "--role" });
      const path = { project: project!, username: username! };
      const member = await (await env.client()).PUT("/api/projects/{project}/members/{username}", { params: { path }, body });
      env.out.result(member, () => `${member.username} is now ${member.role} of ${project}`);
      return undefined;
    }),
  );

  withCommon(
    projects.command("remove-member <project> <username>").description("remove a member (owners; a project keeps one owner)"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env, _opts, [project, username]) => {
      const path = { project: project!, username: username! };
      await (await env.client()).DELETE("/api/projects/{project}/members/{username}", { params: { path } });
      env.out.result({ ok: true }, () => `${username} is no longer a member of ${project}`);
      return undefined;
    }),
  );
}
