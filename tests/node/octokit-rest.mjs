// Drives the emulator's REST API with GitHub's own client, @octokit/rest, unchanged: dispatch
// (204, 200 with run details, API 2026-03-10), list runs with pagination, get a run and its
// jobs, list and download an artifact (302 followed, and the tokenless Location by hand),
// conditional requests (304 surfaces as an error with status 304) and the rate-limit budget.
// Prints one `ok`/`not ok` line per check and a final `N passed, N failed`.
//
// Environment: GITHUB_API_URL, GITHUB_WRITE_TOKEN (may dispatch), GITHUB_REPOSITORY
// (owner/name) and RELEASE_WORKFLOW (a fast workflow with inputs `version`, `orchestrate_id`,
// a run-name "Release <version> [<orchestrate_id>]" and a `release-manifest` artifact).

import { Octokit } from '@octokit/rest';

const REQUIRED = ['GITHUB_API_URL', 'GITHUB_WRITE_TOKEN', 'GITHUB_REPOSITORY', 'RELEASE_WORKFLOW'];
const missing = REQUIRED.filter((name) => !process.env[name]);
if (missing.length > 0) {
  console.error(`missing environment: ${missing.join(', ')}`);
  process.exit(2);
}

const [owner, repo] = process.env.GITHUB_REPOSITORY.split('/');
const workflow_id = process.env.RELEASE_WORKFLOW;
const baseUrl = process.env.GITHUB_API_URL;
const quiet = { debug() {}, info() {}, warn: console.warn, error: console.error };
const octokit = new Octokit({
  auth: process.env.GITHUB_WRITE_TOKEN,
  baseUrl,
  userAgent: 'orchestrate-octokit-check',
  log: quiet,
});
// Every successful request octokit made, to count pages.
const seen = [];
octokit.hook.after('request', (response, options) => {
  seen.push({ method: options.method, url: options.url, status: response.status });
});

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`ok - ${name}`);
  } catch (error) {
    results.push(false);
    console.log(`not ok - ${name}: ${error?.status ? `HTTP ${error.status} ` : ''}${error?.message || String(error)}`);
  }
}
function assert(condition, message) {
  if (!condition) throw new Error(message);
}
async function expectError(promise, status) {
  try {
    await promise;
  } catch (error) {
    assert(error.status === status, `expected HTTP ${status}, got ${error.status}: ${error.message}`);
    return error;
  }
  throw new Error(`expected HTTP ${status}, the call succeeded`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const correlation = `oct-${process.pid}`;
const dispatched = [];

/** Dispatches with run details; returns the run id. */
async function dispatch(version, extra = {}) {
  const response = await octokit.rest.actions.createWorkflowDispatch({
    owner,
    repo,
    workflow_id,
    ref: 'main',
    inputs: { version, orchestrate_id: correlation },
    return_run_details: true,
    ...extra,
  });
  assert(response.status === 200, `status ${response.status}`);
  const id = response.data.workflow_run_id;
  assert(Number.isInteger(id) && id > 0, `workflow_run_id ${id}`);
  dispatched.push(id);
  return response;
}

await check('dispatch without return_run_details answers 204 with no body', async () => {
  const response = await octokit.rest.actions.createWorkflowDispatch({
    owner,
    repo,
    workflow_id,
    ref: 'main',
    inputs: { version: '0.9.0', orchestrate_id: correlation },
  });
  assert(response.status === 204, `status ${response.status}`);
  assert(response.data === '' || response.data === undefined, `body ${JSON.stringify(response.data)}`);
});

await check('dispatch with return_run_details answers 200 with the run id and URLs', async () => {
  const { data } = await dispatch('1.0.0');
  const id = data.workflow_run_id;
  assert(data.run_url === `${baseUrl}/repos/${owner}/${repo}/actions/runs/${id}`, `run_url ${data.run_url}`);
  assert(data.html_url.endsWith(`/${owner}/${repo}/actions/runs/${id}`), `html_url ${data.html_url}`);
});

await check('API 2026-03-10: dispatch always answers 200 with details', async () => {
  const response = await octokit.rest.actions.createWorkflowDispatch({
    owner,
    repo,
    workflow_id,
    ref: 'main',
    inputs: { version: '1.1.0', orchestrate_id: correlation },
    headers: { 'x-github-api-version': '2026-03-10' },
  });
  assert(response.status === 200, `status ${response.status}`);
  dispatched.push(response.data.workflow_run_id);
});

await check('an unknown input is a 422 RequestError with GitHub\'s message', async () => {
  const error = await expectError(
    octokit.rest.actions.createWorkflowDispatch({
      owner,
      repo,
      workflow_id,
      ref: 'main',
      inputs: { version: '1', nope: 'x' },
    }),
    422,
  );
  assert(error.message.includes('Unexpected inputs provided'), error.message);
});

await check('paginate walks every run of the workflow over several pages (per_page 2)', async () => {
  await dispatch('1.2.0');
  await dispatch('1.3.0');
  const before = seen.length;
  const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, {
    owner,
    repo,
    workflow_id,
    per_page: 2,
  });
  const pages = seen.slice(before).filter((r) => r.url.includes('/runs'));
  assert(pages.length >= 3, `only ${pages.length} page request(s)`);
  const ids = runs.map((r) => r.id);
  assert(new Set(ids).size === ids.length, `duplicates in ${ids}`);
  for (const id of dispatched) assert(ids.includes(id), `run ${id} missing from ${ids}`);
  assert(ids.length === dispatched.length + 1, `${ids.length} runs, dispatched ${dispatched.length + 1}`);
  const sorted = [...ids].sort((a, b) => b - a);
  assert(JSON.stringify(sorted) === JSON.stringify(ids), `not newest first: ${ids}`);
});

await check('paginate.iterator over the repository run list with filters', async () => {
  let total = 0;
  let pages = 0;
  for await (const page of octokit.paginate.iterator(octokit.rest.actions.listWorkflowRunsForRepo, {
    owner,
    repo,
    event: 'workflow_dispatch',
    branch: 'main',
    per_page: 2,
  })) {
    pages += 1;
    total += page.data.length;
    assert(page.data.length <= 2, `page of ${page.data.length}`);
  }
  assert(pages > 1, `${pages} page(s)`);
  const first = await octokit.rest.actions.listWorkflowRunsForRepo({ owner, repo, event: 'workflow_dispatch', per_page: 1 });
  assert(total === first.data.total_count, `iterated ${total}, total_count ${first.data.total_count}`);
});

await check('the 204 dispatch is found by its run-name (display_title)', async () => {
  const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRuns, {
    owner,
    repo,
    workflow_id,
    event: 'workflow_dispatch',
    per_page: 100,
  });
  const match = runs.filter((r) => r.display_title === `Release 0.9.0 [${correlation}]`);
  assert(match.length === 1, `${match.length} runs titled for the 204 dispatch`);
});

