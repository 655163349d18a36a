"""What -T sandbox=... produces: the sandbox specification of every task, and the k8s values file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from inspect_ai._util.registry import registry_lookup
from inspect_ai.util import SandboxEnvironmentSpec
from inspect_ai.util._sandbox.registry import registry_find_sandboxenv

from sldbench.sandbox.docker import AGENTS_IMAGE, DEFAULT_IMAGE, DockerSandboxConfig, DockerSandboxEnvironment, default_image
from sldbench.sandbox.local import IsolatedLocalSandbox, LocalSandboxConfig
from sldbench.sandbox.spec import K8S_AGENTS_VALUES, K8S_VALUES, sandbox_spec
from sldbench.specs import TASKS


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_maps_docker_to_the_sdk_sandbox(name, data_dir):
    task = registry_lookup("task", f"sldbench/{name}")(data_dir=str(data_dir), sandbox="docker")
    assert task.sandbox == SandboxEnvironmentSpec("sldbench-docker", DockerSandboxConfig(image=default_image()))
    assert task.sandbox.config.image in (DEFAULT_IMAGE, AGENTS_IMAGE)
    assert registry_find_sandboxenv(task.sandbox.type) is DockerSandboxEnvironment


def test_sandbox_arguments():
    assert sandbox_spec("local") == SandboxEnvironmentSpec("sldbench-local", LocalSandboxConfig(isolation="auto"))
    assert sandbox_spec("local", "required").config.isolation == "required"
    assert registry_find_sandboxenv("sldbench-local") is IsolatedLocalSandbox
    with pytest.raises(ValueError, match="expected one of auto, required, rlimits"):
        sandbox_spec("local", "strict")
    with pytest.raises(ValueError, match="the docker sandbox has no such mode"):
        sandbox_spec("docker", "rlimits")
    assert sandbox_spec("docker").config.image == default_image()
    custom = sandbox_spec("docker:my-image:1.2")
    assert custom.type == "sldbench-docker" and custom.config.image == "my-image:1.2"
    assert sandbox_spec("modal") == SandboxEnvironmentSpec("modal")
    for bad in ("", "  "):
        with pytest.raises(ValueError, match="expected local, docker"):
            sandbox_spec(bad)


def test_docker_config_survives_the_log_round_trip():
    spec = sandbox_spec("docker:other-image")
    restored = SandboxEnvironmentSpec.model_validate(spec.model_dump())
    assert restored == spec and isinstance(restored.config, DockerSandboxConfig)


def test_docker_config_rejects_bad_values():
    with pytest.raises(ValueError, match="expected a size such as 512m or 4g"):
        DockerSandboxConfig(memory="lots")
    with pytest.raises(ValueError, match="expected an absolute directory"):
        DockerSandboxConfig(working_dir="work")
    with pytest.raises(ValueError):
        DockerSandboxConfig(pids=0)


def test_k8s_spec_points_at_the_values_file(tmp_path):
    spec = sandbox_spec("k8s")
    assert spec.type == "k8s" and Path(spec.config) == K8S_VALUES and K8S_VALUES.is_file()
    own = tmp_path / "values.yaml"
    own.write_text("services: {}\n")
    assert sandbox_spec(f"k8s:{own}").config == str(own)
    assert Path(sandbox_spec("k8s:agents").config) == K8S_AGENTS_VALUES
    with pytest.raises(ValueError, match="no Helm values file at"):
        sandbox_spec(f"k8s:{tmp_path / 'missing.yaml'}")


@pytest.mark.parametrize("values_file", [K8S_VALUES, K8S_AGENTS_VALUES], ids=["scoring", "agents"])
def test_k8s_values_limit_the_pod_like_the_docker_sandbox(values_file):
    values = yaml.safe_load(values_file.read_text())
    assert values["allowDomains"] == [] and values["allowCIDR"] == [] and values["allowEntities"] == []
    service = values["services"]["default"]
    docker = DockerSandboxConfig()
    assert service["image"].split(":")[0] == (AGENTS_IMAGE if values_file == K8S_AGENTS_VALUES else docker.image)
    assert service["workingDir"] == docker.working_dir
    assert service["resources"]["limits"] == {"cpu": str(int(docker.cpus)), "memory": "4Gi"}
    security = service["securityContext"]
    assert security["runAsUser"] == docker.uid and security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in service["volumeMounts"]}
    assert mounts == {docker.working_dir: "work", "/tmp": "tmp", "/var/tmp": "var-tmp"}


@pytest.mark.parametrize("values_file", [K8S_VALUES, K8S_AGENTS_VALUES], ids=["scoring", "agents"])
def test_k8s_values_validate_against_the_chart_schema(values_file):
    k8s_sandbox = pytest.importorskip("k8s_sandbox", reason="the k8s extra is not installed: pip install -e '.[k8s]'")
    import json

    import jsonschema

    chart = Path(k8s_sandbox.__file__).parent / "resources" / "helm" / "agent-env"
    schema = json.loads((chart / "values.schema.json").read_text())
    # Helm validates the chart's defaults overlaid with the user's values
    merged = helm_merge(yaml.safe_load((chart / "values.yaml").read_text()), yaml.safe_load(values_file.read_text()))
    jsonschema.validate(merged, schema)
    assert registry_find_sandboxenv("k8s").__module__.startswith("k8s_sandbox")


def helm_merge(defaults, overrides):
    """Helm's overlay: mappings merge key by key, anything else is replaced."""
    if not (isinstance(defaults, dict) and isinstance(overrides, dict)):
        return overrides
    return {**defaults, **{key: helm_merge(defaults.get(key), value) for key, value in overrides.items()}}


