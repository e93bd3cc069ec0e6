// Uploads an artifact with GitHub's own client (@actions/artifact) to the emulator's results
// service, then downloads it again, inside the run (Twirp) and by run id (REST + 302), and
// compares the bytes. Prints one `ok`/`not ok` line per check and a final `N passed, N failed`.
//
// Environment: ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN (the job's runtime token),
// GITHUB_API_URL, GITHUB_TOKEN (REST token that can read the repo), GITHUB_REPOSITORY
// (owner/name) and GITHUB_RUN_ID (the run the runtime token belongs to).

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { DefaultArtifactClient } from '@actions/artifact';

const REQUIRED = [
  'ACTIONS_RESULTS_URL',
  'ACTIONS_RUNTIME_TOKEN',
  'GITHUB_API_URL',
  'GITHUB_TOKEN',
  'GITHUB_REPOSITORY',
  'GITHUB_RUN_ID',
];
const missing = REQUIRED.filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(`missing environment: ${missing.join(', ')}`);
  process.exit(2);
}
// A GHES server URL would make the client refuse to run; the emulator stands in for github.com.
delete process.env.GITHUB_SERVER_URL;

const [owner, repo] = process.env.GITHUB_REPOSITORY.split('/');
const runId = Number(process.env.GITHUB_RUN_ID);
const findBy = {
  token: process.env.GITHUB_TOKEN,
  workflowRunId: runId,
  repositoryOwner: owner,
  repositoryName: repo,
};
const NAME = 'node-roundtrip';

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error?.status ? `HTTP ${error.status} ` : ""}${error?.message || String(error)}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Every file under `dir`, as relative path -> sha256, so two trees compare byte for byte. */
async function tree(dir, base = dir, out = {}) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await tree(full, base, out);
    else out[path.relative(base, full)] = createHash('sha256').update(await readFile(full)).digest('hex');
  }
  return out;
}
function sameTree(actual, expected) {
  const a = JSON.stringify(Object.entries(actual).sort());
  const e = JSON.stringify(Object.entries(expected).sort());
  assert(a === e, `downloaded files differ: got ${a}, want ${e}`);
}

const work = await mkdtemp(path.join(tmpdir(), 'orchestrate-artifact-'));
const source = path.join(work, 'source');
await mkdir(path.join(source, 'nested'), { recursive: true });
await writeFile(path.join(source, 'build-info.json'), JSON.stringify({ version: '1.4.0', sha: 'abc123' }));
await writeFile(path.join(source, 'nested', 'notes.txt'), 'release notes\n'.repeat(100));
// Incompressible and over 8 MiB: the zip stream is uploaded as two staged blocks.
await writeFile(path.join(source, 'nested', 'payload.bin'), randomBytes(9 * 1024 * 1024));
const files = [
  path.join(source, 'build-info.json'),
  path.join(source, 'nested', 'notes.txt'),
  path.join(source, 'nested', 'payload.bin'),
];
const expected = await tree(source);

const client = new DefaultArtifactClient();
let uploaded;

await check('upload with @actions/artifact (CreateArtifact, Put Block x2, Put Block List, FinalizeArtifact)', async () => {
  uploaded = await client.uploadArtifact(NAME, files, source);
  assert(Number.isInteger(uploaded.id) && uploaded.id > 0, `artifact id ${uploaded.id}`);
  assert(uploaded.size > 8 * 1024 * 1024, `uploaded size ${uploaded.size}`);
  assert(/^[0-9a-f]{64}$/.test(uploaded.digest ?? ''), `digest ${uploaded.digest}`);
});

await check('a second upload with the same name is refused with 409', async () => {
  let message = '';
  try {
    await client.uploadArtifact(NAME, files.slice(0, 1), source);
  } catch (error) {
    message = String(error?.message ?? error);
  }
  assert(
    message.includes('(409) Conflict: an artifact with this name already exists on the workflow run'),
    `unexpected outcome: ${message || 'upload succeeded'}`,
  );
});

await check('list and get inside the run (ListArtifacts)', async () => {
  const { artifacts } = await client.listArtifacts();
  const found = artifacts.find((a) => a.name === NAME);
  assert(found, `not listed: ${JSON.stringify(artifacts)}`);
  assert(found.id === uploaded.id, `listed id ${found.id} != ${uploaded.id}`);
  assert(found.size === uploaded.size, `listed size ${found.size} != ${uploaded.size}`);
  const { artifact } = await client.getArtifact(NAME);
  assert(artifact.id === uploaded.id, `get id ${artifact.id}`);
});

await check('download inside the run by id (GetSignedArtifactURL + blob GET), bytes equal', async () => {
  const target = path.join(work, 'internal');
  const { digestMismatch } = await client.downloadArtifact(uploaded.id, {
    path: target,
    expectedHash: `sha256:${uploaded.digest}`,
  });
  assert(!digestMismatch, 'digest mismatch');
  sameTree(await tree(target), expected);
});

await check('list by run id with findBy (REST runs/{run_id}/artifacts)', async () => {
  const { artifacts } = await client.listArtifacts({ findBy });
  const found = artifacts.find((a) => a.name === NAME);
  assert(found, `not listed: ${JSON.stringify(artifacts)}`);
  assert(found.id === uploaded.id, `listed id ${found.id}`);
  assert(found.digest === `sha256:${uploaded.digest}`, `listed digest ${found.digest}`);
  const { artifact } = await client.getArtifact(NAME, { findBy });
  assert(artifact.id === uploaded.id, `get id ${artifact.id}`);
});

await check('download by run id with findBy (REST 302 + tokenless blob GET), bytes equal', async () => {
  const target = path.join(work, 'public');
  const { digestMismatch } = await client.downloadArtifact(uploaded.id, {
    path: target,
    findBy,
    expectedHash: `sha256:${uploaded.digest}`,
  });
  assert(!digestMismatch, 'digest mismatch');
  sameTree(await tree(target), expected);
  assert((await stat(path.join(target, 'nested', 'payload.bin'))).size === 9 * 1024 * 1024, 'payload size');
});

await rm(work, { recursive: true, force: true });
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
