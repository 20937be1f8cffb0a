"""Installs the built wheel into a virtualenv under build/ and runs the Python tests.

The virtualenv is kept between runs while requirements.txt is unchanged; the
wheel is reinstalled every time. A missing tool fails the run.
"""
import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
VENV = ROOT / "build" / "python" / "venv"
STAMP = VENV / "requirements.sha256"
WHEELS = ROOT / "build" / "jsii" / "python"
INSTALL_TIMEOUT = 600
TEST_TIMEOUT = 300


def run(args: list, timeout: int) -> None:
    subprocess.run([str(arg) for arg in args], check=True, timeout=timeout)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_requirements() -> None:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == digest:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", VENV], INSTALL_TIMEOUT)
    run([venv_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", REQUIREMENTS], INSTALL_TIMEOUT)
    STAMP.write_text(digest)


def the_wheel() -> Path:
    wheels = sorted(WHEELS.glob("*.whl"))
    if len(wheels) != 1:
        sys.exit(f"expected one wheel in {WHEELS}, found {len(wheels)}: run 'npm run package:python' first")
    return wheels[0]


def main() -> None:
    if shutil.which("node") is None:
        sys.exit("node is not on PATH; the jsii runtime of the Python package needs it")
    ensure_requirements()
    pip = [venv_python(), "-m", "pip", "--disable-pip-version-check"]
    run(pip + ["install", "--quiet", "--no-deps", "--force-reinstall", the_wheel()], INSTALL_TIMEOUT)
    # The wheel's own requirements must be met by the pinned ones.
    run(pip + ["check"], INSTALL_TIMEOUT)
    run([venv_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", HERE], TEST_TIMEOUT)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as error:
        sys.exit(f"failed ({error.returncode}): {' '.join(error.cmd)}")
    except subprocess.TimeoutExpired as error:
        sys.exit(f"timed out after {error.timeout} s: {' '.join(error.cmd)}")
