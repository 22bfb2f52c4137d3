import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { CaretflowError } from "@caretflow/contracts";
import { type AddressPolicy, addressRefusal, checkedAddress } from "./address-guard.ts";

/**
 * A DNS lookup for http(s) agents that answers only addresses the policy allows (checkedAddress), so
 * a store's SDK connects to the very address that was checked, on every connection it opens.
 */
export function guardedLookup(policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    checkedAddress(hostname, policy).then(
      (address) => {
        const family = isIP(address) === 6 ? 6 : 4;
        if ((options as { all?: boolean }).all)
          (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, "", 4),
    );
  };
}

/** Keep-alive http and https agents whose every connection goes through guardedLookup. */
export function guardedAgents(policy: AddressPolicy): { http: http.Agent; https: https.Agent } {
  const lookup = guardedLookup(policy);
  return {
    http: new http.Agent({ keepAlive: true, lookup }),
    https: new https.Agent({ keepAlive: true, lookup }),
  };
}

/**
 * Check a store's endpoint URL before any request: its host must resolve to addresses the policy
 * allows, and plain http is accepted only for loopback or private addresses a site admin allowed
 * (an emulator or an in-house store); anything public must use https.
 */
export async function checkEndpoint(endpoint: string, policy: AddressPolicy): Promise<void> {
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const address = await checkedAddress(host, policy);
  if (url.protocol === "http:" && addressRefusal(address, { allowPrivateNetworks: false }) === null) {
    throw new CaretflowError({
      code: "endpoint_not_https",
      kind: "user",
      status: 400,
      message: `The endpoint ${url.origin} uses plain http to a public address; credentials would travel unencrypted`,
      hint: "Use an https:// endpoint (plain http is accepted only for loopback or private addresses a site admin allowed).",
    });
  }
}
