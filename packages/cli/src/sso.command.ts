import { SetSsoRequest, type SsoSettings } from "@caretflow/contracts";
import type { Command } from "commander";
import { secrets } from "./access.command.ts";
import { action, type CommonOptions, type ExitState, parseFlags, withCommon } from "./common.ts";
import type { CliContext } from "./context.ts";
import { formatTime } from "./table.ts";

/** The environment variable `sso set --client-secret-stdin` reads before standard input. */
export const SSO_SECRET_VAR = "CARETFLOW_SSO_CLIENT_SECRET";

/** The settings as `key: value` lines; the secret shows only as set or not. */
export function ssoText(s: SsoSettings): string {
  if (!s.enabled) return `single sign-on is off\nredirect URI to register with a provider: ${s.redirectUri}`;
  return [
    "single sign-on is on",
    `issuer:          ${s.issuer}`,
    `client id:       ${s.clientId}`,
    `client secret:   ${s.clientSecretSet ? "set (never shown)" : "none (public client)"}`,
    `auto-create:     ${s.autoCreate ? "yes: a person's first sign-in creates their user" : "no: a site admin creates users first"}`,
    `default project: ${s.defaultProject === null ? "(none)" : `${s.defaultProject} as ${s.defaultRole}`}`,
    `button label:    ${s.buttonLabel}`,
    `redirect URI:    ${s.redirectUri}`,
    `updated:         ${formatTime(s.updatedAt)}`,
  ].join("\n");
}

type SetOptions = CommonOptions & {
  issuer?: string;
  clientId?: string;
  clientSecretStdin?: boolean;
  autoCreate?: boolean;
  defaultProject?: string | false;
  defaultRole?: string;
  label?: string;
};

/** `caretflow sso show|set|disable`: single sign-on with an OpenID Connect provider (site admins). */
export function registerSso(program: Command, ctx: CliContext, exit: ExitState): void {
  const sso = program.command("sso").description("single sign-on with an OpenID Connect provider (site admins)");

  withCommon(sso.command("show").description("the single sign-on settings (the client secret is never shown)")).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const s = await (await env.client()).GET("/api/settings/sso");
      env.out.result(s, () => ssoText(s));
      return undefined;
    }),
  );

  withCommon(
    sso
      .command("set")
      .description(
        "turn single sign-on on with a provider (its discovery document is checked first); settings left out keep their current value",
      )
      .requiredOption("--issuer <url>", "the provider's issuer URL (https)")
      .requiredOption("--client-id <id>", "caretflow's client ID at the provider")
      .option("--client-secret-stdin", `read the client secret from standard input (or ${SSO_SECRET_VAR}); never give it as an argument`)
      .option("--auto-create", "create a caretflow user on a person's first sign-in (the default)")
      .option("--no-auto-create", "refuse people without a caretflow user linked to them")
      .option("--default-project <name>", "the project new users join")
      .option("--no-default-project", "new users join no project")
      .option("--default-role <role>", "their role there: viewer, editor or owner (default viewer)")
      .option("--label <text>", "the sign-in button's label (default 'Sign in with SSO')"),
  ).action(
    action<SetOptions>(ctx, exit, async (env, opts) => {
      const client = await env.client();
      const current = await client.GET("/api/settings/sso");
      const keep = current.enabled;
      const clientSecret = opts.clientSecretStdin ? (await secrets(env, [SSO_SECRET_VAR]))[0] : undefined;
      const body = parseFlags(
        SetSsoRequest,
        {
          issuer: opts.issuer,
          clientId: opts.clientId,
          ...(clientSecret !== undefined ? { clientSecret } : {}),
          autoCreate: opts.autoCreate ?? (keep ? current.autoCreate : true),
          defaultProject: opts.defaultProject === false ? null : (opts.defaultProject ?? (keep ? current.defaultProject : null)),
          defaultRole: opts.defaultRole ?? (keep ? current.defaultRole : "viewer"),
          buttonLabel: opts.label ?? current.buttonLabel,
        },
        {
          issuer: "--issuer",
          clientId: "--client-id",
          clientSecret: "--client-secret-stdin",
          defaultProject: "--default-project",
          defaultRole: "--default-role",
          buttonLabel: "--label",
        },
      );
      const s = await client.PUT("/api/settings/sso", { body });
      env.out.result(s, () => `${ssoText(s)}\nregister the redirect URI above with the provider if you have not yet`);
      return undefined;
    }),
  );

  withCommon(
    sso.command("disable").description("turn single sign-on off and forget the provider and its secret (users stay linked)"),
  ).action(
    action<CommonOptions>(ctx, exit, async (env) => {
      const s = await (await env.client()).DELETE("/api/settings/sso");
      env.out.result(s, () => "single sign-on is off; people sign in with their caretflow password");
      return undefined;
    }),
  );
}
