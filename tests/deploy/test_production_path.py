"""The production path as rendered: traffic reaches a Service, a first install completes in
order, the pods follow the platform's rules, and bad values fail naming the value.

No cluster runs here, so each rule is checked on the manifests `helm template` renders with
the production values, and on the HAProxy configuration Ansible renders for the production
inventory.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from jmmc_devtools.registry import registered_services

from .conftest import REPO, SERVICES, Run

PRODUCTION_INVENTORY = REPO / "ansible" / "inventories" / "production" / "hosts.yml"
HAPROXY_ROLE = REPO / "ansible" / "roles" / "haproxy"
HOOK_PHASES = {"pre-install", "pre-upgrade"}
DATABASE_CLIENT = ("jmmc.io/database-client", "true")


def documents(text: str) -> list[dict]:
    return [document for document in yaml.safe_load_all(text) if document]


def render(run: Run, chart: str, mode: str, *args: str | Path) -> list[dict]:
    result = run(["ci/helm.sh", "render", chart, mode, *args])
    assert result.returncode == 0, result.stderr
    return documents(result.stdout)


def render_failure(run: Run, chart: str, *args: str | Path) -> str:
    result = run(["ci/helm.sh", "render", chart, "production", *args])
    assert result.returncode != 0, "rendered although it should have been refused"
    return result.stderr


@pytest.fixture(scope="module")
def platform(run: Run) -> list[dict]:
    return render(run, "platform", "production")


def pod_spec(document: dict) -> dict:
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec.get("template", {}).get("spec", spec)


def pod_labels(document: dict) -> dict:
    if document["kind"] == "Pod":
        return document["metadata"]["labels"]
    spec = document["spec"]
    if document["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["metadata"]["labels"]


def workloads(manifests: list[dict]) -> list[dict]:
    kinds = {"Deployment", "StatefulSet", "Job", "CronJob", "Pod"}
    return [document for document in manifests if document["kind"] in kinds]


# 1. Traffic: every HAProxy server line of the production inventory reaches a Service.


def haproxy_servers(config: str) -> dict[str, list[tuple[str, str, int]]]:
    """backend name -> [(server, address, port)] of a rendered HAProxy configuration."""
    servers: dict[str, list[tuple[str, str, int]]] = {}
    backend = None
    for line in config.splitlines():
        words = line.split()
        if words[:1] == ["backend"]:
            backend = words[1]
            servers[backend] = []
        elif words[:1] in (["frontend"], ["listen"], ["defaults"], ["global"]):
            backend = None
        elif backend and words[:1] == ["server"]:
            address, port = words[2].rsplit(":", 1)
            servers[backend].append((words[1], address, int(port)))
    return servers


def render_haproxy(inventory: Path, tmp_path: Path) -> str:
    """The role's template rendered by Ansible for the inventory's load balancer, with the
    role's defaults at role-default precedence (the inventory wins, as in a real play)."""
    # role_path/../../.. is where the role finds services/registry.yaml: mirror the layout.
    role = tmp_path / "ansible" / "roles" / "render"
    (role / "tasks").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "defaults" / "main.yml").symlink_to(HAPROXY_ROLE / "defaults" / "main.yml")
    (tmp_path / "services").symlink_to(REPO / "services")
    output = tmp_path / "haproxy.cfg"
    (role / "tasks" / "main.yml").write_text(yaml.safe_dump([{
        "name": "Render the HAProxy configuration",
        "ansible.builtin.template": {"src": str(HAPROXY_ROLE / "templates" / "haproxy.cfg.j2"),
                                     "dest": str(output), "mode": "0600"},
    }]))  # fmt: skip
    playbook = tmp_path / "ansible" / "render.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Render", "hosts": "loadbalancers", "gather_facts": False, "roles": ["render"],
    }]))  # fmt: skip
    result = subprocess.run(
        [Path(sys.executable).parent / "ansible-playbook", "-i", inventory, playbook, "-c",
         "local", "-l", "loadbalancers[0]", "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path / "ansible",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return output.read_text()


def unrouted(manifests: list[dict], config: str) -> list[str]:
    """Every HAProxy backend server that reaches no Service's node port, and every service no
    backend reaches, each named by the value to change."""
    node_ports = {
        document["metadata"]["name"]: port["nodePort"]
        for document in manifests
        if document["kind"] == "Service" and document["spec"]["type"] == "NodePort"
        for port in document["spec"]["ports"]
    }
    offsets = {service.name: service.port_offset for service in registered_services()}
    servers = haproxy_servers(config)
    problems = []
    for service in SERVICES:
        backend = servers.get(f"be_{service}", [])
        if not backend:
            problems.append(f"be_{service}: no server line (haproxy_backend_addresses)")
        if service not in node_ports:
            problems.append(
                f"{service}: its Service exposes no node port "
                f"({service}.service.service.type NodePort and .nodePort)"
            )
            continue
        for name, address, port in backend:
            if port != node_ports[service]:
                problems.append(
                    f"be_{service} server {name} {address}:{port}: the {service} Service's node "
                    f"port is {node_ports[service]} ({service}.service.service.nodePort); HAProxy "
                    f"sends haproxy_backend_port_base + port_offset {offsets[service]}"
                )
    return problems


@pytest.fixture(scope="module")
def production_haproxy(tmp_path_factory) -> str:
    return render_haproxy(PRODUCTION_INVENTORY, tmp_path_factory.mktemp("haproxy"))


def test_every_haproxy_server_of_the_production_inventory_reaches_a_service_node_port(
    platform: list[dict], production_haproxy: str
):
    assert unrouted(platform, production_haproxy) == []
    inventory = yaml.safe_load(
        (PRODUCTION_INVENTORY.parent / "group_vars" / "all" / "main.yml").read_text()
    )
    servers = haproxy_servers(production_haproxy)
    for service in SERVICES:
        addresses = [address for _, address, _ in servers[f"be_{service}"]]
        assert addresses == inventory["haproxy_backend_addresses"], "every node, every backend"


def test_a_values_file_routing_to_nothing_is_named(
    run: Run, production_haproxy: str, tmp_path: Path
):
    values = tmp_path / "values-moved.yaml"
    values.write_text("jmdc:\n  service:\n    service: {type: NodePort, nodePort: 30999}\n"
                      "tap:\n  service:\n    service: {type: ClusterIP}\n")  # fmt: skip
    manifests = render(run, "platform", "production", "-f", values)
    problems = unrouted(manifests, production_haproxy)
    assert any("jmdc.service.service.nodePort" in p and "30999" in p for p in problems), problems
    assert any(p.startswith("tap: its Service exposes no node port") for p in problems), problems
    assert not any(p.startswith(("be_obsportal", "be_oidb")) for p in problems), problems


def test_an_inventory_routing_to_nothing_is_named(platform: list[dict], tmp_path: Path):
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(PRODUCTION_INVENTORY.read_text())
    production = PRODUCTION_INVENTORY.parent / "group_vars" / "all" / "main.yml"
    variables = yaml.safe_load(production.read_text())
    variables["haproxy_backend_port_base"] = 31100
    (inventory / "group_vars" / "all" / "main.yml").write_text(yaml.safe_dump(variables))
    problems = unrouted(platform, render_haproxy(inventory / "hosts.yml", tmp_path / "render"))
    assert len(problems) == len(SERVICES) * len(variables["haproxy_backend_addresses"])
    assert all("haproxy_backend_port_base" in problem for problem in problems), problems


def test_node_port_without_a_port_fails_naming_the_value(run: Run):
    stderr = render_failure(run, "platform", "--set", "oidb.service.service.nodePort=null")
    assert "at '/service/nodePort'" in stderr


# 2. A first install that completes: hooks in order, reading only what exists by then.


def hook(document: dict) -> tuple[set[str], int] | None:
    annotations = document["metadata"].get("annotations") or {}
    if "helm.sh/hook" not in annotations:
        return None
    phases = set(annotations["helm.sh/hook"].split(","))
    return phases, int(annotations.get("helm.sh/hook-weight", "0"))


def test_migrations_run_before_any_pod_accounts_first_reading_only_what_exists(
    platform: list[dict],
):
    jobs = {d["metadata"]["name"]: d for d in platform if d["kind"] == "Job"}
    assert set(jobs) == {"obsportal-accounts-migrate", *(f"{s}-migrate" for s in SERVICES)}
    for name, job in jobs.items():
        phases, weight = hook(job) or (set(), 0)
        assert phases == HOOK_PHASES, f"{name}: Helm must run it before creating pods"
        assert weight == (-5 if name == "obsportal-accounts-migrate" else 0), name
        spec = pod_spec(job)
        (container,) = spec["containers"]
        command = [*container.get("command", []), *container["args"]]
        assert command == (["jmmc-accounts", "migrate"] if "accounts" in name else ["migrate"])
        assert "envFrom" not in container, f"{name}: no ConfigMap exists before the release"
        assert "serviceAccountName" not in spec, f"{name}: the release's accounts come later"
        # The objects a hook reads exist when it runs: a Secret made beforehand by an
        # operator (production), never a release resource.
        secrets = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
        release_secrets = {d["metadata"]["name"] for d in platform if d["kind"] == "Secret"}
        assert secrets and not secrets & release_secrets, name
        assert DATABASE_CLIENT in pod_labels(job).items(), f"{name}: PostgreSQL must admit it"
    # Nothing that is not a hook of the same phases runs before the pods; pods need no hook
    # that comes later (no post-install hook at all).
    for document in platform:
        phases = (hook(document) or (set(), 0))[0]
        assert not phases & {"post-install", "post-upgrade"}, document["metadata"]["name"]


def test_chart_made_secrets_are_earlier_hooks_than_the_migrations(run: Run):
    manifests = render(run, "platform", "default")
    secrets = {d["metadata"]["name"]: hook(d) for d in manifests if d["kind"] == "Secret"}
    assert set(secrets) == {f"{s}-secrets" for s in SERVICES}
    for name, order in secrets.items():
        assert order is not None and order[0] == HOOK_PHASES and order[1] < -5, name


def test_readiness_needs_only_the_migrated_schema_and_startup_is_separate(platform):
    for document in workloads(platform):
        if document["kind"] != "Deployment" or "readinessProbe" not in str(document):
            continue
        (container,) = pod_spec(document)["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        assert "tcpSocket" in container["startupProbe"], "startup: the port, not the database"
        assert "tcpSocket" in container["livenessProbe"]


# 7. Chart hygiene.


def test_every_web_pod_has_its_service_account_spread_and_secrets_as_files(platform):
    accounts = {d["metadata"]["name"]: d for d in platform if d["kind"] == "ServiceAccount"}
    assert set(accounts) == set(SERVICES)
    for account in accounts.values():
        assert account["automountServiceAccountToken"] is False
    for document in workloads(platform):
        name, spec = document["metadata"]["name"], pod_spec(document)
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            for variable in container.get("env", []):
                assert "secretKeyRef" not in str(variable), f"{name}: secrets come as files"
        if document["kind"] in ("Deployment", "CronJob"):
            assert spec["serviceAccountName"] in accounts, name
        if document["kind"] == "Deployment":
            keys = {c["topologyKey"] for c in spec["topologySpreadConstraints"]}
            assert "kubernetes.io/hostname" in keys, name
            selector = spec["topologySpreadConstraints"][0]["labelSelector"]["matchLabels"]
            assert selector.items() <= pod_labels(document).items(), f"{name}: spreads itself"


def test_images_are_pinned_and_latest_is_refused(run: Run, platform: list[dict]):
    for document in workloads(platform):
        for container in pod_spec(document)["containers"]:
            assert re.search(r"(:[0-9a-f]{40}|@sha256:[0-9a-f]{64})$", container["image"])
    digest = "sha256:" + "ab" * 32
    manifests = render(run, "platform", "production", "--set", f"global.imageTags.tap={digest}")
    (tap,) = [d for d in manifests if d["kind"] == "Deployment" and d["metadata"]["name"] == "tap"]
    assert pod_spec(tap)["containers"][0]["image"] == f"jmmc/tap@{digest}"
    stderr = render_failure(run, "platform", "--set", "global.imageTags.jmdc=latest")
    assert "/global/imageTags/jmdc" in stderr


def test_helm_tests_call_each_health_through_its_service(platform: list[dict]):
    services = {d["metadata"]["name"]: d for d in platform if d["kind"] == "Service"}
    tests = [d for d in platform if (hook(d) or ({""}, 0))[0] == {"test"}]
    assert sorted(d["metadata"]["name"] for d in tests) == sorted(
        f"{s}-test-health" for s in SERVICES
    )
    for test in tests:
        service = test["metadata"]["name"].removesuffix("-test-health")
        port = services[service]["spec"]["ports"][0]["port"]
        assert f'"http://{service}:{port}/health"' in pod_spec(test)["containers"][0]["args"][0]
        assert DATABASE_CLIENT not in pod_labels(test).items()


def admitted(policies: list[dict], labels: dict, port: int, source: dict) -> bool:
    """Whether some policy selecting pods with ``labels`` lets ``source`` pods reach ``port``."""
    for policy in policies:
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        if not selector.items() <= labels.items():
            continue
        for rule in policy["spec"].get("ingress", []):
            ports = {entry["port"] for entry in rule.get("ports", [])}
            peers = rule.get("from")
            if ports and port not in ports:
                continue
            if peers is None or any(
                peer.get("podSelector", {}).get("matchLabels", {}).items() <= source.items()
                and "ipBlock" not in peer
                and "namespaceSelector" not in peer
                for peer in peers
            ):
                return True
    return False


def test_network_policies_admit_web_traffic_and_only_database_clients_to_postgres(
    run: Run, platform: list[dict]
):
    database = render(run, "postgres", "production")
    policies = [d for d in platform + database if d["kind"] == "NetworkPolicy"]
    (deny,) = [p for p in policies if p["metadata"]["name"] == "default-deny-ingress"]
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    (postgres,) = [d for d in database if d["kind"] == "StatefulSet"]
    postgres_labels = pod_labels(postgres)
    clients = {DATABASE_CLIENT[0]: DATABASE_CLIENT[1]}
    for document in workloads(platform) + workloads(database):
        labels, name = pod_labels(document), document["metadata"]["name"]
        needs_database = document["kind"] != "Pod" and name != "postgres"
        reaches = admitted(policies, postgres_labels, 5432, labels)
        assert reaches == needs_database, f"{name}: PostgreSQL only from what needs it"
        is_web = document["kind"] == "Deployment" and name in SERVICES
        assert admitted(policies, labels, 8000, {}) == is_web, f"{name}: only web pods take HTTP"
    assert not admitted(policies, postgres_labels, 5432, {}), "no one else reaches PostgreSQL"
    assert admitted(policies, postgres_labels, 5432, clients)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ("service:\n  type: NodePort\n", "/service/type"),
        ("service:\n  type: LoadBalancer\n", "/service/type"),
        ("networkPolicy:\n  ingress: [{from: [{ipBlock: {cidr: 0.0.0.0/0}}]}]\n", "networkPolicy"),
    ],
)
def test_values_exposing_postgresql_fail_naming_the_value(
    run: Run, tmp_path: Path, values: str, named: str
):
    path = tmp_path / "values-exposed.yaml"
    path.write_text(values)
    stderr = render_failure(run, "postgres", "-f", path)
    assert named in stderr


# 3. Deploys: nothing is applied unless every image is pinned and in the registry.


def preflight(
    run: Run, tmp_path: Path, pins: dict[str, str], environment: str = "production", **env: str
) -> tuple[int, str]:
    images = tmp_path / "images.txt"
    images.write_text("".join(f"{service} {image}\n" for service, image in pins.items()))
    # A registry on a loopback port where nothing listens: no image can be found there.
    result = run(["ci/helm.sh", "preflight", environment, images],
                 env={"KUBECONFIG": str(tmp_path / "no-cluster"), **env})  # fmt: skip
    return result.returncode, result.stdout + result.stderr


DATABASE_DIGEST = "sha256:" + "d" * 64


def pinned(repository: str = "127.0.0.1:9/jmmc") -> dict[str, str]:
    """Every service's image and charts/database's, as ci/pin-images.sh writes them."""
    pins = {service: f"{repository}/{service}@sha256:{'0' * 64}" for service in SERVICES}
    return {**pins, "database": f"{repository}/postgres-cnpg@{DATABASE_DIGEST}"}


def test_deploy_refuses_pins_missing_a_service_or_not_a_digest_naming_it(run: Run, tmp_path: Path):
    pins = pinned()
    del pins["oidb"]
    status, output = preflight(run, tmp_path, pins)
    assert status != 0 and "has no image for oidb" in output
    pins = {**pinned(), "jmdc": "127.0.0.1:9/jmmc/jmdc:latest"}
    status, output = preflight(run, tmp_path, pins)
    assert status != 0 and "jmdc: '127.0.0.1:9/jmmc/jmdc:latest' is not pinned by digest" in output
    result = run(["ci/helm.sh", "preflight", "production", tmp_path / "never-built.txt"])
    assert result.returncode != 0
    assert "never-built.txt' not found: deploy only what this pipeline's build job pinned" in (
        result.stderr
    )


def test_production_refuses_a_database_image_not_pinned_by_digest(run: Run, tmp_path: Path):
    pins = pinned()
    del pins["database"]
    status, output = preflight(run, tmp_path, pins)
    assert status != 0 and "images.txt has no database image: production runs" in output
    tagged = {**pinned(), "database": "127.0.0.1:9/jmmc/postgres-cnpg:15-pgsphere"}
    status, output = preflight(run, tmp_path, tagged)
    assert status != 0
    assert "database: '127.0.0.1:9/jmmc/postgres-cnpg:15-pgsphere' is not pinned by digest" in (
        output
    )
    elsewhere = {**pinned(), "database": f"127.0.0.1:9/other/postgres-cnpg@{DATABASE_DIGEST}"}
    status, output = preflight(run, tmp_path, elsewhere)
    assert status != 0 and "is not in the repository of the others" in output
    # Staging may run the chart's tag: the preflight goes on to the registry.
    status, output = preflight(run, tmp_path, pins, "staging")
    assert status != 0 and "is not in the registry" in output


def test_the_database_release_gets_the_pinned_digest(run: Run, tmp_path: Path):
    """With every image in the registry (a stand-in skopeo), the preflight's second line is
    the database release's arguments: the registry path and the digest charts/database
    renders."""
    asked = tmp_path / "asked"
    (tmp_path / "skopeo").write_text(f'#!/bin/sh\necho "$@" >>{asked}\n')
    (tmp_path / "skopeo").chmod(0o755)
    status, output = preflight(run, tmp_path, pinned(), PATH=f"{tmp_path}:{os.environ['PATH']}")
    assert status == 0, output
    platform, database = output.splitlines()
    assert platform.startswith("--set global.imageRepository=127.0.0.1:9/jmmc --set global.")
    assert database == (
        f"--set global.imageRepository=127.0.0.1:9/jmmc --set image.digest={DATABASE_DIGEST}"
    )
    assert f"docker://127.0.0.1:9/jmmc/postgres-cnpg@{DATABASE_DIGEST}" in asked.read_text()
    cluster = run(["ci/helm.sh", "render", "database", "default", *database.split()])
    assert f"imageName: 127.0.0.1:9/jmmc/postgres-cnpg@{DATABASE_DIGEST}" in cluster.stdout


def test_deploy_refuses_an_image_the_registry_does_not_have(run: Run, tmp_path: Path):
    status, output = preflight(run, tmp_path, pinned())
    assert status != 0
    first = SERVICES[0]
    assert f"{first}: image 127.0.0.1:9/jmmc/{first}@sha256:" in output
    assert "is not in the registry" in output
