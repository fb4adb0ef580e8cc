// The official JavaScript client (@huggingface/hub 2.17.5, installed by tests/hub/setup) uploading
// a local folder with uploadFiles (classic LFS, no Xet), for the `ferry upload` tests and
// bench/upload_run. The repo is created first if it does not exist.
// Usage: HF_ENDPOINT=... HF_TOKEN=... NODE_EXTRA_CA_CERTS=ca.pem node jsupload.mjs REPO TYPE FOLDER
// Prints the commit oid.
import { openAsBlob, readdirSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const entry = join(here, "..", "hub", "conformance", "node_modules", "@huggingface", "hub", "dist", "index.mjs");
const hub = await import(pathToFileURL(entry).href);

const [name, type, folder] = process.argv.slice(2);
if (!name || !type || !folder || !process.env.HF_ENDPOINT || !process.env.HF_TOKEN) {
  console.error("usage: HF_ENDPOINT=... HF_TOKEN=... node jsupload.mjs REPO TYPE FOLDER");
  process.exit(2);
}
const common = {
  hubUrl: process.env.HF_ENDPOINT.replace(/\/+$/, ""),
  accessToken: process.env.HF_TOKEN,
  repo: { type, name },
};

function walk(dir, out) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) walk(full, out);
    else if (e.isFile()) out.push(full);
  }
  return out;
}

if (!(await hub.repoExists(common))) {
  await hub.createRepo(common);
}
// openAsBlob: the file is read as the upload goes, never whole into memory
const files = [];
for (const full of walk(folder, []).sort()) {
  files.push({ path: relative(folder, full).split(sep).join("/"), content: await openAsBlob(full) });
}
const res = await hub.uploadFiles({ ...common, files, useXet: false });
console.log(res.commit.oid);
