#!/usr/bin/env python3
"""A real S3-compatible server for orchestrate's S3 store tests: moto's server.

Starts moto on 127.0.0.1 at a port the OS picks, with request authentication on (SigV4 is
checked against the access keys moto knows), creates a user whose access key may do s3:*,
and the bucket given, then prints one JSON line: {"endpoint", "access_key_id",
"secret_access_key", "bucket"}. It exits when its stdin closes, so a test that dies never
leaves it running.

    python3 server.py BUCKET
"""

import json
import logging
import os
import sys

# The first requests (setting up the user) are not authenticated; every later one is.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
logging.disable(logging.CRITICAL)

import boto3  # noqa: E402  (after the environment moto reads at import)
from moto.server import ThreadedMotoServer  # noqa: E402


def main() -> None:
    bucket = sys.argv[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    endpoint = f"http://127.0.0.1:{port}"
    bootstrap = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bootstrap",
        aws_secret_access_key="bootstrap",
    )
    iam = boto3.client("iam", **bootstrap)
    iam.create_user(UserName="orchestrate")
    key = iam.create_access_key(UserName="orchestrate")["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="orchestrate", PolicyName="s3", PolicyDocument=json.dumps(policy))
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    s3.create_bucket(Bucket=bucket)
    print(
        json.dumps(
            {
                "endpoint": endpoint,
                "access_key_id": key["AccessKeyId"],
                "secret_access_key": key["SecretAccessKey"],
                "bucket": bucket,
            }
        ),
        flush=True,
    )
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
