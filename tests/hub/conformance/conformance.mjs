// Conformance of the local hub with the official JavaScript client (@huggingface/hub 2.17.5).
// Usage: HF_ENDPOINT=... HF_TOKEN=... LOCALHUB_CA=... node conformance.mjs
// Every step checks values; the exit status is non-zero if any step fails.
import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readlinkSync, existsSync, lstatSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Node reads extra CA certificates only at start-up: re-run ourselves with the local hub's CA.
if (process.env.LOCALHUB_CA && process.env.NODE_EXTRA_CA_CERTS !== process.env.LOCALHUB_CA) {
  const r = spawnSync(process.execPath, process.argv.slice(1), {
    stdio: "inherit",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: process.env.LOCALHUB_CA },
  });
  process.exit(r.status ?? 1);
}

const hub = await import("@huggingface/hub");
const hubUrl = (process.env.HF_ENDPOINT || "").replace(/\/+$/, "");
const accessToken = process.env.HF_TOKEN;
if (!hubUrl || !accessToken) {
  console.error("conformance: HF_ENDPOINT and HF_TOKEN must be set");
  process.exit(2);
}
console.debug = () => {}; // downloadFileToCacheDir logs every download with console.debug

// Record every exchange so that steps can check what went over the wire.
const exchanges = [];
const recordingFetch = async (input, init = {}) => {
  const url = String(input?.url ?? input);
  const resp = await fetch(input, init);
  exchanges.push({ method: (init.method || "GET").toUpperCase(), url, status: resp.status,
                   auth: new Headers(init.headers || {}).has("authorization") });
  return resp;
};
const common = { hubUrl, accessToken, fetch: recordingFetch };
const anonymous = { hubUrl, fetch: recordingFetch };

