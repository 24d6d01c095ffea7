"""The documented example helper (packaging/registry-credentials.example) with a fake `aws`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tedge_container.credentials.helper import HelperProvider
from tedge_container.images.references import parse

EXAMPLE = Path(__file__).resolve().parents[2] / "packaging" / "registry-credentials.example"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.2"


def setup(tmp_path: Path) -> tuple[dict[str, str], Path]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "aws.log"
    aws = bin_dir / "aws"
    counter = tmp_path / "n"
    aws.write_text(
        f'#!/bin/sh\necho "$@" >> "{calls}"\n'
        f'n=$(cat "{counter}" 2>/dev/null || echo 0); n=$((n + 1)); echo $n > "{counter}"\n'
        'echo "ecrtoken-3f9a-$n"\n'
    )
    aws.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "REGISTRY_CREDENTIALS_CACHE": str(tmp_path / "c"),
    }
    return env, calls


def test_example_caches_and_honours_refresh(tmp_path: Path) -> None:
    env, calls = setup(tmp_path)
    provider = HelperProvider(str(EXAMPLE), 10, environ=env)
    first = provider.lookup(parse(ECR), refresh=False)
    again = provider.lookup(parse(ECR), refresh=False)
    fresh = provider.lookup(parse(ECR), refresh=True)
    assert first is not None and again is not None and fresh is not None
    assert first.credentials.username == "AWS"
    assert first.credentials.password == again.credentials.password == "ecrtoken-3f9a-1"
    assert fresh.credentials.password == "ecrtoken-3f9a-2"
    assert calls.read_text().splitlines() == ["ecr get-login-password --region eu-west-1"] * 2
    cache = tmp_path / "c" / "123456789012.dkr.ecr.eu-west-1.amazonaws.com.token"
    assert oct(cache.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in cache.parent.iterdir()) == [cache.name]  # no temporary file left
    assert provider.lookup(parse("ghcr.io/acme/app"), refresh=False) is None  # not ECR: nothing


def test_example_usage_and_aws_failure(tmp_path: Path) -> None:
    env, _ = setup(tmp_path)
    result = subprocess.run([str(EXAMPLE), "get"], capture_output=True, text=True, env=env, timeout=10)
    assert result.returncode == 1 and "usage:" in result.stderr
    (tmp_path / "bin" / "aws").write_text("#!/bin/sh\nexit 255\n")
    result = subprocess.run([str(EXAMPLE), "get", ECR], capture_output=True, text=True, env=env, timeout=10)
    assert result.returncode == 1 and result.stdout == ""
    assert "get-login-password failed" in result.stderr
    result = subprocess.run(
        [str(EXAMPLE), "get", "nginx"], capture_output=True, text=True, env=env, timeout=10
    )
    assert json.loads(result.stdout) == {"username": "", "password": ""}
