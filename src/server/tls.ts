import { existsSync, readFileSync } from "node:fs";
import type { TLSOptions } from "bun";
import type { ConfigValues } from "../config/options.ts";

/**
 * The TLS port's certificate, key and client-certificate policy, read from
 * the files the options name. Throws with one line naming the option when
 * something is missing or unreadable, so a bad TLS setup stops startup.
 */
export function tlsOptions(values: ConfigValues): TLSOptions {
  const read = (option: "tls-cert-file" | "tls-key-file" | "tls-ca-cert-file", required: boolean): string | undefined => {
    const path = values[option];
    if (path === "") {
      if (required) throw new Error(`invalid value '' for '${option}': a PEM file is required when tls-port is set`);
      return undefined;
    }
    if (!existsSync(path)) throw new Error(`invalid value '${path}' for '${option}': no such file`);
    const text = readFileSync(path, "utf8");
    if (!text.includes("-----BEGIN")) throw new Error(`invalid value '${path}' for '${option}': not a PEM file`);
    return text;
  };
  const cert = read("tls-cert-file", true);
  const key = read("tls-key-file", true);
  const authClients = values["tls-auth-clients"];
  const ca = read("tls-ca-cert-file", authClients !== "no");
  return {
    cert,
    key,
    ca,
    requestCert: authClients !== "no",
    rejectUnauthorized: authClients === "yes",
  };
}
