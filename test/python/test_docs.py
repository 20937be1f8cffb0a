"""The Python blocks of the README and docs/: each parses, and each whole program runs and synthesizes.

The blocks are read as the TypeScript checks read them (test/support/doc-blocks.ts): a block marked
`<!-- fragment: continues the block above -->` runs after the Python blocks above it in its file.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 120


def doc_programs() -> list:
    out = subprocess.run(["node", "--require", "./scripts/register-typescript.cjs", "test/support/doc-blocks.ts", "python"],
                         cwd=ROOT, check=True, capture_output=True, text=True, timeout=RUN_TIMEOUT).stdout
    return json.loads(out)


PROGRAMS = doc_programs()


def test_the_docs_have_python_programs():
    assert PROGRAMS


@pytest.mark.parametrize("program", PROGRAMS, ids=[p["origin"] for p in PROGRAMS])
def test_each_python_block_parses(program):
    compile(program["code"], program["origin"], "exec")


@pytest.mark.parametrize("program", [p for p in PROGRAMS if not p["continuedBelow"]],
                         ids=[p["origin"] for p in PROGRAMS if not p["continuedBelow"]])
def test_each_whole_python_program_runs_and_synthesizes(program, tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "CDK8S_OUTDIR"}
    run = subprocess.run([sys.executable, "-c", program["code"]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert run.returncode == 0, f"{program['origin']}: exited {run.returncode}: {run.stderr}"
    assert list(tmp_path.rglob("*.k8s.yaml")), f"{program['origin']}: ran but wrote no manifest: does it call app.synth()?"
