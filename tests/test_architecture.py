"""The layer contract (bulletins → segments → consent → crm) is kept, and it would catch a breach.

The contract lives in pyproject.toml ([tool.importlinter]); these tests run import-linter itself.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def make_packages(base: Path, modules: dict[str, str]) -> None:
    """A throw-away copy of the four top-level packages with the given module sources."""
    for package in ("crm", "consent", "segments", "bulletins"):
        (base / package).mkdir()
        (base / package / "__init__.py").write_text("")
    for dotted, source in modules.items():
        (base / (dotted.replace(".", "/") + ".py")).write_text(source)


def test_the_project_keeps_the_layer_contract():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("importer", "imported"),
    [("crm.models", "consent.models"), ("consent.services", "segments.models"), ("segments.models", "bulletins.models")],
)
def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path, importer, imported):
    make_packages(tmp_path, {importer: f"import {imported}\n", imported: ""})
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout
    assert f"{importer} -> {imported}" in result.stdout


def test_imports_down_the_layers_and_the_project_root_exceptions_are_allowed(tmp_path):
    make_packages(tmp_path, {
        "bulletins.models": "import segments.models\nimport consent.models\nimport crm.models\n",
        "segments.models": "import consent.models\nimport crm.models\n",
        "consent.models": "import crm.models\n",
        "crm.models": "",
        # The project root names every app: URLs, the API root and settings only.
        "crm.urls": "import consent.urls\nimport segments.urls\nimport bulletins.urls\n",
        "crm.api": "import consent.api\n",
        "consent.urls": "", "segments.urls": "", "bulletins.urls": "", "consent.api": "",
    })
    result = lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
