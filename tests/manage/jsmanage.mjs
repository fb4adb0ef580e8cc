// The official JavaScript client (@huggingface/hub 2.17.5, installed by tests/hub/setup) for the
// interoperability tests of ferry's repo management.
// Usage: HF_ENDPOINT=... HF_TOKEN=... NODE_EXTRA_CA_CERTS=ca.pem node jsmanage.mjs OP ARGS...
//   exists TYPE REPO                    -> {"exists": bool}
//   info TYPE REPO [REVISION]           -> {"sha", "private", "gated", "files": [paths]}
//   create TYPE REPO                    -> {"url"}
//   upload TYPE REPO PATH=FILE...       -> {"commit"}  (LFS decided by the hub, never Xet)
// Prints one JSON object on stdout.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "hub", "conformance", "node_modules", "@huggingface", "hub", "dist", "index.mjs");
const hub = await import(pathToFileURL(entry).href);

const [op, type, name, ...rest] = process.argv.slice(2);
const common = { hubUrl: process.env.HF_ENDPOINT.replace(/\/+$/, ""), accessToken: process.env.HF_TOKEN };
const repo = { type, name };
let out;
if (op === "exists") {
  out = { exists: await hub.repoExists({ ...common, repo }) };
} else if (op === "info") {
  const fn = { model: hub.modelInfo, dataset: hub.datasetInfo, space: hub.spaceInfo }[type];
  const info = await fn({ ...common, name, ...(rest[0] ? { revision: rest[0] } : {}),
                          additionalFields: ["sha", "siblings"] });
  out = { sha: info.sha, private: info.private, gated: info.gated,
          files: (info.siblings || []).map((s) => s.rfilename) };
} else if (op === "create") {
  const res = await hub.createRepo({ ...common, repo, ...(type === "space" ? { sdk: "static" } : {}) });
  out = { url: res.repoUrl };
} else if (op === "upload") {
  const files = rest.map((spec) => {
    const [path, file] = spec.split("=");
    return { path, content: new Blob([readFileSync(file)]) };
  });
  const res = await hub.uploadFiles({ ...common, repo, files, useXet: false });
  out = { commit: res.commit.oid };
} else {
  console.error(`unknown operation ${op}`);
  process.exit(2);
}
console.log(JSON.stringify(out));
