#!/usr/bin/env python3
"""Regenerates `approvals.deref.json`: the operations of GitHub's REST description that the
shared subset (`shared/github-openapi-subset.json`) does not have and orchestrate uses for
environment approval gates.

It runs the project's reference extractor (`shared/reference/extract_openapi_subset.py`,
unchanged) with a different selection:

    npm pack @octokit/openapi@23.0.2
    tar xzf octokit-openapi-23.0.2.tgz package/generated/api.github.com.json
    python3 extract.py ../../../../../shared/reference/extract_openapi_subset.py \
        package/generated/api.github.com.json approvals.deref.json

(`generated/api.github.com.json` of 23.0.2 has sha256 829b4beb…a7da2a, the file the shared
subset was cut from.)
"""
import importlib.util
import sys

SELECT = {
    # environment approval gates of a workflow run
    "/repos/{owner}/{repo}/actions/runs/{run_id}/pending_deployments": ["get", "post"],
    "/repos/{owner}/{repo}/actions/runs/{run_id}/approvals": ["get"],
}


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    extractor, src, dst = argv[1:]
    spec = importlib.util.spec_from_file_location("extract_openapi_subset", extractor)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.SELECT = SELECT
    label = ("npm @octokit/openapi 23.0.2, generated/api.github.com.json (GitHub's "
             "github/rest-api-description + x-octokit); approval-gate operations; fully dereferenced")
    return module.main(["extract", src, dst, "--source-label", label, "--deref"])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
