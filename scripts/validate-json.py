#!/usr/bin/env python3
"""Validates iobench JSON documents against the JSON Schemas in docs/schema/.

    python3 scripts/validate-json.py SCHEMA.json DOC.json [DOC.json ...]
    python3 scripts/validate-json.py --strict docs/schema/result.schema.json out.json
    python3 scripts/validate-json.py --doc-examples docs/json-schema.md

Validation is JSON Schema draft 2020-12 (the `jsonschema` package's Draft202012Validator)
with format checks on. Every error is printed on one line, `WHERE: $.json.path: message`.

--strict also reports every property a document holds that the schema does not declare
(the shipped schemas allow unknown properties, as the contract lets fields be added
within a version): this is how the tests catch a field that is written but not documented.
The document is walked alongside the schema, through $ref, allOf, anyOf/oneOf (the
branches the value matches), if/then/else, dependentSchemas, properties,
patternProperties, additionalProperties given as a schema, prefixItems and items.

--doc-examples MARKDOWN checks every ```json block of the markdown: a whole document
against the schema its "schema" field names (iobench/result -> result.schema.json,
iobench/compare -> compare.schema.json, ...), a document without one by the section it is
in (inspect, prepare), and a fragment ("plan": {...}, "spread": {...}) against the $defs
object its key names. Blocks it cannot place are skipped with a note. The schemas are
read from the directory of SCHEMA.json when given, else --schema-dir, else the
markdown's directory + /schema.

Exit status: 0 when everything is valid, 1 on any error (or strict finding), 2 on bad usage.
"""
import argparse
import json
import os
import re
import signal
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator
except ImportError:  # pragma: no cover
    sys.stderr.write("validate-json.py: the Python package 'jsonschema' is missing; run scripts/install-deps.sh test "
                     "(or: python3 -m pip install jsonschema)\n")
    sys.exit(2)

SCHEMA_FILES = {
    "iobench/result": "result.schema.json",
    "iobench/compare": "compare.schema.json",
    "iobench/inspect": "inspect.schema.json",
    "iobench/prepare": "prepare.schema.json",
}

# Fragment keys in docs/json-schema.md -> the $defs object they are (an array of it when
# the name is in brackets).
FRAGMENT_DEFS = {
    "result.schema.json": {
        "plan": "plan", "path_verification": "path_verification", "counts": "path_counts", "spread": "repeat_spread",
        "sources": "[case_source]", "merged_from": "[merged_from]", "latency": "latency", "histogram": "histogram",
        "config": "config", "options": "engine_options", "cpu": "cpu", "errors": "errors", "jobs": "[job]",
        "ring": "ring", "open_loop": "open_loop", "profile": "profile", "target": "target", "targets": "[target]",
        "queue": "block_queue", "environment": "environment", "tool": "tool", "lab": "lab",
        "class_comparisons": "[class_comparison]", "deltas": "[paired_delta]", "repeats": "[repeat]",
        "percentiles": "[percentile]", "cases": "[case]",
    },
    "compare.schema.json": {
        "thresholds": "[threshold]", "cases": "[case_comparison]", "metrics": "[metric_comparison]",
        "interval": "interval", "base_spread": "spread", "new_spread": "spread",
    },
    "inspect.schema.json": {"target": "target", "classes": "[class_availability]"},
    "prepare.schema.json": {"extents": "extent_summary"},
}

MAX_MESSAGE = 240


def json_path(parts):
    out = "$"
    for p in parts:
        if isinstance(p, int):
            out += "[%d]" % p
        elif re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", p):
            out += "." + p
        else:
            out += "[" + json.dumps(p) + "]"
    return out


def shorten(text):
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def make_validator(schema):
    checker = getattr(Draft202012Validator, "FORMAT_CHECKER", None) or jsonschema.FormatChecker()
    return Draft202012Validator(schema, format_checker=checker)


def forbidden_names(schema):
    """The names a `not: {required}` / `not: {anyOf: [{required}...]}` forbids, or None."""
    if not isinstance(schema, dict):
        return None
    if list(schema) == ["required"]:
        return schema["required"]
    if list(schema) == ["anyOf"] and all(isinstance(s, dict) and list(s) == ["required"] for s in schema["anyOf"]):
        return [n for s in schema["anyOf"] for n in s["required"]]
    return None


def describe(error):
    if error.validator == "not":
        names = forbidden_names(error.validator_value)
        if names is not None and isinstance(error.instance, dict):
            present = [n for n in names if n in error.instance]
            return "must not have %s here (a condition of the schema)" % ", ".join(repr(n) for n in present)
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return shorten("%s (closest branch: %s: %s)" % (error.validator, json_path(best.absolute_path), best.message))
    return shorten(error.message)


