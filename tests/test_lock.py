"""The whole dependency tree is pinned: requirements/*.lock (from `make lock`) hold every package, the venv holds
exactly what the lock says, and make and the image install from the locks."""

import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(\S+)")


def pins(path: Path) -> dict[str, str]:
    """name -> version for each `name==version` line of a requirement or lock file."""
    found = (PIN.match(line) for line in path.read_text().splitlines())
    return {canonicalize_name(m.group(1)): m.group(2) for m in found if m}


def makefile_pip_version() -> str:
    return re.search(r"^PIP_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def test_every_package_in_the_venv_is_pinned_in_the_lock_at_the_version_installed():
    pinned = pins(REQUIREMENTS / "test.lock") | pins(REQUIREMENTS / "no-deps.txt") | {"pip": makefile_pip_version()}
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions(path=sys.path)}
    assert len(installed) > 100, f"not the project's venv: {sys.prefix}"
    # `==2.13.0` admits the CPU build `2.13.0+cpu`, which is what this machine's find-links holds (see `make lock`).
    drift = {name: (version, pinned.get(name)) for name, version in installed.items()
             if name not in pinned or version not in SpecifierSet(f"=={pinned[name]}")}
    assert not drift, f"installed (version, locked) that the lock does not hold; run `make lock`: {drift}"


@pytest.mark.parametrize("name", ["web", "training", "test"])
def test_each_direct_pin_is_in_its_lock_at_the_same_version(name):
    direct, locked = pins(REQUIREMENTS / f"{name}.txt"), pins(REQUIREMENTS / f"{name}.lock")
    stale = {pkg: (version, locked.get(pkg)) for pkg, version in direct.items() if locked.get(pkg) != version}
    assert not stale, f"requirements/{name}.txt changed after its lock: run `make lock`: {stale}"


def test_web_and_training_locks_agree_with_the_test_lock_and_web_has_no_torch():
    test_lock = pins(REQUIREMENTS / "test.lock")
    for name in ("web", "training"):
        locked = pins(REQUIREMENTS / f"{name}.lock")
        assert {pkg: test_lock.get(pkg) for pkg in locked} == locked, name
    assert "torch" not in pins(REQUIREMENTS / "web.lock")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_run_and_make_test_install_from_the_locks():
    def dry_run(target: str) -> str:
        # -B: every rule as if out of date; -n: print, run nothing.
        return subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True,
                              check=True, timeout=60).stdout

    assert "pip install -q -r requirements/training.lock" in dry_run("deps")
    assert "pip install -q -r requirements/test.lock" in dry_run("test-deps")
    for target in ("deps", "test-deps"):
        assert "pip install -q --no-deps -r requirements/no-deps.txt" in dry_run(target)
        assert "requirements/web.txt" not in dry_run(target) and "requirements/test.txt" not in dry_run(target)


def test_the_image_installs_from_the_locks():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements/web.lock" in dockerfile
    assert "pip install -r requirements/training.lock" in dockerfile
    assert "--no-deps -r requirements/no-deps.txt" in dockerfile
    assert not re.search(r"requirements/\w+\.txt", dockerfile.replace("requirements/no-deps.txt", ""))
