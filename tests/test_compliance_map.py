"""The compliance map (docs/compliance.md) stays true: every promise has a row, every row's tests exist."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAP = ROOT / "docs" / "compliance.md"
POLICIES = {
    "clinic": ROOT / "docs/policies/clinic-privacy-policy.txt",
    "gdpr": ROOT / "docs/policies/gdpr-privacy-policy.txt",
}
SEEDS = ROOT.parent / "shared" / "seeds"


def normalise(text):
    text = re.sub(r"[^a-z0-9 ]+", "", text.lower().replace("\u2019", "'"))
    return " ".join(text.split())


def rows():
    table = []
    for line in MAP.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] not in ("ID", "---") and not set(cells[0]) <= {"-"}:
            row_id, source, promise, kept_by, tests = cells
            named = [] if tests == "none" else [t.strip() for t in tests.split(",")]
            table.append({"id": row_id, "source": source, "promise": promise, "kept_by": kept_by, "tests": named})
    return table


def units():
    """(label, kind, key) for every bullet and numbered section of the three policies."""
    from privacy.demo import POLICY_BODY

    found = []
    for name, path in POLICIES.items():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line.startswith("\u2022"):
                found.append((name, "bullet", line[1:].strip()))
            elif match := re.match(r"^(\d+(?:\.\d+)?)\. \S", line):
                found.append((name, "section", match.group(1)))
    for line in POLICY_BODY.splitlines():
        if line.startswith("- "):
            found.append(("demo", "bullet", line[2:]))
        elif match := re.match(r"^## (\d+)\. ", line):
            found.append(("demo", "section", match.group(1)))
    return found


# A sentence that commits us to something (or states a right): modal verbs, denials, rights, deadlines.
PROMISE = re.compile(
    r"\b(will|shall|must|may not|cannot|can't|never|only|do not|don't|does not|not intended|"
    r"you can|you may|you have|you possess|you'll|right to|rights|within \d+|at once|at any time|"
    r"obligated|obliged|bound to|reserve the right|are kept|is kept|is completed|takes effect|"
    r"safeguarded|compliance|comply|anonymi[sz]ed|anonymous|you agree|you consent|consent to|"
    r"we (?:keep|retain|send|text|delete|honor|answer|confirm|share|disclose|publish|collect|gather|"
    r"utilize|use|take|engage|have implemented|also))\b",
    re.IGNORECASE,
)


def _paragraphs(text):
    """Blocks of text: a bullet is one block, other lines are joined until a blank line."""
    block = []
    for line in text.splitlines():
        line = line.strip()
        bullet = line.startswith(("\u2022", "- "))
        heading = line.startswith("## ") or re.match(r"^\d+(?:\.\d+)?\. \S", line) or line == "Privacy Policy"
        if (not line or bullet or heading) and block:
            yield " ".join(block)
            block = []
        if bullet:
            yield line.lstrip("\u2022-").strip()
        elif line and not heading:
            block.append(line)
    if block:
        yield " ".join(block)


def policy_texts():
    from privacy.demo import POLICY_BODY

    texts = {name: path.read_text(encoding="utf-8") for name, path in POLICIES.items()}
    texts["demo"] = POLICY_BODY
    return texts


def promise_sentences():
    """(policy, sentence) for every sentence of the three policies that makes a promise or states a right."""
    found = []
    for name, text in policy_texts().items():
        for paragraph in _paragraphs(text):
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\"\u201c])", paragraph):
                # A sentence ending in ":" introduces bullets; each bullet is checked on its own.
                if PROMISE.search(sentence) and len(normalise(sentence).split()) >= 4 and not sentence.endswith(":"):
                    found.append((name, sentence.strip()))
    return found


def marked_tests():
    """{'tests/x.py::test_y': {row ids}} from @pytest.mark.policy(...) decorators."""
    marks = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                key = f"{path.relative_to(ROOT)}::{node.name}"
                marks[key] = set()
                for deco in node.decorator_list:
                    if (
                        isinstance(deco, ast.Call)
                        and isinstance(deco.func, ast.Attribute)
                        and deco.func.attr == "policy"
                    ):
                        marks[key] |= {a.value for a in deco.args if isinstance(a, ast.Constant)}
    return marks


def test_map_rows_are_well_formed_and_unique():
    table = rows()
    ids = [r["id"] for r in table]
    assert len(table) >= 30 and len(ids) == len(set(ids))
    for row in table:
        assert row["tests"] or row["kept_by"].startswith("Not code:"), f"{row['id']}: no test and no reason"


def test_every_test_a_row_names_exists_and_carries_its_marker():
    marks = marked_tests()
    problems = []
    for row in rows():
        for test in row["tests"]:
            if test not in marks:
                problems.append(f"{row['id']}: {test} does not exist")
            elif row["id"] not in marks[test]:
                problems.append(f"{row['id']}: {test} lacks @pytest.mark.policy({row['id']!r})")
    assert problems == []


def test_every_policy_marker_names_a_row():
    ids = {r["id"] for r in rows()}
    unknown = {(test, mark) for test, found in marked_tests().items() for mark in found if mark not in ids}
    assert unknown == set()


def test_every_promise_of_every_policy_has_a_row():
    table = rows()
    promises = [normalise(r["promise"]) for r in table]
    sources = [set(re.findall(r"(clinic|gdpr|demo) \u00a7(\d+(?:\.\d+)?)", r["source"])) for r in table]
    missing = []
    for policy, kind, key in units():
        if kind == "bullet":
            start = " ".join(normalise(key).split()[:6])
            if not any(start in p for p in promises):
                missing.append(f"{policy} bullet: {key[:60]}")
        elif not any(p == policy and (s == key or s.startswith(key + ".")) for refs in sources for p, s in refs):
            missing.append(f"{policy} section {key}")
    assert missing == []


def test_every_promise_made_in_a_sentence_has_a_row():
    """Not only bullets and section numbers: every sentence that promises something is quoted in a row.

    A row quotes a sentence when its Promise cell holds the sentence's first eight words (normalised);
    a row that keeps nothing in code says so ("Not code: ...") with the reason.
    """
    promises = " | ".join(normalise(r["promise"]) for r in rows())
    missing = []
    for policy, sentence in promise_sentences():
        start = " ".join(normalise(sentence).split()[:8])
        if start not in promises:
            missing.append(f"{policy}: {sentence[:90]}")
    assert missing == []


def test_the_sentence_reader_finds_promises_outside_bullets():
    """The reader is not blind: it finds known promises written as plain sentences, and skips headings."""
    found = {s for _, s in promise_sentences()}
    assert "Once your request is submitted and verified, we will delete your information within 14 days." in found
    assert "We do not sell your personal information." in found
    objection = (
        "If you raise an objection, we are legally obliged to promptly cease processing your information "
        "for such purposes."
    )
    assert objection in found
    assert not any(s.startswith("Privacy Policy") for s in found)


def test_policy_copies_match_the_shared_seeds():
    if not SEEDS.exists():
        pytest.skip(f"no {SEEDS} beside this checkout (CI and sessions have it)")
    for path in POLICIES.values():
        assert path.read_text(encoding="utf-8") == (SEEDS / path.name).read_text(encoding="utf-8"), path.name