def schema_errors(validator, document):
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return ["%s: %s" % (json_path(e.absolute_path), describe(e)) for e in errors]


class StrictWalker:
    """Reports properties of a document that no applicable subschema declares."""

    def __init__(self, validator, root):
        self.validator = validator
        self.root = root
        self.valid_cache = {}

    def resolve(self, ref):
        if not ref.startswith("#"):
            raise ValueError("strict mode resolves local references only, not %r" % ref)
        node = self.root
        pointer = ref[1:]
        if pointer.startswith("/"):
            for part in pointer[1:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def is_valid(self, schema, instance):
        key = (id(schema), id(instance))
        if key not in self.valid_cache:
            self.valid_cache[key] = self.validator.evolve(schema=schema).is_valid(instance)
        return self.valid_cache[key]

    def applicable(self, schema, instance, depth=0):
        if not isinstance(schema, dict) or depth > 64:
            return []
        out = [schema]
        if "$ref" in schema:
            out += self.applicable(self.resolve(schema["$ref"]), instance, depth + 1)
        for sub in schema.get("allOf", []):
            out += self.applicable(sub, instance, depth + 1)
        for keyword in ("anyOf", "oneOf"):
            for sub in schema.get(keyword, []):
                if self.is_valid(sub, instance):
                    out += self.applicable(sub, instance, depth + 1)
        if "if" in schema:
            branch = "then" if self.is_valid(schema["if"], instance) else "else"
            if branch in schema:
                out += self.applicable(schema[branch], instance, depth + 1)
        if isinstance(instance, dict):
            for name, sub in schema.get("dependentSchemas", {}).items():
                if name in instance:
                    out += self.applicable(sub, instance, depth + 1)
        return out

    def walk(self, instance, schemas, path, findings):
        apps = [a for s in schemas for a in self.applicable(s, instance)]
        if isinstance(instance, dict):
            for key, value in instance.items():
                subs, declared = [], False
                for a in apps:
                    props = a.get("properties", {})
                    matched = False
                    if key in props:
                        subs.append(props[key])
                        matched = True
                    for pattern, sub in a.get("patternProperties", {}).items():
                        if re.search(pattern, key):
                            subs.append(sub)
                            matched = True
                    extra = a.get("additionalProperties", a.get("unevaluatedProperties"))
                    if not matched and isinstance(extra, dict):
                        subs.append(extra)
                        matched = True
                    declared = declared or matched
                if declared:
                    self.walk(value, subs, path + [key], findings)
                else:
                    findings.append("%s: property not declared in the schema (strict)" % json_path(path + [key]))
        elif isinstance(instance, list):
            for i, value in enumerate(instance):
                subs = []
                for a in apps:
                    prefix = a.get("prefixItems", [])
                    if i < len(prefix):
                        subs.append(prefix[i])
                    elif isinstance(a.get("items"), dict):
                        subs.append(a["items"])
                self.walk(value, subs, path + [i], findings)


def check(schema, document, strict):
    validator = make_validator(schema)
    lines = schema_errors(validator, document)
    if strict:
        findings = []
        StrictWalker(validator, schema).walk(document, [schema], [], findings)
        lines += findings
    return lines


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def json_blocks(markdown):
    """(line of the opening fence, text, section headings) of every ```json block."""
    headings, blocks, current, start = [], [], None, 0
    for number, line in enumerate(markdown.splitlines(), 1):
        stripped = line.strip()
        if current is None:
            m = re.match(r"^(#{1,6})\s+(.*)$", line)
            if m:
                level = len(m.group(1))
                headings = [h for h in headings if h[0] < level] + [(level, m.group(2))]
            elif re.match(r"^```json\s*$", stripped):
                current, start = [], number
        elif stripped.startswith("```"):
            blocks.append((start, "\n".join(current), [h[1] for h in headings]))
            current = None
        else:
            current.append(line)
    return blocks


def section_schema(headings):
    text = " / ".join(headings).lower()
    if "inspect" in text and "other json outputs" in text:
        return "inspect.schema.json"
    if "prepare" in text and "other json outputs" in text:
        return "prepare.schema.json"
    if "comparison" in text and "iobench/compare" in text:
        return "compare.schema.json"
    return "result.schema.json"


def doc_examples(markdown_path, schema_dir, strict):
    """Returns (error lines, checked, skipped)."""
    with open(markdown_path, encoding="utf-8") as f:
        blocks = json_blocks(f.read())
    schemas = {}

    def schema(name):
        if name not in schemas:
            schemas[name] = load_json(os.path.join(schema_dir, name))
        return schemas[name]

    errors, checked, skipped = [], 0, 0
    for line, text, headings in blocks:
        where = "%s:%d" % (markdown_path, line)
        try:
            document, fragment = json.loads(text), False
        except ValueError:
            try:
                document, fragment = json.loads("{" + text + "}"), True
            except ValueError as e:
                errors.append("%s: the json block does not parse, whole or as object members: %s" % (where, e))
                checked += 1
                continue
        if not fragment and isinstance(document, dict) and "schema" in document:
            name = SCHEMA_FILES.get(document["schema"])
            if name is None:
                print("note: %s: skipped: no schema for %r" % (where, document["schema"]))
                skipped += 1
                continue
            errors += ["%s (%s): %s" % (where, document["schema"], e) for e in check(schema(name), document, strict)]
            checked += 1
            continue
        name = section_schema(headings)
        # In the inspect and prepare sections a whole object is a whole document (those have
        # no "schema" field in files saved before it was added), unless every key names a part.
        if not fragment and isinstance(document, dict) and name in ("inspect.schema.json", "prepare.schema.json") \
                and not all(k in FRAGMENT_DEFS[name] for k in document):
            errors += ["%s (%s): %s" % (where, name, e) for e in check(schema(name), document, strict)]
            checked += 1
            continue
        if not isinstance(document, dict):
            print("note: %s: skipped: a %s, not an object or object members" % (where, type(document).__name__))
            skipped += 1
            continue
        root, done = schema(name), 0
        for key, value in document.items():
            target = FRAGMENT_DEFS.get(name, {}).get(key)
            if target is None:
                print("note: %s: skipped member %r: no $defs object of %s matches it" % (where, key, name))
                continue
            is_array = target.startswith("[")
            ref = {"$ref": "#/$defs/" + target.strip("[]")}
            sub = {"$schema": root.get("$schema"), "$defs": root.get("$defs", {})}
            sub.update({"type": "array", "items": ref} if is_array else ref)
            errors += ["%s (fragment %r of %s): %s" % (where, key, name, re.sub(r"^\$", "$." + key, e, count=1))
                       for e in check(sub, value, strict)]
            done += 1
        if done:
            checked += 1
        else:
            skipped += 1
    return errors, checked, skipped


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("schema", nargs="?", help="the schema (docs/schema/*.schema.json)")
    parser.add_argument("documents", nargs="*", help="JSON documents to validate against it")
    parser.add_argument("--strict", action="store_true",
                        help="also report every property the schema does not declare")
    parser.add_argument("--doc-examples", metavar="MARKDOWN",
                        help="validate every ```json block of this markdown (docs/json-schema.md)")
    parser.add_argument("--schema-dir", metavar="DIR",
                        help="where the schemas are, for --doc-examples (default: MARKDOWN's directory + /schema)")
    args = parser.parse_args(argv)
    if not args.doc_examples and (not args.schema or not args.documents):
        parser.error("give SCHEMA.json and at least one DOC.json, or --doc-examples MARKDOWN")

    failures = 0
    if args.schema:
        try:
            schema = load_json(args.schema)
            Draft202012Validator.check_schema(schema)
        except (OSError, ValueError, jsonschema.exceptions.SchemaError) as e:
            print("%s: not a usable schema: %s" % (args.schema, shorten(e)))
            return 1
        for path in args.documents:
            try:
                document = load_json(path)
            except (OSError, ValueError) as e:
                print("%s: not a JSON document: %s" % (path, shorten(e)))
                failures += 1
                continue
            lines = check(schema, document, args.strict)
            for line in lines:
                print("%s: %s" % (path, line))
            failures += bool(lines)
        if args.documents:
            print("%d of %d documents valid against %s%s" % (len(args.documents) - failures, len(args.documents),
                                                           args.schema, " (strict)" if args.strict else ""))

    if args.doc_examples:
        schema_dir = args.schema_dir or (os.path.dirname(args.schema) if args.schema else
                                         os.path.join(os.path.dirname(args.doc_examples) or ".", "schema"))
        try:
            lines, checked, skipped = doc_examples(args.doc_examples, schema_dir, args.strict)
        except (OSError, ValueError) as e:
            print("%s: %s" % (args.doc_examples, shorten(e)))
            return 1
        for line in lines:
            print(line)
        failures += bool(lines)
        print("doc examples: %d json blocks, %d checked, %d skipped, %d errors" % (checked + skipped, checked, skipped,
                                                                                len(lines)))
    return 1 if failures else 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet when piped into head
    sys.exit(main(sys.argv[1:]))