let failures = 0;
let step = 0;
async function check(name, fn) {
  step += 1;
  try {
    await fn();
    console.log(`ok ${step} - ${name}`);
  } catch (err) {
    failures += 1;
    const cause = err && err.cause ? `\ncause: ${err.cause}` : "";
    console.log(`not ok ${step} - ${name}\n  # ${String((err && err.stack || err) + cause).split("\n").join("\n  # ")}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
function equal(actual, expected, what) {
  expect(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
async function expectHubError(fn, statuses, what) {
  try {
    await fn();
  } catch (err) {
    expect(err instanceof hub.HubApiError, `${what}: expected HubApiError, got ${err}`);
    expect(statuses.includes(err.statusCode), `${what}: status ${err.statusCode} not in ${statuses}`);
    return err;
  }
  throw new Error(`${what}: expected an error`);
}
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");
const gitBlobId = (buf) =>
  createHash("sha1").update(Buffer.concat([Buffer.from(`blob ${buf.length}\0`), buf])).digest("hex");
const toBuffer = async (blob) => Buffer.from(await blob.arrayBuffer());

const suffix = randomBytes(4).toString("hex");
const repoName = `demo/conformance-${suffix}`;
const privateName = `demo/conformance-private-${suffix}`;
const repo = { type: "model", name: repoName };
const textContent = Buffer.from("hello from the conformance script\n");
const nestedContent = Buffer.from('{"nested": true}\n');
const bigContent = randomBytes(24 * 1024 * 1024);
const bigSha = sha256(bigContent);
const cacheDir = mkdtempSync(join(tmpdir(), "localhub-conformance-cache-"));
let mainHead = null;

await check("whoAmI returns user demo with a write token", async () => {
  const me = await hub.whoAmI(common);
  equal(me.name, "demo", "name");
  equal(me.type, "user", "type");
  equal(me.auth.accessToken.role, "write", "token role");
  expect(me.auth.accessToken.createdAt instanceof Date, "createdAt is a Date");
});

await check("createRepo makes a repo whose url is under the endpoint", async () => {
  const res = await hub.createRepo({ ...common, repo });
  equal(res.repoUrl, `${hubUrl}/${repoName}`, "repoUrl");
  expect(await hub.repoExists({ ...common, repo }), "repoExists after create");
  const files = [];
  for await (const f of hub.listFiles({ ...common, repo })) files.push(f.path);
  equal(files.join(","), ".gitattributes", "initial commit content");
});

await check("createRepo on an existing repo answers 409", async () => {
  await expectHubError(() => hub.createRepo({ ...common, repo }), [409], "second create");
});

await check("uploadFiles: text file, nested path and a 24 MiB binary through LFS multipart", async () => {
  const before = exchanges.length;
  const res = await hub.uploadFiles({
    ...common, repo,
    files: [
      { path: "hello.txt", content: new Blob([textContent]) },
      { path: "nested/dir/deep.json", content: new Blob([nestedContent]) },
      { path: "weights.bin", content: new Blob([bigContent]) },
    ],
  });
  expect(/^[0-9a-f]{40}$/.test(res.commit.oid), "commit oid is 40 hex");
  mainHead = res.commit.oid;
  const sent = exchanges.slice(before);
  const batch = sent.filter((e) => e.url.endsWith(".git/info/lfs/objects/batch"));
  const parts = sent.filter((e) => e.method === "PUT" && new URL(e.url).pathname.startsWith("/upload/"));
  const completions = sent.filter((e) => e.method === "POST" && e.url.includes("/api/lfs/complete/"));
  equal(batch.length, 1, "LFS batch requests");
  equal(parts.length, 3, "multipart part PUTs (24 MiB / 8 MiB)");
  expect(parts.every((p) => !p.auth && p.status < 300), "part PUTs succeed without Authorization");
  equal(completions.length, 1, "completion requests");
  expect(!completions[0].auth, "completion without Authorization");
  expect(!sent.some((e) => /xet/i.test(e.url)), "no Xet endpoint used");
});

await check("listFiles lists files and directories with git oids and the LFS oid and size", async () => {
  const entries = {};
  for await (const e of hub.listFiles({ ...common, repo, recursive: true })) entries[e.path] = e;
  equal(entries["hello.txt"]?.oid, gitBlobId(textContent), "hello.txt git blob id");
  equal(entries["hello.txt"]?.size, textContent.length, "hello.txt size");
  equal(entries["nested"]?.type, "directory", "nested is a directory");
  equal(entries["nested/dir"]?.type, "directory", "nested/dir is a directory");
  equal(entries["nested/dir/deep.json"]?.oid, gitBlobId(nestedContent), "deep.json oid");
  const w = entries["weights.bin"];
  equal(w?.lfs?.oid, bigSha, "weights.bin lfs oid");
  equal(w?.lfs?.size, bigContent.length, "weights.bin lfs size");
  equal(w?.size, bigContent.length, "weights.bin size");
  const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${bigSha}\nsize ${bigContent.length}\n`;
  equal(w?.oid, gitBlobId(Buffer.from(pointer)), "weights.bin oid is the pointer's blob id");
  equal(w?.lfs?.pointerSize, pointer.length, "pointerSize");
  const attrs = await toBuffer(await hub.downloadFile({ ...common, repo, path: ".gitattributes" }));
  expect(/\*\.bin filter=lfs/.test(attrs.toString()), ".gitattributes tracks *.bin");
});

await check("fileDownloadInfo gives size and etag (sha256 for LFS, git sha1 otherwise)", async () => {
  const big = await hub.fileDownloadInfo({ ...common, repo, path: "weights.bin" });
  equal(big.size, bigContent.length, "LFS size");
  equal(big.etag.replace(/"/g, ""), bigSha, "LFS etag");
  equal(big.xet, undefined, "no xet info");
  const small = await hub.fileDownloadInfo({ ...common, repo, path: "hello.txt" });
  equal(small.size, textContent.length, "regular size");
  equal(small.etag.replace(/"/g, ""), gitBlobId(textContent), "regular etag");
  const raw = await hub.fileDownloadInfo({ ...common, repo, path: "weights.bin", raw: true });
  expect(raw.size >= 130 && raw.size <= 140, `raw pointer size ${raw.size}`);
});

await check("downloadFile returns the same bytes (whole file and a range)", async () => {
  const small = await hub.downloadFile({ ...common, repo, path: "nested/dir/deep.json" });
  expect(Buffer.compare(await toBuffer(small), nestedContent) === 0, "nested file bytes");
  const big = await hub.downloadFile({ ...common, repo, path: "weights.bin", xet: false });
  const bytes = await toBuffer(big);
  equal(sha256(bytes), bigSha, "downloaded sha256");
  const slice = await toBuffer(big.slice(1000, 5000));
  expect(Buffer.compare(slice, bigContent.subarray(1000, 5000)) === 0, "range bytes");
  const cdn = exchanges.filter((e) => new URL(e.url).pathname.startsWith("/lfs/"));
  expect(cdn.length === 0 || cdn.every((e) => !e.auth), "CDN requests carry no Authorization");
});

await check("downloadFileToCacheDir writes blobs/ and a relative snapshot symlink", async () => {
  const path = await hub.downloadFileToCacheDir({ ...common, repo, path: "weights.bin", cacheDir, xet: false });
  const folder = join(cacheDir, `models--demo--conformance-${suffix}`);
  equal(path, join(folder, "snapshots", mainHead, "weights.bin"), "snapshot path (last commit of the file)");
  expect(lstatSync(path).isSymbolicLink(), "snapshot entry is a symlink");
  equal(readlinkSync(path), `../../blobs/${bigSha}`, "symlink target");
  equal(sha256(readFileSync(path)), bigSha, "cached bytes");
});

await check("snapshotDownload fetches every file and writes refs/main", async () => {
  const snap = await hub.snapshotDownload({ ...common, repo, cacheDir, xet: false });
  const folder = join(cacheDir, `models--demo--conformance-${suffix}`);
  equal(snap, join(folder, "snapshots", mainHead), "snapshot folder");
  equal(readFileSync(join(folder, "refs", "main"), "utf8"), mainHead, "refs/main");
  for (const p of [".gitattributes", "hello.txt", "nested/dir/deep.json", "weights.bin"]) {
    expect(existsSync(join(snap, p)), `snapshot has ${p}`);
  }
  expect(Buffer.compare(readFileSync(join(snap, "nested/dir/deep.json")), nestedContent) === 0, "nested bytes");
  equal(readlinkSync(join(snap, "hello.txt")), `../../blobs/${gitBlobId(textContent)}`, "hello.txt blob");
});

await check("createBranch and a commit to it leave main unchanged", async () => {
  await hub.createBranch({ ...common, repo, branch: "dev" });
  const res = await hub.uploadFiles({
    ...common, repo, branch: "dev",
    files: [{ path: "dev-only.txt", content: new Blob(["dev branch\n"]) }],
  });
  const dev = [];
  for await (const f of hub.listFiles({ ...common, repo, revision: "dev" })) dev.push(f.path);
  expect(dev.includes("dev-only.txt"), "dev has dev-only.txt");
  const main = [];
  for await (const f of hub.listFiles({ ...common, repo })) main.push(f.path);
  expect(!main.includes("dev-only.txt"), "main does not");
  const info = await hub.modelInfo({ ...common, name: repoName, revision: "dev", additionalFields: ["sha"] });
  equal(info.sha, res.commit.oid, "dev head");
  const headInfo = await hub.modelInfo({ ...common, name: repoName, additionalFields: ["sha"] });
  equal(headInfo.sha, mainHead, "HEAD revision is main");
});

await check("listCommits pages through history with authors", async () => {
  const commits = [];
  for await (const c of hub.listCommits({ ...common, repo, revision: "dev", batchSize: 1 })) commits.push(c);
  equal(commits.length, 3, "commits on dev");
  equal(commits[1].oid, mainHead, "second newest is the main head");
  equal(commits[2].title, "initial commit", "oldest is the initial commit");
  expect(commits.every((c) => c.authors[0]?.username === "demo"), "authors");
  expect(commits.every((c) => c.date instanceof Date && !isNaN(c.date)), "dates");
  const count = await hub.countCommits({ ...common, repo, revision: "dev" });
  equal(count, 3, "countCommits (X-Total-Count)");
});

await check("listModels with search finds the repo", async () => {
  const found = [];
  for await (const m of hub.listModels({ ...common, search: { query: `conformance-${suffix}` } })) found.push(m.name);
  equal(found.join(","), repoName, "search result");
  const byOwner = [];
  for await (const m of hub.listModels({ ...common, search: { owner: "demo" }, limit: 2 })) byOwner.push(m.name);
  equal(byOwner.length, 2, "limit honoured");
});

await check("missing file: null / false; missing repo: HubApiError", async () => {
  equal(await hub.downloadFile({ ...common, repo, path: "missing.txt" }), null, "downloadFile");
  equal(await hub.fileDownloadInfo({ ...common, repo, path: "missing.txt" }), null, "fileDownloadInfo");
  equal(await hub.fileExists({ ...common, repo, path: "missing.txt" }), false, "fileExists");
  equal(await hub.fileExists({ ...common, repo, path: "hello.txt" }), true, "fileExists (present)");
  const err = await expectHubError(
    () => hub.fileDownloadInfo({ ...common, repo: { type: "model", name: "demo/no-such-repo" }, path: "x" }),
    [401, 404], "missing repo");
  expect(/Repository not found/.test(err.message), `message: ${err.message}`);
  await expectHubError(() => hub.downloadFile({ ...common, repo, path: "hello.txt", revision: "no-such-branch" }),
    [404], "missing revision");
  equal(await hub.repoExists({ ...common, repo: { type: "model", name: "demo/no-such-repo" } }), false, "repoExists");
});

await check("a private repo is invisible without a token", async () => {
  const priv = { type: "model", name: privateName };
  await hub.createRepo({ ...common, repo: priv, private: true });
  expect(await hub.repoExists({ ...common, repo: priv }), "visible to its owner");
  equal(await hub.repoExists({ ...anonymous, repo: priv }), false, "invisible anonymously");
  await expectHubError(() => hub.modelInfo({ ...anonymous, name: privateName }), [401, 404], "modelInfo");
  const listed = [];
  for await (const m of hub.listModels({ ...anonymous, search: { query: `conformance-private-${suffix}` } })) listed.push(m.name);
  equal(listed.length, 0, "not listed anonymously");
  const mine = [];
  for await (const m of hub.listModels({ ...common, search: { query: `conformance-private-${suffix}` } })) mine.push(m);
  equal(mine.length, 1, "listed for its owner");
  equal(mine[0].private, true, "private flag");
});

await check("an invalid token is refused with 401", async () => {
  await expectHubError(() => hub.whoAmI({ hubUrl, accessToken: "hf_notavalidtoken" }), [401], "whoAmI");
});

await check("deleteRepo removes both repos", async () => {
  await hub.deleteRepo({ ...common, repo });
  await hub.deleteRepo({ ...common, repo: { type: "model", name: privateName } });
  equal(await hub.repoExists({ ...common, repo }), false, "repo gone");
  equal(await hub.repoExists({ ...common, repo: { type: "model", name: privateName } }), false, "private gone");
});

rmSync(cacheDir, { recursive: true, force: true });
console.log(`1..${step}`);
console.log(failures ? `# ${failures} of ${step} steps failed` : `# all ${step} steps passed`);
process.exit(failures ? 1 : 0);
