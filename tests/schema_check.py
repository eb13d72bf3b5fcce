#!/usr/bin/python3
"""Check the manifest corpus against schemas/manifest.schema.json (and, optionally,
against the C validator's verdicts).

Every file in tests/manifests/valid must pass the schema.  Every file in
tests/manifests/invalid starts with two comment lines:

    # expect: LINE:COL: PATH: MESSAGE
    # schema: agrees                       (the schema rejects it too)
    # schema: cannot-express: WHY          (the schema accepts it, or the loader fails)

A file marked "agrees" must load and be rejected by the schema at PATH only (one
error per file); a "cannot-express" file must be accepted by the schema or refused by
the YAML loader.  For every invalid file that parses, LINE:COL must point at the node
PATH names (its key or its value; for a missing key, the first key of the mapping
that lacks it); PATH "$" is the whole document and its position is not checked.

    --c-results FILE   lines "PATH valid|invalid" from the C validator; C must say
                       invalid for every invalid file and valid for every valid one.
    FILE...            check only that these manifests pass the schema.

Every manifests/*.yaml of the repository (the real ones) must pass the schema too.

YAML is read as docs/manifest.md means it: UTF-8 only (a BOM is allowed), one
document, YAML 1.2 core schema scalars (so `restart: no` is the string "no",
`0400` is the integer 400, dates stay strings), mapping keys kept as their text,
`<<` merge keys honoured.  Only Debian's python3-yaml and python3-jsonschema are used.
"""

import argparse
import json
import os
import re
import sys

import jsonschema
import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, ScalarNode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SCHEMA = os.path.join(ROOT, "schemas", "manifest.schema.json")
DEFAULT_CORPUS = os.path.join(ROOT, "tests", "manifests")
DEFAULT_MANIFESTS = os.path.join(ROOT, "manifests")

EXPECT_RE = re.compile(r"^# expect: ([0-9]+):([0-9]+): (\S+): (.+)$")
SCHEMA_RE = re.compile(r"^# schema: (agrees|cannot-express: .+)$")


# --- YAML 1.2 core schema loader -------------------------------------------------

class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalar resolution and text keys."""

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            raise ConstructorError(None, None, "expected a mapping node", node.start_mark)
        self.flatten_mapping(node)          # resolves `<<` merge keys, own keys win
        mapping = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(None, None, "a mapping key must be a scalar",
                                       key_node.start_mark)
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node):
        text = self.construct_scalar(node)
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        return int(text, 10)


Yaml12Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+0123456789."),
    ("merge", r"^(?:<<)$", ["<"]),
):
    Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:" + _tag, re.compile(_regexp),
                                       list(_first))
Yaml12Loader.add_constructor("tag:yaml.org,2002:int", Yaml12Loader.construct_yaml_int)


def decode(raw):
    """Bytes -> text, refusing anything but UTF-8 (with an optional BOM)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnicodeError("UTF-16 byte order mark: only UTF-8 is accepted")
    return raw.decode("utf-8-sig")


def load(raw):
    """Returns (document, None) or (None, loader error message)."""
    try:
        return yaml.load(decode(raw), Loader=Yaml12Loader), None
    except (yaml.YAMLError, UnicodeError, ValueError, RecursionError) as e:
        return None, " ".join(str(e).split())


# --- position check ----------------------------------------------------------------

class Node:
    """A parse-tree node with its own marks.  An alias stays an alias (PyYAML's
    composer would hand back the anchored node): an error about an alias, such as
    an alias bomb, is reported where the alias is written."""

    def __init__(self, kind, event):
        self.kind = kind            # "map", "seq", "scalar", "alias"
        self.pos = (event.start_mark.line + 1, event.start_mark.column + 1)
        self.value = getattr(event, "value", None)
        self.anchor = getattr(event, "anchor", None)
        self.items = []             # seq: [Node]; map: [(key Node, value Node)]
        self.target = None


def parse_tree(text):
    """First document of `text` as a tree of Node, or None."""
    kinds = {yaml.ScalarEvent: "scalar", yaml.AliasEvent: "alias",
             yaml.MappingStartEvent: "map", yaml.SequenceStartEvent: "seq"}
    anchors, stack = {}, []
    for ev in yaml.parse(text, Loader=Yaml12Loader):
        if isinstance(ev, yaml.DocumentEndEvent):
            break
        if isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            node = stack.pop()
            if not stack:
                return node
            continue
        kind = kinds.get(type(ev))
        if kind is None:
            continue
        node = Node(kind, ev)
        if kind == "alias":
            node.target = anchors.get(ev.anchor)
        elif node.anchor:
            anchors[node.anchor] = node
        if stack:
            attach(stack, node)
        elif kind in ("scalar", "alias"):
            return node
        if kind in ("map", "seq"):
            stack.append(node)
    return None


