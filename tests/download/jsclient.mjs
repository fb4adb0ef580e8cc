// The official JavaScript client (@huggingface/hub 2.17.5, installed by tests/hub/setup) on a
// Hugging Face cache, for the interoperability tests of `ferry download`.
// Usage: HF_ENDPOINT=... NODE_EXTRA_CA_CERTS=ca.pem node jsclient.mjs snapshot|file REPO TYPE CACHE_DIR [REVISION] [PATH]
// Prints the path the client returns.
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "hub", "conformance", "node_modules", "@huggingface", "hub", "dist", "index.mjs");
const hub = await import(pathToFileURL(entry).href);
console.debug = () => {}; // downloadFileToCacheDir logs every download on stdout

const [op, name, type, cacheDir, revision, path] = process.argv.slice(2);
const params = {
  hubUrl: process.env.HF_ENDPOINT.replace(/\/+$/, ""),
  repo: { type, name },
  cacheDir,
  xet: false,
  ...(revision ? { revision } : {}),
};
let result;
if (op === "snapshot") {
  result = await hub.snapshotDownload(params);
} else if (op === "file") {
  result = await hub.downloadFileToCacheDir({ ...params, path });
} else {
  console.error(`unknown operation ${op}`);
  process.exit(2);
}
console.log(result);
