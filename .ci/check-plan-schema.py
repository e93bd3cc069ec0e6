"""Checks plans against the plan's JSON Schema with an independent validator.

    check-plan-schema.py SCHEMA --valid PLAN... --invalid PLAN...

Python's `jsonschema` (draft 2020-12) and `ruamel.yaml` (YAML 1.2, as editors read plans: `on:`
stays a key, not a boolean). Every `--valid` plan must validate; every `--invalid` plan must
be refused, so the check is seen to be able to fail. Exits 1 on any surprise.
"""

import json
import sys

import jsonschema
from ruamel.yaml import YAML


def main(argv):
    schema_path, rest = argv[0], argv[1:]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    yaml = YAML(typ="safe", pure=True)
    expect, failures, checked = None, 0, 0
    for arg in rest:
        if arg in ("--valid", "--invalid"):
            expect = arg
            continue
        with open(arg, encoding="utf-8") as f:
            data = yaml.load(f)
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        checked += 1
        if expect == "--valid" and errors:
            failures += 1
            print(f"{arg}: refused by the schema")
            for e in errors:
                print(f"  /{'/'.join(map(str, e.path))}: {e.message}")
        elif expect == "--invalid" and not errors:
            failures += 1
            print(f"{arg}: accepted by the schema, but it is invalid")
        else:
            verdict = "valid" if not errors else f"refused ({len(errors)} errors), as expected"
            print(f"{arg}: {verdict}")
    print(f"{checked} plans checked against {schema_path}, {failures} surprises")
    return 1 if failures or not checked else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