def _inspect_eval(tmp_path, data_dir, *arguments, env=None):
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldbench/human",
        "--model", "none", "--log-dir", str(tmp_path / "logs"), "--display", "plain", *arguments,
    ]  # fmt: skip
    environment = {**os.environ, "SLDBENCH_DATA_DIR": str(data_dir), **(env or {})}
    completed = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return completed.stdout + completed.stderr


BLOCK_DOCKER = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name == "docker" or name.startswith("docker."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, _Block())
"""


def test_missing_prerequisites_end_in_one_line_that_names_the_fix(tmp_path, data_dir):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_DOCKER)
    cases = {
        "pip install 'sldbench[docker]'": (["-T", "sandbox=docker"], {"PYTHONPATH": str(blocker)}),
        "-T isolation=required: bubblewrap (bwrap) is not installed (apt-get install bubblewrap)": (
            ["-T", "isolation=required"], {"SLDBENCH_BWRAP": str(tmp_path / "no-bwrap-here")}
        ),
    }
    for fix, (arguments, env) in cases.items():
        output = _inspect_eval(tmp_path, data_dir, *arguments, env=env)
        assert fix in " ".join(output.split()), output[-3000:]
        assert "Traceback" not in output, output[-3000:]


@pytest.mark.docker
def test_a_missing_image_ends_in_one_line_that_names_the_fix(tmp_path, data_dir):
    output = _inspect_eval(tmp_path, data_dir, "-T", "sandbox=docker:sldbench-no-such-image")
    assert "image 'sldbench-no-such-image' not found; build it with docker pull sldbench-no-such-image" in " ".join(output.split())
    assert "Traceback" not in output


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["local", pytest.param("docker", marks=pytest.mark.docker)])
def test_an_eval_launched_from_another_folder_runs_in_each_provider(tmp_path, data_dir, provider):
    # Inspect (from 0.3.292) runs a provider's task_init and task_cleanup in the launch folder: nothing
    # of ours may depend on it being the checkout
    launch = tmp_path / "elsewhere"
    launch.mkdir()
    command = [
        sys.executable, "-m", "inspect_ai", "eval", "sldbench/parallel", "--solver", "sldbench/human", "--model", "none",
        "-T", f"data_dir={data_dir}", "-T", f"sandbox={provider}", "--log-dir", str(tmp_path / "logs"),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=launch, env={**os.environ, "SLDBENCH_SUMMARY": "0"})
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    from inspect_ai.log import read_eval_log

    (log_file,) = (tmp_path / "logs").glob("*.eval")
    log = read_eval_log(str(log_file))
    assert log.status == "success" and log.samples[0].scores["heldout_r2"].value["r2"] > 0.99
    assert sorted(p.name for p in launch.iterdir()) == []  # and it leaves nothing there