let runId;
await check('get a run and its jobs with steps', async () => {
  runId = dispatched[0];
  const { data: run } = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId });
  assert(run.id === runId, `id ${run.id}`);
  assert(run.display_title === `Release 1.0.0 [${correlation}]`, `display_title ${run.display_title}`);
  assert(run.path.startsWith(`.github/workflows/${workflow_id}@`), `path ${run.path}`);
  assert(run.event === 'workflow_dispatch', `event ${run.event}`);
  const { data } = await octokit.rest.actions.listJobsForWorkflowRun({ owner, repo, run_id: runId });
  assert(data.total_count === data.jobs.length && data.jobs.length > 0, `jobs ${JSON.stringify(data)}`);
  const job = data.jobs[0];
  assert(job.run_id === runId, `job.run_id ${job.run_id}`);
  assert(Array.isArray(job.steps) && job.steps.length > 0, 'steps');
  assert(job.steps.every((s, i) => s.number === i + 1 && typeof s.name === 'string'), 'numbered steps');
  const { data: one } = await octokit.rest.actions.getJobForWorkflowRun({ owner, repo, job_id: job.id });
  assert(one.id === job.id && one.name === job.name, `job ${one.id}`);
});

await check('the run completes successfully (polling getWorkflowRun)', async () => {
  const deadline = Date.now() + 20_000;
  let run;
  for (;;) {
    ({ data: run } = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId }));
    if (run.status === 'completed' || Date.now() > deadline) break;
    await sleep(250);
  }
  assert(run.status === 'completed', `still ${run.status}`);
  assert(run.conclusion === 'success', `conclusion ${run.conclusion}`);
});

