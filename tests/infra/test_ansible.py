"""The Ansible tree: lint-clean, converging for real on the local platform (second run
unchanged), failing loudly on a missing variable, never installing an invalid HAProxy config,
and giving production one backend per registered service."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

from jmmc_devtools.registry import registered_services

REPO = Path(__file__).resolve().parents[2]
ANSIBLE = REPO / "ansible"
BIN = Path(sys.executable).parent


def run(command: list[str], environment: dict[str, str] | None = None):
    return subprocess.run(
        command,
        cwd=ANSIBLE,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **(environment or os.environ),
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "ANSIBLE_NOCOLOR": "1",
        },
    )


def ansible_playbook(*arguments: str, environment: dict[str, str] | None = None):
    return run([str(BIN / "ansible-playbook"), *arguments], environment)


def playbook(local_platform, zabbix, *arguments: str):
    environment = {**local_platform.environment, "ZABBIX_API_URL": zabbix.api_url}
    return ansible_playbook(*arguments, environment=environment)


def test_yamllint_and_ansible_lint_production_profile_are_clean() -> None:
    yamllint = run([str(BIN / "yamllint"), "--strict", "."])
    assert yamllint.returncode == 0, yamllint.stdout
    lint = run([str(BIN / "ansible-lint"), "--profile", "production"])
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_playbooks_converge_and_a_second_run_changes_nothing(local_platform, zabbix) -> None:
    pidfile = local_platform.layout.pidfile("haproxy")
    old_pid = pidfile.read_text()
    # A real change of configuration, so the first run swaps it in and reloads HAProxy.
    change = ["-e", "haproxy_timeout_check=900ms"]
    first = playbook(local_platform, zabbix, "haproxy.yml", "monitoring.yml", *change)
    assert first.returncode == 0, first.stdout + first.stderr
    assert sum(int(n) for n in re.findall(r"changed=(\d+)", first.stdout)) > 0
    assert "timeout check 900ms" in local_platform.layout.haproxy_config.read_text()
    assert pidfile.read_text() != old_pid, "HAProxy was not reloaded"
    second = playbook(local_platform, zabbix, "haproxy.yml", "monitoring.yml", *change)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.findall(r"changed=(\d+)", second.stdout) == ["0", "0"], second.stdout
    assert httpx.get(f"{local_platform.public_url}/obsportal/health", timeout=10).status_code == 200


def test_inventory_missing_a_required_variable_fails_naming_it(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    loadbalancers:\n      hosts:\n        localhost:\n"
        "          ansible_connection: local\n          haproxy_pidfile: /tmp/none.pid\n"
    )
    result = ansible_playbook("-i", str(inventory), "haproxy.yml")
    assert result.returncode != 0
    assert "required variable haproxy_config_path is not set" in result.stdout


def test_invalid_haproxy_config_never_replaces_the_working_one(local_platform, zabbix) -> None:
    config = local_platform.layout.haproxy_config
    before = config.read_text()
    result = playbook(local_platform, zabbix, "haproxy.yml", "-e", "haproxy_port=notaport")
    assert result.returncode != 0
    assert "failed to validate" in result.stdout, result.stdout
    assert config.read_text() == before
    assert httpx.get(f"{local_platform.public_url}/jmdc/health", timeout=10).status_code == 200


def test_production_backends_are_the_registered_services_on_every_node(tmp_path: Path) -> None:
    """The role's backends, rendered for the production inventory without touching its hosts."""
    defaults = yaml.safe_load((ANSIBLE / "roles" / "haproxy" / "defaults" / "main.yml").read_text())
    play = [
        {
            "hosts": "loadbalancers",
            "gather_facts": False,
            "vars": {
                "role_path": str(ANSIBLE / "roles" / "haproxy"),
                **{name: defaults[name] for name in ("haproxy_registry", "haproxy_services")},
            },
            "tasks": [{"ansible.builtin.debug": {"var": "haproxy_services"}}],
        }
    ]
    (tmp_path / "backends.yml").write_text(yaml.safe_dump(play))
    inventory = ANSIBLE / "inventories" / "production" / "hosts.yml"
    result = ansible_playbook(
        "-i",
        str(inventory),
        str(tmp_path / "backends.yml"),
        environment={**os.environ, "ANSIBLE_STDOUT_CALLBACK": "json"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = json.loads(result.stdout)["plays"][0]["tasks"][0]["hosts"]
    backends = next(iter(hosts.values()))["haproxy_services"]
    nodes = ["node1.jmmc.example.org", "node2.jmmc.example.org"]
    assert backends == [
        {
            "name": s.name,
            "path": s.path,
            "servers": [
                {"name": f"{s.name}{index}", "address": node, "port": 30100 + s.port_offset}
                for index, node in enumerate(nodes, 1)
            ],
        }
        for s in registered_services()
    ]


def test_ansible_deploy_is_the_pipelines_gated_deploy(tmp_path) -> None:
    """The deploy play runs ``ci/helm.sh deploy``: an images file that does not pin every
    service stops it in the preflight, naming the service, before anything is applied."""
    images = tmp_path / "images.txt"
    images.write_text("")

    def deploy(*extra_vars: str):
        arguments = ("-i", "inventories/production", "deploy.yml")
        variables = (f"deploy_images_file={images}", *extra_vars)
        return ansible_playbook(*arguments, *(f"--extra-vars={variable}" for variable in variables))

    unpinned = deploy(f"ansible_python_interpreter={sys.executable}")
    assert unpinned.returncode != 0
    said = " ".join(unpinned.stdout.split())  # Ansible folds long lines
    assert f"{images} has no image for " in said
    wrong = deploy("deploy_environment=prod")
    assert wrong.returncode != 0
    assert "deploy_environment must be staging or production, not prod" in " ".join(
        wrong.stdout.split()
    )
