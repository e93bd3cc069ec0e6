// The manifest a rehearsal uploads: `orchestrate rehearse … --serve-after ENV` leaves the
// emulator serving and writes the orchestrating run's environment; this downloads the
// manifest artifact with @actions/artifact (inside the run, and by run id over REST) and
// validates it against schema/manifest.schema.json (JSON Schema 2020-12, with Ajv). With
// EXPECT_ROLLBACK=1 it also checks that every rollback restored a version from the previous
// verified release's manifest. Prints `ok`/`not ok` lines and `N passed, N failed`.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DefaultArtifactClient } from '@actions/artifact';
import Ajv2020 from 'ajv/dist/2020.js';

for (const name of ['ACTIONS_RESULTS_URL', 'ACTIONS_RUNTIME_TOKEN', 'GITHUB_API_URL', 'GITHUB_TOKEN', 'GITHUB_REPOSITORY', 'GITHUB_RUN_ID', 'MANIFEST_ARTIFACT_ID']) {
  if (!process.env[name]) {
    console.error(`missing environment: ${name}`);
    process.exit(2);
  }
}
delete process.env.GITHUB_SERVER_URL;

const here = path.dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(await readFile(path.join(here, '../../../schema/manifest.schema.json'), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
// Integer widths schemars states; JSON numbers carry them without loss here.
for (const format of ['uint', 'uint32', 'uint64', 'double']) ajv.addFormat(format, true);
const validate = ajv.compile(schema);

const [owner, repo] = process.env.GITHUB_REPOSITORY.split('/');
const findBy = {
  token: process.env.GITHUB_TOKEN,
  workflowRunId: Number(process.env.GITHUB_RUN_ID),
  repositoryOwner: owner,
  repositoryName: repo,
};
const id = Number(process.env.MANIFEST_ARTIFACT_ID);

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

const work = await mkdtemp(path.join(tmpdir(), 'orchestrate-manifest-'));
const client = new DefaultArtifactClient();
let manifest;

await check('the manifest artifact is listed in the orchestrating run', async () => {
  const { artifacts } = await client.listArtifacts({ findBy });
  const found = artifacts.find((a) => a.id === id);
  assert(found, `artifact ${id} not listed: ${JSON.stringify(artifacts)}`);
  assert(/^orchestrate-manifest-\d+$/.test(found.name), `name ${found.name}`);
});

for (const [how, options] of [['inside the run (Twirp)', {}], ['by run id (REST)', { findBy }]]) {
  await check(`download ${how} with @actions/artifact`, async () => {
    const target = path.join(work, how.replace(/\W+/g, '-'));
    const { digestMismatch } = await client.downloadArtifact(id, { path: target, ...options });
    assert(!digestMismatch, 'digest mismatch');
    manifest = JSON.parse(await readFile(path.join(target, 'manifest.json'), 'utf8'));
  });
}

await check('the manifest validates against schema/manifest.schema.json', async () => {
  assert(manifest, 'no manifest downloaded');
  const valid = validate(manifest);
  assert(valid, JSON.stringify(validate.errors, null, 2));
  assert(manifest.schema === 'orchestrate.manifest/v1', `schema ${manifest.schema}`);
});

if (process.env.EXPECT_ROLLBACK === '1') {
  await check('the rollback restored the previous verified manifest, and says so', async () => {
    assert(manifest.status === 'rolled_back' && manifest.verified === false, `status ${manifest.status}`);
    const previous = manifest.previous_release;
    assert(previous && previous.deployment_id, 'no previous_release');
    const restored = manifest.rollbacks.filter((r) => r.outcome === 'succeeded');
    assert(restored.length >= 1, 'nothing restored');
    for (const r of restored) {
      assert(r.source === 'manifest' && r.from_release === previous.deployment_id, JSON.stringify(r));
      assert(r.to_version === previous.versions[r.service], `${r.service}: ${r.to_version} vs ${previous.versions[r.service]}`);
    }
  });
} else {
  await check('a verified release: every service of the release succeeded', async () => {
    assert(manifest.status === 'succeeded' && manifest.verified === true, `status ${manifest.status}`);
    const members = Object.values(manifest.services).filter((s) => s.to_version);
    assert(members.length > 0 && members.every((s) => s.outcome === 'succeeded'), JSON.stringify(members));
  });
}

await rm(work, { recursive: true, force: true });
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
