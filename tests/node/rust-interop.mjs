// Byte-identical artifacts between orchestrate's Rust clients and GitHub's own: a file Rust
// uploads through the results service (CreateArtifact, Put Blob, FinalizeArtifact) is
// downloaded by @actions/artifact (inside the run and by run id), and an artifact
// @actions/artifact uploads is downloaded by Rust's REST client (302 + tokenless blob GET,
// digest checked). Prints one `ok`/`not ok` line per check and `N passed, N failed`.
//
// Environment: that of artifact-roundtrip.mjs, plus ARTIFACT_INTEROP (the Rust example binary).

import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { DefaultArtifactClient } from '@actions/artifact';

for (const name of ['ACTIONS_RESULTS_URL', 'ACTIONS_RUNTIME_TOKEN', 'GITHUB_API_URL', 'GITHUB_TOKEN', 'GITHUB_REPOSITORY', 'GITHUB_RUN_ID', 'ARTIFACT_INTEROP']) {
  if (!process.env[name]) {
    console.error(`missing environment: ${name}`);
    process.exit(2);
  }
}
delete process.env.GITHUB_SERVER_URL;

const [owner, repo] = process.env.GITHUB_REPOSITORY.split('/');
const findBy = {
  token: process.env.GITHUB_TOKEN,
  workflowRunId: Number(process.env.GITHUB_RUN_ID),
  repositoryOwner: owner,
  repositoryName: repo,
};

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error?.message || String(error)}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
const sha = (bytes) => createHash('sha256').update(bytes).digest('hex');
async function tree(dir, base = dir, out = {}) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await tree(full, base, out);
    else out[path.relative(base, full)] = sha(await readFile(full));
  }
  return out;
}
const rust = (...args) => execFileSync(process.env.ARTIFACT_INTEROP, args, { encoding: 'utf8' }).trim();

const work = await mkdtemp(path.join(tmpdir(), 'orchestrate-interop-'));
const client = new DefaultArtifactClient();

const rustFile = path.join(work, 'build-info.json');
const rustBytes = Buffer.concat([
  Buffer.from(JSON.stringify({ schema: 'orchestrate.build_info/v1', version: '1.3.0' })),
  randomBytes(300 * 1024),
]);
await writeFile(rustFile, rustBytes);
let rustId;

await check('Rust uploads through the results service (CreateArtifact, Put Blob, FinalizeArtifact)', async () => {
  const [id, digest] = rust('upload', 'rust-made', rustFile).split(' ');
  rustId = Number(id);
  assert(Number.isInteger(rustId) && rustId > 0, `artifact id ${id}`);
  assert(/^sha256:[0-9a-f]{64}$/.test(digest), `digest ${digest}`);
});

await check('@actions/artifact downloads the Rust upload inside the run, byte-identical', async () => {
  const target = path.join(work, 'rust-internal');
  const { digestMismatch } = await client.downloadArtifact(rustId, { path: target });
  assert(!digestMismatch, 'digest mismatch');
  const got = await readFile(path.join(target, 'build-info.json'));
  assert(sha(got) === sha(rustBytes), 'bytes differ');
});

await check('@actions/artifact downloads the Rust upload by run id (REST), byte-identical', async () => {
  const target = path.join(work, 'rust-public');
  const { digestMismatch } = await client.downloadArtifact(rustId, { path: target, findBy });
  assert(!digestMismatch, 'digest mismatch');
  const got = await readFile(path.join(target, 'build-info.json'));
  assert(sha(got) === sha(rustBytes), 'bytes differ');
});

await check('Rust downloads an @actions/artifact upload by REST, byte-identical', async () => {
  const source = path.join(work, 'node-source');
  await mkdir(path.join(source, 'nested'), { recursive: true });
  await writeFile(path.join(source, 'manifest.json'), JSON.stringify({ hello: 'rust' }));
  await writeFile(path.join(source, 'nested', 'blob.bin'), randomBytes(200 * 1024));
  const files = [path.join(source, 'manifest.json'), path.join(source, 'nested', 'blob.bin')];
  await client.uploadArtifact('node-made', files, source);
  const target = path.join(work, 'node-by-rust');
  const said = rust('download', 'node-made', target);
  assert(said === '2 files', `rust says: ${said}`);
  const [a, b] = [JSON.stringify(Object.entries(await tree(target)).sort()), JSON.stringify(Object.entries(await tree(source)).sort())];
  assert(a === b, `trees differ: ${a} vs ${b}`);
});

await rm(work, { recursive: true, force: true });
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
