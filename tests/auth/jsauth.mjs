// The official JavaScript client (@huggingface/hub 2.17.5, installed by tests/hub/setup) using
// the token `ferry auth login` stored. The library itself never reads a token file (its CLI
// reads only HF_TOKEN), so this script reads $HF_TOKEN_PATH, the plain token file both hf and
// ferry write, and hands the token to the client as accessToken.
// Usage: HF_ENDPOINT=... HF_TOKEN_PATH=... NODE_EXTRA_CA_CERTS=ca.pem node jsauth.mjs CACHE_DIR
// Prints one JSON line: the whoAmI name and token name, and the path of a private file.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "hub", "conformance", "node_modules", "@huggingface", "hub", "dist", "index.mjs");
const hub = await import(pathToFileURL(entry).href);
console.debug = () => {};

const accessToken = readFileSync(process.env.HF_TOKEN_PATH, "utf8");
const hubUrl = process.env.HF_ENDPOINT.replace(/\/+$/, "");
const me = await hub.whoAmI({ accessToken, hubUrl });
const path = await hub.downloadFileToCacheDir({
  hubUrl, accessToken, cacheDir: process.argv[2], xet: false,
  repo: { type: "model", name: "demo/private-model" }, path: "secret.txt",
});
console.log(JSON.stringify({ name: me.name, tokenName: me.auth.accessToken.displayName, path }));