def attach(stack, node):
    parent = stack[-1]
    if parent.kind == "seq":
        parent.items.append(node)
    elif parent.items and parent.items[-1][1] is None:
        parent.items[-1] = (parent.items[-1][0], node)
    else:
        parent.items.append((node, None))


def deref(node):
    seen = 0
    while node is not None and node.kind == "alias" and seen < 100:
        node, seen = node.target, seen + 1
    return node


def map_pairs(node, depth=0):
    """Pairs of a mapping, own keys first, then keys from `<<` merges."""
    node = deref(node)
    if node is None or node.kind != "map" or depth > 20:
        return []
    own, merged = [], []
    for k, v in node.items:
        if k.kind == "scalar" and k.value == "<<":
            src = deref(v)
            srcs = [src] if src is not None and src.kind == "map" else \
                [deref(s) for s in src.items] if src is not None and src.kind == "seq" else []
            for s in srcs:
                merged.extend(map_pairs(s, depth + 1))
        else:
            own.append((k, v))
    return own + merged


def resolve(node, path):
    """All (key node, value node) that `path` (dotted, keys may contain dots) names."""
    if path == "":
        return [(None, node)]
    out = []
    m = re.match(r"^\[([0-9]+)\]", path)
    if m:
        n = deref(node)
        if n is not None and n.kind == "seq" and int(m.group(1)) < len(n.items):
            out += resolve(n.items[int(m.group(1))], path[m.end():])
        return out
    if path.startswith("."):
        path = path[1:]
    for k, v in map_pairs(node):
        if k.kind != "scalar" or not path.startswith(k.value):
            continue
        rest = path[len(k.value):]
        if rest == "":
            out.append((k, v))
        elif rest[0] in ".[":
            out += resolve(v, rest)
    return out


def check_position(text, line, col, path):
    """None if LINE:COL points at PATH, else a reason."""
    if path == "$":
        return None
    try:
        root = parse_tree(text)
    except yaml.YAMLError:
        return None                 # the loader verdict covers it
    if root is None:
        return "document is empty but PATH is not $"
    want, found = (line, col), []
    for k, v in resolve(root, path):
        found += [n.pos for n in (k, v) if n is not None]
    if not found:                   # a missing key: the parent mapping's first key
        parent = re.sub(r"(?:^|\.)[^.\[\]]*$|\[[0-9]+\]$", "", path)
        for _, v in resolve(root, parent) if parent else [(None, root)]:
            v = deref(v)
            if v is not None and v.kind == "map" and v.items:
                found.append(v.items[0][0].pos)
    if want in found:
        return None
    where = ", ".join("%d:%d" % p for p in sorted(set(found))) or "nothing"
    return "position %d:%d is not at %s (found at %s)" % (line, col, path, where)


# --- schema sanity -------------------------------------------------------------------

def undescribed(schema, where="#"):
    """Properties (and $defs) without a description."""
    out = []
    if isinstance(schema, dict):
        for key in ("properties", "patternProperties", "$defs"):
            for name, sub in schema.get(key, {}).items():
                if isinstance(sub, dict) and "description" not in sub:
                    out.append("%s/%s/%s" % (where, key, name))
        for key, sub in schema.items():
            if isinstance(sub, dict):
                out += undescribed(sub, "%s/%s" % (where, key))
            elif isinstance(sub, list):
                for i, s in enumerate(sub):
                    out += undescribed(s, "%s/%s/%d" % (where, key, i))
    return out


def bad_defaults(validator, schema, where="#"):
    """Defaults that their own schema would refuse (an editor would offer them)."""
    out = []
    if isinstance(schema, dict):
        if "default" in schema:
            own = {k: v for k, v in schema.items() if k != "default"}
            for e in validator.evolve(schema=own).iter_errors(schema["default"]):
                out.append("%s: default %r: %s" % (where, schema["default"], e.message))
        for key, sub in schema.items():
            if key != "default":
                out += bad_defaults(validator, sub, "%s/%s" % (where, key))
    elif isinstance(schema, list):
        for i, s in enumerate(schema):
            out += bad_defaults(validator, s, "%s/%d" % (where, i))
    return out


def render(path):
    out = "".join("[%d]" % p if isinstance(p, int) else ".%s" % p for p in path)
    return out.lstrip(".") or "$"


