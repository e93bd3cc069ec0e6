#!/usr/bin/env python3
"""A real SMTP server for orchestrate's email tests.

Runs aiosmtpd on 127.0.0.1 at a port the OS picks, prints that port on the first line of
stdout, and saves every message it accepts into DIR as NNN.eml (the raw bytes) and NNN.json
(envelope, headers and each decoded MIME part). With --user/--password it offers AUTH without
TLS and accepts only those credentials. It exits when its stdin closes, so a test that dies
never leaves it running.

    python3 server.py DIR [--user U --password P]
"""

import argparse
import asyncio
import email
import json
import logging
import os
import sys
import warnings
from email import policy

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Saver:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        base = os.path.join(self.directory, f"{self.count:03}")
        raw = envelope.original_content or envelope.content
        with open(base + ".eml", "wb") as f:
            f.write(raw)
        msg = email.message_from_bytes(raw, policy=policy.default)
        parts = [
            {"content_type": part.get_content_type(), "body": part.get_content()}
            for part in msg.walk()
            if not part.is_multipart()
        ]
        doc = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "authenticated_as": (
                session.auth_data.login.decode()
                if isinstance(session.auth_data, LoginPassword)
                else None
            ),
            "subject": str(msg["subject"]),
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "content_type": msg.get_content_type(),
            "parts": parts,
        }
        # Written whole then renamed: a reader never sees half a file.
        with open(base + ".json.tmp", "w") as f:
            json.dump(doc, f)
        os.replace(base + ".json.tmp", base + ".json")
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    return check


async def main():
    # AUTH without TLS is the point of a local test server: no need to warn about it.
    warnings.filterwarnings("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    handler = Saver(args.dir)
    options = {}
    if args.user:
        options = dict(
            authenticator=authenticator(args.user, args.password),
            auth_require_tls=False,
            auth_required=True,
        )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="localhost", **options), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
