"""Print the mutation score of the last `mutmut run`: killed / total, and the survivors by module.

Run from the repository root after `mutmut run` (as `make mutation` does). A
survivor is shown as module:line and the changed line, the form docs/mutation.md
uses to say why each one is harmless or which test it still needs.
"""

import ast
import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.configuration import config
from mutmut.mutation.data import SourceFileMutationData
from mutmut.mutation.diff_apply import get_diff_for_mutant
from mutmut.stats import status_by_exit_code
from mutmut.utils.file_utils import walk_mutatable_files
from mutmut.utils.format_utils import orig_function_and_class_names_from_key

KILLED = {"killed", "timeout", "caught by type check"}
HUNK = re.compile(r"^@@ -(\d+)")


def function_start(path: Path, name: str, class_name: str | None) -> int:
    """First line of the function in the source (its first decorator, as in mutmut's copy)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if class_name and isinstance(node, ast.ClassDef) and node.name == class_name:
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                    return min([item.lineno] + [d.lineno for d in item.decorator_list])
        if not class_name and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return min([node.lineno] + [d.lineno for d in node.decorator_list])
    return 0


def describe(mutant: str, path: Path) -> tuple[int, str]:
    """(line in the source, 'old -> new') of a mutant, from mutmut's diff of the function."""
    diff = get_diff_for_mutant(mutant, path=path).splitlines()
    offset, removed, added, line = 0, [], [], 0
    for text in diff:
        match = HUNK.match(text)
        if match:
            offset = int(match.group(1))
            continue
        if text.startswith("---") or text.startswith("+++"):
            continue
        if text.startswith("-"):
            if not removed:
                line = offset
            removed.append(text[1:].strip())
        elif text.startswith("+"):
            added.append(text[1:].strip())
        if not text.startswith("+"):
            offset += 1
    name, class_name = orig_function_and_class_names_from_key(mutant)
    start = function_start(path, name, class_name)
    return (start + line - 1 if start and line else 0), f"{' '.join(removed)}  ->  {' '.join(added)}"


def main() -> int:
    config()  # mutmut reads [tool.mutmut] from pyproject.toml in the current directory
    total_by_status: Counter = Counter()
    survivors = {}
    rows = []
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        if not data.exit_code_by_key:
            continue
        counts = Counter(status_by_exit_code[code] for code in data.exit_code_by_key.values())
        total_by_status.update(counts)
        killed = sum(counts[s] for s in KILLED)
        tested = sum(counts.values()) - counts["not checked"] - counts["skipped"]
        seconds = sum(data.durations_by_key.get(key, 0) for key in data.exit_code_by_key)
        rows.append((str(path), killed, tested, counts, seconds))
        survivors[str(path)] = sorted(
            (
                (key, status_by_exit_code[code])
                for key, code in data.exit_code_by_key.items()
                if status_by_exit_code[code] in {"survived", "no tests"}
            ),
        )
    if not rows:
        print('No mutation results: run "mutmut run" first.')
        return 1
    print("Mutation score by module (killed / tested, and the time its mutants' tests took):")
    for path, killed, tested, counts, seconds in rows:
        extra = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s not in KILLED | {"survived"})
        print(f"  {path:32} {killed:4} / {tested:<4} {seconds / 60:5.1f} min" + (f"  ({extra})" if extra else ""))
    killed = sum(total_by_status[s] for s in KILLED)
    tested = sum(total_by_status.values()) - total_by_status["not checked"] - total_by_status["skipped"]
    score = 100 * killed / tested if tested else 0.0
    print(f"\nMutation score: {killed} / {tested} killed ({score:.1f}%)")
    if total_by_status["not checked"]:
        print(f"  {total_by_status['not checked']} mutants not checked yet (run interrupted or filtered)")
    for path, keys in survivors.items():
        if not keys:
            continue
        print(f"\nSurvivors in {path}:")
        described = sorted((*describe(key, Path(path)), key, status) for key, status in keys)
        for line, change, key, status in described:
            print(f"  {path}:{line}  {key.rpartition('.')[2]}  [{status}]  {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
