#!/usr/bin/env python3
"""Validates a JSON document against the subset of JSON Schema that docs/reports/*.schema.json use:
type, enum, const, required, properties, additionalProperties (bool), items, minimum, pattern,
oneOf. Standard library only. The document is read from standard input when its path is "-". Prints every violation; exits 0 when valid, 1 when not, 2 on bad input."""
import json
import re
import sys

TYPES = {
    "object": dict, "array": list, "string": str, "boolean": bool,
    "number": (int, float), "integer": int, "null": type(None),
}


def check(schema, doc, path, errors):
    if "oneOf" in schema:
        found = []
        for option in schema["oneOf"]:
            e = []
            check(option, doc, path, e)
            found.append(e)
        matching = sum(1 for e in found if not e)
        if matching != 1:
            errors.append("%s: matches %d of the oneOf schemas, not exactly one" % (path, matching))
            if matching == 0:
                # The option with the fewest violations is most likely the one meant.
                errors.extend(min(found, key=len))
    t = schema.get("type")
    if t is not None:
        names = t if isinstance(t, list) else [t]
        ok = False
        for n in names:
            if n in ("number", "integer") and isinstance(doc, bool):
                continue
            if isinstance(doc, TYPES[n]):
                ok = True
        if not ok:
            errors.append("%s: expected %s, got %s" % (path, t, type(doc).__name__))
            return
    if "const" in schema and doc != schema["const"]:
        errors.append("%s: expected %r, got %r" % (path, schema["const"], doc))
    if "enum" in schema and doc not in schema["enum"]:
        errors.append("%s: %r is not one of %r" % (path, doc, schema["enum"]))
    if "minimum" in schema and isinstance(doc, (int, float)) and doc < schema["minimum"]:
        errors.append("%s: %r is below %r" % (path, doc, schema["minimum"]))
    if "pattern" in schema and isinstance(doc, str) and not re.search(schema["pattern"], doc):
        errors.append("%s: %r does not match %s" % (path, doc, schema["pattern"]))
    if isinstance(doc, dict):
        for r in schema.get("required", []):
            if r not in doc:
                errors.append("%s: missing member %r" % (path, r))
        props = schema.get("properties", {})
        for k, v in doc.items():
            if k in props:
                check(props[k], v, path + "." + k, errors)
            elif schema.get("additionalProperties") is False:
                errors.append("%s: unexpected member %r" % (path, k))
    if isinstance(doc, list) and "items" in schema:
        for i, v in enumerate(doc):
            check(schema["items"], v, "%s[%d]" % (path, i), errors)


def main():
    try:
        schema = json.load(open(sys.argv[1]))
        doc = json.load(sys.stdin if sys.argv[2] == "-" else open(sys.argv[2]))
    except Exception as e:  # noqa: BLE001
        print("unable to read input: %s" % e)
        return 2
    errors = []
    check(schema, doc, "$", errors)
    for e in errors:
        print(e)
    return 1 if errors else 0


sys.exit(main())