let artifact;
await check('list the run\'s artifacts and download the zip (302 followed)', async () => {
  const { data } = await octokit.rest.actions.listWorkflowRunArtifacts({ owner, repo, run_id: runId, name: 'release-manifest' });
  assert(data.total_count === 1, `total_count ${data.total_count}`);
  artifact = data.artifacts[0];
  assert(artifact.workflow_run?.id === runId, `workflow_run ${JSON.stringify(artifact.workflow_run)}`);
  const response = await octokit.rest.actions.downloadArtifact({
    owner,
    repo,
    artifact_id: artifact.id,
    archive_format: 'zip',
  });
  assert(response.status === 200, `status ${response.status}`);
  const bytes = new Uint8Array(response.data);
  assert(bytes.length === artifact.size_in_bytes, `${bytes.length} bytes, size_in_bytes ${artifact.size_in_bytes}`);
  assert(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04, 'zip magic bytes');
});

await check('the 302 Location serves the zip without a token', async () => {
  const response = await octokit.rest.actions.downloadArtifact({
    owner,
    repo,
    artifact_id: artifact.id,
    archive_format: 'zip',
    request: { redirect: 'manual' },
  });
  assert(response.status === 302, `status ${response.status}`);
  const location = response.headers.location;
  assert(typeof location === 'string' && location.startsWith('http'), `location ${location}`);
  const blob = await fetch(location);
  assert(blob.status === 200, `tokenless GET answered ${blob.status}`);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  assert(bytes[0] === 0x50 && bytes[1] === 0x4b, 'zip magic bytes');
});

await check('If-None-Match: 304 is a RequestError with status 304 and does not cost a request', async () => {
  const first = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId });
  const etag = first.headers.etag;
  assert(typeof etag === 'string' && etag.length > 2, `etag ${etag}`);
  const afterFirst = Number(first.headers['x-ratelimit-remaining']);
  const second = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId });
  const afterSecond = Number(second.headers['x-ratelimit-remaining']);
  assert(afterSecond === afterFirst - 1, `a 200 costs one: ${afterFirst} -> ${afterSecond}`);
  const error = await expectError(
    octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId, headers: { 'if-none-match': etag } }),
    304,
  );
  const afterNotModified = Number(error.response.headers['x-ratelimit-remaining']);
  assert(afterNotModified === afterSecond, `a 304 is free: ${afterSecond} -> ${afterNotModified}`);
  assert(error.response.headers.etag === etag, 'the 304 repeats the etag');
  const third = await octokit.rest.actions.getWorkflowRun({ owner, repo, run_id: runId });
  assert(Number(third.headers['x-ratelimit-remaining']) === afterSecond - 1, 'the next 200 costs one again');
  assert(Number(third.headers['x-ratelimit-limit']) >= afterFirst, 'limit header');
});

await check('GET /rate_limit matches the headers and is free', async () => {
  const a = await octokit.rest.rateLimit.get();
  const b = await octokit.rest.rateLimit.get();
  const core = a.data.resources.core;
  assert(core.remaining === Number(a.headers['x-ratelimit-remaining']), `core ${JSON.stringify(core)}`);
  assert(b.data.resources.core.remaining === core.remaining, 'rate_limit itself does not count');
  assert(core.used + core.remaining === core.limit, `used + remaining = limit: ${JSON.stringify(core)}`);
});

const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
