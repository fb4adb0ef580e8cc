// The official JavaScript client's snapshotDownload (@huggingface/hub 2.17.5, installed by
// tests/hub/setup) into a cache folder, for bench/hub_run.
// Usage: HF_ENDPOINT=... HF_TOKEN=... NODE_EXTRA_CA_CERTS=ca.pem node snapshot.mjs REPO TYPE CACHE_DIR
// Prints the snapshot folder the client returns.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "..", "tests", "hub", "conformance", "node_modules", "@huggingface",
                   "hub", "dist", "index.mjs");
const hub = await import(pathToFileURL(entry).href);
console.debug = () => {}; // downloadFileToCacheDir logs every download on stdout

const [name, type, cacheDir] = process.argv.slice(2);
if (!name || !type || !cacheDir || !process.env.HF_ENDPOINT) {
  console.error("usage: HF_ENDPOINT=... node snapshot.mjs REPO TYPE CACHE_DIR");
  process.exit(2);
}
const folder = await hub.snapshotDownload({
  hubUrl: process.env.HF_ENDPOINT.replace(/\/+$/, ""),
  repo: { type, name },
  cacheDir,
  xet: false,
  ...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}),
});
console.log(folder);
