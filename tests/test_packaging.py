"""What `pip install` puts where, and that the dev venv and the image pin the same versions."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

CONSTRAINTS = REPO / "deploy" / "constraints.txt"
REGENERATE = "run `make constraints` and commit deploy/constraints.txt"


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def requirements(*extras: str) -> list[Requirement]:
    project = pyproject()["project"]
    declared = list(project["dependencies"])
    for extra in extras:
        declared += project["optional-dependencies"][extra]
    return [Requirement(line) for line in declared]


def pins() -> dict[str, str]:
    found = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and version and " " not in line, f"not a plain pin: {line!r}"
        found[canonicalize_name(name)] = version
    return found


def test_constraints_pin_every_dependency_inside_its_range():
    pinned = pins()
    for requirement in requirements("dev", "bench"):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} has no pin: {REGENERATE}"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"{requirement.name}=={pinned[name]} is outside {requirement.specifier}: {REGENERATE}"


def test_runtime_dependencies_have_upper_bounds():
    for requirement in requirements():
        assert any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier), \
            f"{requirement} has no upper bound"


def test_dev_venv_runs_the_pinned_versions():
    """The venv the tests run in was installed with the constraints (`make setup`)."""
    pinned = pins()
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        assert metadata.version(requirement.name) == pinned[name], \
            f"{requirement.name}: installed {metadata.version(requirement.name)}, pinned " \
            f"{pinned[name]}: run `make setup`"


def test_benchmark_only_dependencies_stay_out_of_the_runtime():
    runtime = {canonicalize_name(r.name) for r in requirements()}
    assert "datasketch" not in runtime and "urllib3" not in runtime
    assert "numpy" in runtime  # dedup imports it


@pytest.mark.slow
def test_wheel_installs_only_the_newsflow_namespace(tmp_path):
    """`pip install .` would put exactly this into site-packages: newsflow/ and its dist-info,
    with every module and data file of pipelines/, transforms/ and schemas/."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                           "--wheel-dir", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("newsflow-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    version = pyproject()["project"]["version"]
    assert top_level == {"newsflow", f"newsflow-{version}.dist-info"}
    expected = {f"newsflow/{path.relative_to(REPO).as_posix()}"
                for folder in ("pipelines", "transforms", "schemas")
                for path in (REPO / folder).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts}
    assert expected <= set(names), f"missing from the wheel: {sorted(expected - set(names))}"
    assert "newsflow/pipelines/demo/data/en.json" in names
