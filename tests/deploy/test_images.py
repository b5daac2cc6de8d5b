"""Every service image builds from the repository, starts as a real container and answers
/health: podman here (no Docker engine, no registry), from a debootstrapped Debian base with
wheels downloaded on the host, exactly as ci/build-images.sh does it for an operator.
"""

import base64
import importlib
import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from jmmc_devtools.pgcluster import free_port

from .conftest import SERVICES, Run

REPOSITORY = "localhost/jmmc-test"
PODMAN = ["podman", "--runtime", "runc"]
# runc needs explicit limits here: the host's hard nofile limit is below podman's default.
RUN = [*PODMAN, "run", "--ulimit", "nofile=20000:20000", "--ulimit", "nproc=4096:4096"]

Start = Callable[..., str]


@pytest.fixture(scope="session")
def images(run: Run) -> Iterator[dict[str, str]]:
    # A tag of our own: other test sessions on this machine build the same images.
    tag = f"test-{os.getpid()}"
    result = run(
        ["ci/build-images.sh", "--engine", "podman", "--local-base", "--offline",
         "--repository", REPOSITORY, "--tag", tag],
        timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    built = dict(line.split() for line in result.stdout.splitlines())
    yield built
    # The layers stay cached for the next session; only our tags go.
    subprocess.run([*PODMAN, "rmi", *built.values()], capture_output=True)


@pytest.fixture
def start_container() -> Iterator[Start]:
    """Start a detached container (``podman run -d`` arguments); removed after the test."""
    started: list[str] = []

    def start(*arguments: str) -> str:
        result = subprocess.run(
            [*RUN, "-d", *arguments], capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr
        started.append(result.stdout.strip())
        return started[-1]

    yield start
    for container in started:
        subprocess.run([*PODMAN, "rm", "-f", "-t", "2", container], capture_output=True)


def wait_for_health(url: str, container: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                logs = subprocess.run([*PODMAN, "logs", container], capture_output=True, text=True)
                pytest.fail(f"{url} never answered; container log:\n{logs.stdout}{logs.stderr}")
            time.sleep(0.2)


def env_prefix(service: str) -> str:
    return importlib.import_module(f"{service}.config").Settings.model_config["env_prefix"]


def test_every_service_has_an_image(images: dict[str, str]):
    assert set(images) == set(SERVICES)
    assert all(image.startswith(f"{REPOSITORY}/{service}:") for service, image in images.items())


@pytest.mark.parametrize("service", SERVICES)
def test_image_runs_the_service_as_non_root_with_a_health_check(
    images: dict[str, str], service: str
):
    inspected = subprocess.run(
        [*PODMAN, "image", "inspect", images[service]], capture_output=True, text=True
    )
    (image,) = json.loads(inspected.stdout)
    assert image["Config"]["User"] == "10001:10001"
    # `service` is the link to the service's own command, made when the image is built.
    assert image["Config"]["Entrypoint"] == ["service"]
    assert image["Config"]["Labels"]["org.opencontainers.image.title"] == service
    assert image["Config"]["Cmd"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "http://127.0.0.1:8000/health" in " ".join(image["Healthcheck"]["Test"])


def run_python(image: str, code: str) -> subprocess.CompletedProcess[str]:
    """``python3 -c code`` in a container of ``image``, as its user, without network."""
    return subprocess.run(
        [*RUN, "--rm", "--network", "none", "--entrypoint", "python3", image, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("service", SERVICES)
def test_image_holds_only_its_service_and_the_shared_core(images: dict[str, str], service: str):
    candidates = [*SERVICES, "jmmc_core", "jmmc_devtools", "pytest", "ruff"]
    probe = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {candidates!r} if importlib.util.find_spec(m)]))"
    )
    result = run_python(images[service], probe)
    assert result.returncode == 0, result.stderr
    assert sorted(json.loads(result.stdout)) == sorted([service, "jmmc_core"])


@pytest.mark.parametrize("service", SERVICES)
def test_image_loads_the_shared_core_c_extension_and_has_no_compiler(
    images: dict[str, str], service: str
):
    """Compiled in the build stage, the extension runs on the runtime stage's base, which has
    no C compiler."""
    probe = "import shutil, jmmc_core._binary_rows; print(shutil.which('gcc'), shutil.which('cc'))"
    result = run_python(images[service], probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "None"]


@pytest.mark.parametrize("service", SERVICES)
def test_container_migrates_then_serves_health_from_a_real_database(
    images: dict[str, str], service: str, new_database, start_container: Start, run: Run
):
    """Production settings, the database of the host's private PostgreSQL (host network)."""
    prefix = env_prefix(service)
    settings = [
        "-e", f"{prefix}DATABASE_URL={new_database(f'image_{service}')}",
        "-e", f"{prefix}ENVIRONMENT=production",
        "-e", f"{prefix}SECRET_KEY=a-production-secret-for-the-image-test",
    ]  # fmt: skip
    migrate = subprocess.run(
        [*RUN, "--rm", "--network", "host", *settings, images[service], "migrate"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "is at head" in migrate.stdout

    port = free_port()
    container = start_container(
        "--network", "host", *settings, images[service],
        "serve", "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    response = wait_for_health(f"http://127.0.0.1:{port}/health", container)
    report = response.json()
    assert response.status_code == 200, report
    assert report["service"] == service
    assert report["checks"]["database"]["status"] == "ok"

    smoke = run(["python3", "ci/smoke.py", f"http://127.0.0.1:{port}", service])
    assert smoke.returncode == 0, smoke.stderr
    assert f"{service} healthy" in smoke.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_default_command_answers_503_json_and_fails_its_health_check_without_database(
    images: dict[str, str], service: str, start_container: Start, run: Run
):
    port = free_port()
    prefix = env_prefix(service)
    container = start_container(
        "-p", f"127.0.0.1:{port}:8000",
        "-e", f"{prefix}DATABASE_URL=postgresql+psycopg://nobody@127.0.0.1:9/none",
        "-e", f"{prefix}DATABASE_CONNECT_TIMEOUT=1",
        images[service],
    )  # fmt: skip
    for path in ("/health", f"/{service}/health"):
        response = wait_for_health(f"http://127.0.0.1:{port}{path}", container)
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["status"] == "fail"

    check = subprocess.run(
        [*PODMAN, "healthcheck", "run", container], capture_output=True, text=True, timeout=60
    )
    assert check.returncode != 0
    assert "unhealthy" in check.stdout + check.stderr

    smoke = run(["python3", "ci/smoke.py", f"http://127.0.0.1:{port}", service])
    assert smoke.returncode == 1
    assert f"smoke: {service}: HTTP 503" in smoke.stderr


# The chart's pods, run as Kubernetes would run them: same arguments, settings, user,
# read-only root filesystem with /tmp as the only writable place, no capabilities.


@pytest.fixture(scope="module")
def platform_manifests(run: Run) -> list[dict]:
    result = run(["ci/helm.sh", "render", "platform", "default"])
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


def pod_as_podman_arguments(
    manifests: list[dict], kind: str, name: str, secrets_folder: Path
) -> list[str]:
    """`podman run` options reproducing the pod's first container (image and args last); its
    Secret volumes are written as files under ``secrets_folder`` from the rendered Secrets."""
    (workload,) = [d for d in manifests if d["kind"] == kind and d["metadata"]["name"] == name]
    pod = workload["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    secrets = {d["metadata"]["name"]: d["data"] for d in manifests if d["kind"] == "Secret"}
    options = ["--user", f"{security['runAsUser']}:{pod['securityContext']['runAsGroup']}"]
    options += ["--cap-drop", ",".join(security["capabilities"]["drop"])]
    if security["readOnlyRootFilesystem"]:
        options.append("--read-only")
    if not security["allowPrivilegeEscalation"]:
        options += ["--security-opt", "no-new-privileges"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "secret" in volume:
            folder = secrets_folder / mount["name"]
            folder.mkdir(parents=True)
            data = secrets[volume["secret"]["secretName"]]
            for item in volume["secret"]["items"]:
                (folder / item["path"]).write_bytes(base64.b64decode(data[item["key"]]))
                (folder / item["path"]).chmod(0o444)
            options += ["-v", f"{folder}:{mount['mountPath']}:ro,z"]
            continue
        # A shared claim (TAP's results) is a tmpfs here too: writable, gone with the container.
        size = volume.get("emptyDir", {"sizeLimit": "64Mi"})["sizeLimit"].replace("Mi", "m")
        options += ["--tmpfs", f"{mount['mountPath']}:rw,size={size}"]
    assert "envFrom" not in container, "settings are inline: hook Jobs run before any ConfigMap"
    for variable in container["env"]:
        options += ["-e", f"{variable['name']}={variable['value']}"]
    if "command" in container:
        options += ["--entrypoint", container["command"][0]]
    return options


@pytest.mark.parametrize("service", SERVICES)
def test_chart_migration_job_runs_as_rendered_against_a_real_database(
    images: dict[str, str], platform_manifests: list[dict], service: str, new_database, tmp_path
):
    """The hook Job as rendered: settings inline, database password and secret key read from
    the Secret's files (production refuses the development secret key)."""
    database = new_database(f"job_{service}")
    jobs = [(f"{service}-migrate", env_prefix(service))]
    if service == "obsportal":
        jobs.insert(0, ("obsportal-accounts-migrate", "ACCOUNTS_"))
    for job, prefix in jobs:
        options = pod_as_podman_arguments(platform_manifests, "Job", job, tmp_path / job)
        migrate = subprocess.run(
            [*RUN, "--rm", "--network", "host", *options, "-e", f"{prefix}DATABASE_URL={database}",
             images[service], "migrate"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert migrate.returncode == 0, migrate.stderr
        assert "is at head" in migrate.stdout


@pytest.mark.parametrize("service", SERVICES)
def test_chart_deployment_pod_starts_as_rendered_and_answers_health(
    images: dict[str, str],
    platform_manifests: list[dict],
    service: str,
    start_container: Start,
    tmp_path: Path,
):
    """Read-only, unprivileged, with the chart's own settings: it serves (503 here, as the
    cluster's `postgres` host does not exist on this machine)."""
    (deployment,) = [d for d in platform_manifests
                     if d["kind"] == "Deployment" and d["metadata"]["name"] == service]  # fmt: skip
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    port = free_port()
    options = pod_as_podman_arguments(platform_manifests, "Deployment", service, tmp_path)
    pod = start_container("-p", f"127.0.0.1:{port}:8000", *options, images[service],
                          *container["args"])  # fmt: skip
    response = wait_for_health(f"http://127.0.0.1:{port}/{service}/health", pod)
    assert response.status_code == 503
    assert response.json()["checks"]["database"]["status"] == "fail"
