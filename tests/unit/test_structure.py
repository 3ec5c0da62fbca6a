"""The code stays one a newcomer can hold: small modules in the layer, short functions everywhere but the tests,
every module on the map of docs/architecture.md, and the local runtime out of the functions (import-linter
checks the layer's imports; the functions are single modules it cannot see)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "common"
PACKAGE = LAYER / "customer_profiles"
# Where functions count (everything but the tests).
CODE_FOLDERS = ("layers", "functions", "local_runtime", "scripts", "bench", "events")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
ARCHITECTURE = ROOT / "docs" / "architecture.md"


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def test_no_module_of_the_layer_is_over_300_lines():
    # Given every module of the shared package
    sizes = {path: len(path.read_text().splitlines()) for path in python_files(PACKAGE)}

    # Then none is over the limit
    offenders = [f"{path.relative_to(ROOT)}: {lines}" for path, lines in sizes.items() if lines > MAX_MODULE_LINES]
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(offenders)


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1}"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]


def test_no_function_outside_the_tests_is_over_60_lines():
    # Given every function and method of the code (nested ones too), from its `def` to its last line
    offenders = [
        offender
        for folder in CODE_FOLDERS
        if (ROOT / folder).is_dir()
        for path in python_files(ROOT / folder)
        for offender in long_functions(path)
    ]

    # Then none is over the limit
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(offenders)


def map_names(path: Path) -> list[str]:
    """The names a module may go by on the map: dotted, or its path (from the repository, from the layer, or
    from the shared package, as the map writes the package's)."""
    names = [str(path.relative_to(ROOT))]
    for base in (PACKAGE, LAYER, ROOT):
        if path.is_relative_to(base):
            names.append(str(path.relative_to(base)))
    relative = path.relative_to(LAYER if path.is_relative_to(LAYER) else ROOT)
    parts = relative.with_suffix("").parts
    if path.is_relative_to(ROOT / "functions"):
        return names
    if parts[-1] == "__init__":
        return [*names, ".".join(parts[:-1])]
    return [*names, ".".join(parts)]


def on_the_map(names: list[str], text: str) -> bool:
    # A name counts whole: `data/keys.py` does not count for `models/keys.py`, nor `customer_profiles.data` for
    # `customer_profiles.data.keys`.
    return any(re.search(rf"(?<![\w./]){re.escape(name)}(?![\w/]|\.\w)", text) for name in names)


def test_every_module_is_on_the_architecture_map():
    # Given the modules of the layer, the functions and the local runtime
    modules = [
        path for folder in (PACKAGE, ROOT / "functions", ROOT / "local_runtime") for path in python_files(folder)
    ]
    text = ARCHITECTURE.read_text()

    # Then docs/architecture.md names each, dotted or by its path
    missing = [str(path.relative_to(ROOT)) for path in modules if not on_the_map(map_names(path), text)]
    assert not missing, "modules missing from docs/architecture.md:\n" + "\n".join(missing)


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_function_imports_the_local_runtime():
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in python_files(ROOT / "functions")
        for module in sorted(imported_modules(path))
        if module == "local_runtime" or module.startswith("local_runtime.")
    ]
    assert not offenders, "functions importing the local runtime:\n" + "\n".join(offenders)


def test_the_map_names_count_whole():
    # The check above must not take a package's name for its modules', nor a module's for another's.
    text = "`customer_profiles.data.keys.profiles`, local_runtime/invoke.py and `models/api/errors.py`"
    assert on_the_map(["customer_profiles.data.keys.profiles"], text)
    assert not on_the_map(["customer_profiles.data.keys"], text)
    assert not on_the_map(["customer_profiles.data.keys.prof"], text)
    assert on_the_map(["local_runtime/invoke.py"], text)
    assert not on_the_map(["local_runtime/"], text)
    assert on_the_map(["models/api/errors.py"], text)
    assert not on_the_map(["errors.py"], text)
    assert not on_the_map(["api/errors.py"], text)


def test_a_module_goes_by_its_paths_and_its_dotted_name():
    names = map_names(PACKAGE / "data" / "keys" / "profiles.py")
    assert "data/keys/profiles.py" in names
    assert "layers/common/customer_profiles/data/keys/profiles.py" in names
    assert "customer_profiles.data.keys.profiles" in names
    assert "customer_profiles.data.keys" in map_names(PACKAGE / "data" / "keys" / "__init__.py")
    assert "functions/linker/linker.py" in map_names(ROOT / "functions" / "linker" / "linker.py")
