"""The installed layout: every package folder of the checkout is installed under newsflow.*."""

from __future__ import annotations

import tomllib

from tests.conftest import REPO


def test_every_package_folder_is_installed_under_the_namespace():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = config["package-dir"]
    folders = {f"newsflow.{top}": top for top in ("pipelines", "transforms", "schemas")}
    assert mapping == folders
    expected = set()
    for package, folder in folders.items():
        for init in (REPO / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO / folder)
            expected.add(".".join((package, *relative.parts)))
    listed = set(config["packages"])
    assert expected <= listed, f"add to pyproject.toml packages: {sorted(expected - listed)}"
    for package in listed:
        folder = REPO / folders[".".join(package.split(".")[:2])]
        assert folder.joinpath(*package.split(".")[2:]).is_dir(), package
