#!/usr/bin/env python3
"""check_results_json.py: checks a Gradescope results.json (make grade's)
against scripts/gradescope-results.schema.json, and that the scores add up.

The checker knows the JSON Schema keywords the schema uses (type, required,
properties, additionalProperties, items, minItems, enum, minimum,
minLength), so it needs nothing beyond Python's standard library.

    scripts/check_results_json.py build/grade/results.json
"""
import json
import os
import sys

TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "number": (int, float),
}


def check(value, schema, where, errors):
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return
    kind = schema.get("type")
    if kind:
        ok = isinstance(value, TYPES[kind]) and not isinstance(value, bool)
        if not ok:
            errors.append(f"{where}: want a {kind}, not {value!r}")
            return
    if "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{where}: {value} is below {schema['minimum']}")
    if "minLength" in schema and len(value) < schema["minLength"]:
        errors.append(f"{where}: shorter than {schema['minLength']}")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: lacks {key!r}")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                check(item, props[key], f"{where}.{key}", errors)
            elif schema.get("additionalProperties") is False:
                errors.append(f"{where}: unknown key {key!r}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            check(item, schema.get("items", {}), f"{where}[{i}]", errors)


def main():
    if len(sys.argv) != 2:
        print("usage: check_results_json.py RESULTS.json", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "gradescope-results.schema.json")) as f:
        schema = json.load(f)
    try:
        with open(sys.argv[1]) as f:
            results = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        return 1
    errors = []
    check(results, schema, "results", errors)
    if not errors:
        tests = results["tests"]
        for i, t in enumerate(tests):
            if t["score"] > t["max_score"]:
                errors.append(f"results.tests[{i}]: score above max_score")
            full = t["score"] == t["max_score"]
            if (t["status"] == "passed" and not full) or (
                    t["status"] == "failed" and full and t["max_score"] > 0):
                errors.append(f"results.tests[{i}]: status {t['status']} "
                              f"with score {t['score']} of {t['max_score']}")
        total = sum(t["score"] for t in tests)
        if abs(total - results["score"]) > 1e-9:
            errors.append(f"results.score {results['score']} is not the "
                          f"sum of the tests' scores, {total}")
    for e in errors:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
