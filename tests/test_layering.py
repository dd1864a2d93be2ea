"""The package's layers, read from its import statements: the library never imports the CLI, and the
adversarial family never imports the CNN family."""
import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "tfmat"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, top_level: bool = False) -> set[str]:
    """Absolute names of the modules ``path`` imports (relative imports resolved), at any depth or, with
    ``top_level``, in the statements that run on import (not those inside functions)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text())
    for node in (tree.body if top_level else ast.walk(tree)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules():
    return {module_name(p): imports(p) for p in PACKAGE.rglob("*.py")}


def inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def offenders(importers, imported: str) -> list[str]:
    """``"a imports b"`` for every module of ``importers`` importing something inside ``imported``."""
    return sorted(f"{mod} imports {dep}" for mod, deps in modules().items() if importers(mod)
                  for dep in deps if inside(dep, imported))


def test_imports_are_resolved():
    deps = modules()
    assert "tfmat.gan.adversarial" in deps["tfmat.gan.matgan"]
    assert "tfmat.io.atomic_path" in deps["tfmat.gan.sampling"]  # `from ..io import atomic_path`
    assert "tfmat.cli" in deps["tfmat.cli.gan"]  # `from . import UsageError`


def test_the_library_never_imports_the_cli():
    # the entry point tfmat/__main__.py is the CLI's, not the library's
    assert offenders(lambda m: not inside(m, "tfmat.cli") and m != "tfmat.__main__", "tfmat.cli") == []


def test_the_adversarial_family_never_imports_the_cnn_family():
    assert offenders(lambda m: inside(m, "tfmat.gan") or inside(m, "tfmat.structure"), "tfmat.cnn") == []


def test_one_training_loop_serves_every_gan():
    loops = [f"{module_name(p)}" for p in PACKAGE.rglob("*.py") if "def train_step(" in p.read_text()]
    assert loops == ["tfmat.gan.adversarial"]


def test_the_autoencoder_imports_no_tensorflow_so_it_runs_on_any_keras_backend():
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    seen, todo, reached = set(), ["tfmat.models.autoencoder"], set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        for dep in imports(files[mod], top_level=True):
            reached.add(dep.split(".")[0])
            parts = dep.split(".")
            for i in range(len(parts), 0, -1):  # the package __init__ files run too
                if ".".join(parts[:i]) in files:
                    todo.append(".".join(parts[:i]))
    assert "tfmat.composition" in seen and "keras" in reached
    assert "tensorflow" not in reached, sorted(seen)