def schema_errors(validator, doc):
    """[(rendered path, error)] of the schema's top-level errors, best first."""
    errors = list(validator.iter_errors(doc))
    if not errors:
        return []
    best = jsonschema.exceptions.best_match(errors)
    errors.sort(key=lambda e: (e is not best, list(map(str, e.absolute_path))))
    return [(render(e.absolute_path), e) for e in errors]


def at_path(where, error, path):
    """Whether a schema error at `where` is about `path`: the same node, its
    parent mapping reporting a missing, unknown or badly named key, or its
    parent list reporting that this item repeats an earlier one (uniqueItems is
    reported at the list; the C validator reports the second occurrence)."""
    if where == path:
        return True
    m = re.match(r"^\[([0-9]+)\]$", path[len(where):]) if path.startswith(where) else None
    if m and error.validator == "uniqueItems" and isinstance(error.instance, list):
        i = int(m.group(1))
        return i < len(error.instance) and error.instance[i] in error.instance[:i]
    if error.validator in ("oneOf", "anyOf") and \
            any(at_path(render(e.absolute_path), e, path) for e in error.context):
        return True
    prefix = "" if where == "$" else where
    rest = path[len(prefix):] if path.startswith(prefix) else None
    if rest is None or (prefix and rest[:1] not in (".", "[")):
        return False
    key = rest[1:] if prefix else rest
    return key != "" and (repr(key) in error.message or key in str(error.instance))


# --- ECMA-262 patterns ------------------------------------------------------------

def ecma_regex(pattern):
    """JSON Schema patterns are ECMA-262: there `$` matches only at the very end,
    while Python's also matches before a final newline ("web\\n" would pass
    ^[a-z]+$).  Rewrite unescaped `$` outside a class as `\\Z`."""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return "".join(out)


def ecma_pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not re.search(ecma_regex(pattern), instance):
        yield jsonschema.exceptions.ValidationError(
            "%r does not match %r" % (instance, pattern))


Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                         {"pattern": ecma_pattern})


# --- the run -------------------------------------------------------------------------

def read_c_results(path):
    results = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.rsplit(None, 1)
            if len(parts) != 2 or parts[1] not in ("valid", "invalid"):
                sys.exit("%s:%d: expected 'PATH valid|invalid'" % (path, n))
            results[parts[0]] = parts[1]
    return results


def c_verdict(results, path, rel):
    """Look a corpus file up in the C results by real path or by its tail."""
    real = os.path.realpath(path)
    for key, verdict in results.items():
        for base in (os.getcwd(), ROOT):
            if os.path.realpath(os.path.join(base, key)) == real:
                return verdict
    for key, verdict in results.items():
        key = key.replace(os.sep, "/")
        if key == rel or key.endswith("/" + rel):
            return verdict
    return None


