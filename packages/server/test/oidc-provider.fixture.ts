import { generateKeyPairSync, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Provider from "oidc-provider";

/** A registered client of the test provider. */
export interface TestClient {
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

/**
 * A real OpenID Connect provider (oidc-provider) on a free loopback port, with one confidential client and
 * its development sign-in pages: any login name signs in as the account of that name (its `sub`), whose
 * preferred_username is the login and email is `<login>@example.com`.
 * @example const idp = await startTestProvider({ redirectUri }); ...; await idp.close();
 */
export async function startTestProvider(opts: { redirectUri: string }): Promise<{
  issuer: string;
  client: TestClient;
  close(): Promise<void>;
}> {
  const server: Server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client: TestClient = { clientId: "caretflow", clientSecret: randomBytes(24).toString("base64url"), redirectUri: opts.redirectUri };
  const signing = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        redirect_uris: [client.redirectUri],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [{ ...signing, alg: "RS256", use: "sig", kid: "test" } as never] },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    claims: { openid: ["sub"], profile: ["preferred_username", "name"], email: ["email", "email_verified"] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, preferred_username: id, name: id, email: `${id}@example.com`, email_verified: true };
        },
      };
    },
  });
  provider.on("server_error", (_ctx, err) => console.error("test provider:", err));
  server.on("request", provider.callback());
  return {
    issuer,
    client,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}