def check_accepted(validator, path):
    """None if the schema accepts the manifest at path, else why not."""
    with open(path, "rb") as f:
        doc, load_err = load(f.read())
    if load_err:
        return "rejected by loader: " + load_err[:160]
    errors = schema_errors(validator, doc)
    if errors:
        return "schema rejects: %s: %s" % (errors[0][0], errors[0][1].message[:160])
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--schema", default=DEFAULT_SCHEMA)
    ap.add_argument("--corpus", default=DEFAULT_CORPUS,
                    help="directory holding valid/ and invalid/")
    ap.add_argument("--c-results", metavar="FILE",
                    help="lines 'PATH valid|invalid' from the C validator")
    ap.add_argument("--manifests", default=DEFAULT_MANIFESTS,
                    help="directory of real manifests that must pass the schema")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="show the schema's first error for rejected files")
    ap.add_argument("files", nargs="*", metavar="FILE",
                    help="only check that these manifests pass the schema")
    args = ap.parse_args()

    passed = failed = 0
    with open(args.schema, encoding="utf-8") as f:
        schema = json.load(f)
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
        problems = ["property without a description: " + p for p in undescribed(schema)]
    except jsonschema.exceptions.SchemaError as e:
        problems = ["not a valid draft 2020-12 schema: " + e.message]
    for key in ("$id", "title"):
        if key not in schema:
            problems.append("no %s" % key)
    if not problems:
        problems += ["invalid default: " + p for p in bad_defaults(Validator(schema), schema)]
    for p in problems:
        print("FAIL %s: %s" % (os.path.relpath(args.schema), p))
    if problems:
        print("%d passed, %d failed" % (0, len(problems)))
        return 1
    print("ok   %s: valid draft 2020-12 schema, every property described, defaults valid"
          % os.path.relpath(args.schema))
    passed += 1
    validator = Validator(schema)

    if args.files:
        for path in args.files:
            why = check_accepted(validator, path)
            if why:
                failed += 1
                print("FAIL %s: %s" % (path, why))
            else:
                passed += 1
                print("ok   %s: schema accepts" % path)
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0

    c_results = read_c_results(args.c_results) if args.c_results else None
    table = []

    for kind in ("valid", "invalid"):
        d = os.path.join(args.corpus, kind)
        names = sorted(n for n in os.listdir(d) if n.endswith((".yaml", ".yml")))
        if not names:
            print("FAIL %s/: no manifests" % kind)
            failed += 1
        for name in names:
            path, rel = os.path.join(d, name), "%s/%s" % (kind, name)
            with open(path, "rb") as f:
                raw = f.read()
            header = raw.split(b"\n", 2)[:2]
            header = [h.decode("utf-8", "replace").rstrip("\r") for h in header] + ["", ""]
            errs = []
            expect = schema_mark = None

            if kind == "invalid":
                expect = EXPECT_RE.match(header[0])
                schema_mark = SCHEMA_RE.match(header[1])
                if not expect:
                    errs.append("line 1 is not '# expect: LINE:COL: PATH: MESSAGE'")
                if not schema_mark:
                    errs.append("line 2 is not '# schema: agrees' or "
                                "'# schema: cannot-express: WHY'")
            elif header[0].startswith("# expect:"):
                errs.append("a valid manifest has an '# expect:' line")

            doc, load_err = load(raw)
            if load_err:
                verdict, detail = "invalid", "rejected by loader: " + load_err[:160]
            else:
                errors = schema_errors(validator, doc)
                verdict = "invalid" if errors else "valid"
                detail = "schema rejects: %s: %s" % (errors[0][0], errors[0][1].message[:160]) \
                    if errors else "schema accepts"

            if kind == "valid" and verdict != "valid":
                errs.append("expected valid, " + detail)
            if kind == "invalid" and schema_mark:
                agrees = schema_mark.group(1) == "agrees"
                if agrees and load_err:
                    errs.append("marked 'schema: agrees' but the loader fails, so the "
                                "schema never sees it (use cannot-express)")
                elif agrees and verdict == "valid":
                    errs.append("marked 'schema: agrees' but the schema accepts it")
                elif not agrees and verdict == "invalid" and not load_err:
                    errs.append("marked cannot-express but the schema rejects it (mark it "
                                "'schema: agrees', or fix the other error)")
                elif agrees and expect:
                    stray = ["%s: %s" % (w, e.message[:120]) for w, e in errors
                             if not at_path(w, e, expect.group(3))]
                    if stray:
                        errs.append("the schema also rejects something other than %s: %s"
                                    % (expect.group(3), "; ".join(stray)))
            if kind == "invalid" and expect:
                try:
                    text = decode(raw)
                except UnicodeError:
                    text = None
                if text is not None:
                    why = check_position(text, int(expect.group(1)), int(expect.group(2)),
                                         expect.group(3))
                    if why:
                        errs.append(why)

            c = None
            if c_results is not None:
                c = c_verdict(c_results, path, rel)
                if c is None:
                    errs.append("no C result")
                elif c != kind:
                    errs.append("C says %s" % c)
                if c != verdict or c != kind:
                    table.append((rel, kind, verdict, c or "-",
                                  "FAIL" if c != kind else "ok (cannot-express)"))

            short = kind == "invalid" and verdict == "invalid" and not load_err
            note = "schema rejects" if short and not (args.verbose or errs) else detail
            if kind == "invalid" and schema_mark and schema_mark.group(1) != "agrees":
                note = "cannot-express; " + note
            if c is not None:
                note += "; C: " + c
            if errs:
                failed += 1
                print("FAIL %s: %s (%s)" % (rel, "; ".join(errs), note))
            else:
                passed += 1
                print("ok   %s: %s" % (rel, note))

    real = sorted(n for n in os.listdir(args.manifests) if n.endswith((".yaml", ".yml"))) \
        if os.path.isdir(args.manifests) else []
    for name in real:
        path = os.path.join(args.manifests, name)
        why = check_accepted(validator, path)
        if why:
            failed += 1
            print("FAIL %s: %s" % (os.path.relpath(path), why))
        else:
            passed += 1
            print("ok   %s: schema accepts" % os.path.relpath(path))

    if c_results is not None:
        print()
        if table:
            w = max(len(r[0]) for r in table)
            print("%-*s  %-8s  %-8s  %-8s  %s" % (w, "file", "expected", "schema", "C", "status"))
            for r in table:
                print("%-*s  %-8s  %-8s  %-8s  %s" % ((w,) + r))
        else:
            print("no disagreements between the schema, the C validator and the corpus")
        print()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
