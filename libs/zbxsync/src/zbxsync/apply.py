"""Make a Zabbix server match the definitions: plan every change first, then apply the plan.

Templates go through ``configuration.importcompare`` (the plan, and the server's own validation
of every element) and ``configuration.import`` with explicit rules; hosts, macros, the host
group, the media type and the action through their API objects. Nothing is written when the
plan cannot be made, and a second run finds nothing to do.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pyzabbix import ZabbixAPI, ZabbixAPIException

from .render import export_yaml
from .spec import Definitions, SpecError, check_macros

IP_ADDRESS = re.compile(r"[0-9.]+|[0-9a-fA-F:]+:[0-9a-fA-F:.]*")
TAG_EQUALS = 1
SEVERITIES = {"INFORMATION": 1, "WARNING": 2, "AVERAGE": 3, "HIGH": 4, "DISASTER": 5}
MEDIA_TYPE_EMAIL = 0
EVENT_SOURCE_TRIGGERS = 0
CONDITION_HOST_GROUP, CONDITION_SEVERITY = 0, 4
OPERATOR_EQUAL, OPERATOR_GREATER_EQUAL = 0, 5
OPERATION_SEND_MESSAGE = 0

_ALL = {"createMissing": True, "updateExisting": True, "deleteMissing": True}
IMPORT_RULES = {
    "groups": {"createMissing": True},
    "templates": {"createMissing": True, "updateExisting": True},
    "items": _ALL,
    "triggers": _ALL,
    "httptests": _ALL,
    "valueMaps": _ALL,
}


class ZabbixError(RuntimeError):
    pass


def _element_name(element: dict) -> str:
    inner = element.get("after", element.get("before", element))
    return inner.get("name") or inner.get("description") or inner.get("expression", "?")


def _changed_elements(difference: dict, kind: str = "") -> list[str]:
    """``kind name`` of every element importcompare adds, removes or really changes.

    importcompare also lists as "updated" parents whose content is identical: those are skipped.
    """
    found = []
    for key, value in difference.items():
        if key in ("added", "removed"):
            verb = "add" if key == "added" else "remove"
            found += [f"{verb} {kind[:-1]} {_element_name(element)}" for element in value]
        elif key == "updated":
            for element in value:
                if element["before"] != element["after"]:
                    found.append(f"update {kind[:-1]} {element['after'].get('name', '?')}")
                nested = {k: v for k, v in element.items() if k not in ("before", "after")}
                found += _changed_elements(nested, kind)
        elif isinstance(value, dict):
            found += _changed_elements(value, key)
    return found


@dataclass(frozen=True)
class HostSpec:
    host: str
    templates: tuple[str, ...]
    macros: dict[str, str]
    #: The agent interface's address (DNS name, IP or macro); None: no interface.
    address: str | None
    name: str | None = None

    def interfaces(self) -> list[dict[str, str]]:
        if self.address is None:
            return []
        by_ip = bool(IP_ADDRESS.fullmatch(self.address))
        return [
            {
                "type": "1",
                "useip": "1" if by_ip else "0",
                "ip": self.address if by_ip else "",
                "dns": "" if by_ip else self.address,
                "port": "10050",
            }
        ]


@dataclass
class Change:
    description: str
    apply: Callable[[], object] = field(repr=False)


def connect(url: str, user: str, password: str) -> ZabbixAPI:
    api = ZabbixAPI(url, timeout=30)
    try:
        api.login(user, password)
    except (ZabbixAPIException, OSError) as exc:
        raise ZabbixError(f"cannot log in to the Zabbix API at {url} as {user}: {exc}") from exc
    return api


class Provisioner:
    def __init__(self, api: ZabbixAPI, definitions: Definitions, host_macros: dict[str, str]):
        check_macros("host macros", host_macros, definitions.host_macro_names)
        self.api = api
        self.definitions = definitions
        self.site = definitions.site
        self.host_macros = host_macros
        self.source = export_yaml(definitions)

    def _call(self, what: str, method: Callable, **params):
        try:
            return method(**params)
        except ZabbixAPIException as exc:
            raise ZabbixError(f"{what}: {exc}") from exc

    # -- templates -----------------------------------------------------------------------------

    def template_changes(self) -> list[Change]:
        difference = self._call(
            "the templates were rejected by Zabbix",
            self.api.configuration.importcompare,
            format="yaml",
            source=self.source,
            rules=IMPORT_RULES,
        )
        summary = sorted(set(_changed_elements(difference or {})))
        if not summary:
            return []
        return [
            Change(
                "import templates: " + "; ".join(summary),
                lambda: self._call(
                    "template import failed",
                    self.api.configuration["import"],
                    format="yaml",
                    source=self.source,
                    rules=IMPORT_RULES,
                ),
            )
        ]

    # -- host group and hosts ------------------------------------------------------------------

    def _group_id(self, name: str) -> str | None:
        groups = self.api.hostgroup.get(filter={"name": [name]}, output=["groupid"])
        return groups[0]["groupid"] if groups else None

    def group_changes(self) -> list[Change]:
        if self._group_id(self.site.host_group):
            return []
        return [
            Change(
                f"create host group {self.site.host_group}",
                lambda: self.api.hostgroup.create(name=self.site.host_group),
            )
        ]

    def wanted_hosts(self) -> list[HostSpec]:
        """Every JMMC host: one per service, then the infrastructure ones."""
        hosts = [
            HostSpec(t.host_name, (t.template_name,), dict(self.host_macros), None)
            for t in self.definitions.templates
        ]
        for host in self.definitions.infrastructure.hosts:
            macros = {**host.macros, **self.host_macros}
            templates = (*host.zabbix_templates, *host.templates)
            # Zabbix does not expand macros in an interface: the address is given resolved.
            address = {**self.site.macros, **macros}.get(host.address, host.address)
            hosts.append(HostSpec(host.host, templates, macros, address, host.name))
        return hosts

    def host_changes(self) -> list[Change]:
        changes = []
        for wanted in self.wanted_hosts():
            existing = self.api.host.get(
                filter={"host": [wanted.host]},
                output=["hostid", "name"],
                selectMacros=["macro", "value"],
                selectParentTemplates=["host"],
                selectGroups=["name"],
                selectInterfaces=["type", "useip", "ip", "dns", "port"],
            )
            if not existing:
                changes.append(
                    Change(
                        f"create host {wanted.host} linked to {', '.join(wanted.templates)}",
                        lambda w=wanted: self._save_host(w, None),
                    )
                )
                continue
            current = existing[0]
            differences = []
            if sorted(t["host"] for t in current["parentTemplates"]) != sorted(wanted.templates):
                differences.append("templates")
            if [g["name"] for g in current["groups"]] != [self.site.host_group]:
                differences.append("groups")
            if sorted((m["macro"], m["value"]) for m in current["macros"]) != sorted(
                wanted.macros.items()
            ):
                differences.append("macros")
            interfaces = [
                {k: str(i[k]) for k in ("type", "useip", "ip", "dns", "port")}
                for i in current["interfaces"]
            ]
            if interfaces != wanted.interfaces():
                differences.append("interface")
            if wanted.name and current["name"] != wanted.name:
                differences.append("name")
            if differences:
                changes.append(
                    Change(
                        f"update host {wanted.host} ({', '.join(differences)})",
                        lambda w=wanted, hostid=current["hostid"]: self._save_host(w, hostid),
                    )
                )
        return changes

    def _save_host(self, wanted: HostSpec, hostid: str | None) -> None:
        found = self.api.template.get(filter={"host": list(wanted.templates)}, output=["host"])
        missing = set(wanted.templates) - {t["host"] for t in found}
        if missing:
            raise ZabbixError(f"host {wanted.host}: no template {', '.join(sorted(missing))}")
        template_ids = [t["templateid"] for t in found]
        params = {
            "groups": [{"groupid": self._group_id(self.site.host_group)}],
            "templates": [{"templateid": i} for i in template_ids],
            "macros": [{"macro": k, "value": v} for k, v in sorted(wanted.macros.items())],
        }
        if wanted.name:
            params["name"] = wanted.name
        interfaces = [{**i, "main": "1"} for i in wanted.interfaces()]
        if hostid is None:
            self._call(
                f"create host {wanted.host}",
                self.api.host.create,
                host=wanted.host,
                interfaces=interfaces,
                **params,
            )
            return
        self._call(
            f"update host {wanted.host}",
            self.api.host.update,
            hostid=hostid,
            templates_clear=self._other_templates(hostid, template_ids),
            **params,
        )
        self._replace_interfaces(hostid, interfaces)

    def _replace_interfaces(self, hostid: str, interfaces: list[dict]) -> None:
        current = self.api.hostinterface.get(hostids=[hostid], output=["interfaceid"])
        if current and interfaces:
            self._call(
                "update the host interface",
                self.api.hostinterface.update,
                interfaceid=current[0]["interfaceid"],
                **interfaces[0],
            )
        elif interfaces:
            self._call(
                "add the host interface",
                self.api.hostinterface.create,
                hostid=hostid,
                **interfaces[0],
            )

    def _other_templates(self, hostid: str, keep: list[str]) -> list[dict]:
        linked = self.api.template.get(hostids=[hostid], output=["templateid"])
        return [{"templateid": t["templateid"]} for t in linked if t["templateid"] not in keep]

    # -- trigger dependencies ------------------------------------------------------------------

    def _host_triggers(self, host: str, **filters) -> list[dict]:
        return self.api.trigger.get(
            host=host,
            output=["triggerid", "description"],
            selectDependencies=["triggerid"],
            **filters,
        )

    def missing_dependencies(self) -> list[tuple[str, str, str, str]]:
        """(dependent id, its name, root id, root name) for every dependency not yet set."""
        missing = []
        service_hosts = [t.host_name for t in self.definitions.templates]
        for dependency in self.definitions.infrastructure.dependencies:
            roots = self._host_triggers(dependency.host, filter={"description": dependency.trigger})
            if not roots:
                continue  # its host is created by this plan: the re-plan sets them
            root = roots[0]["triggerid"]
            dependents = []
            if dependency.service_tag:
                tags = [
                    {"tag": k, "value": v, "operator": 1} for k, v in dependency.service_tag.items()
                ]
                for host in service_hosts:
                    dependents += self._host_triggers(host, tags=tags)
            for ref in dependency.triggers:
                dependents += self._host_triggers(ref.host, filter={"description": ref.trigger})
            for dependent in dependents:
                if root not in {d["triggerid"] for d in dependent["dependencies"]}:
                    missing.append(
                        (dependent["triggerid"], dependent["description"], root, dependency.trigger)
                    )
        return missing

    def dependency_changes(self) -> list[Change]:
        return [
            Change(
                f"make {name!r} depend on {root_name!r}",
                lambda dependent=dependent, root=root: self._call(
                    f"trigger dependency on {root}",
                    self.api.trigger.adddependencies,
                    triggerid=dependent,
                    dependsOnTriggerid=root,
                ),
            )
            for dependent, name, root, root_name in self.missing_dependencies()
        ]

    # -- alerting ------------------------------------------------------------------------------

    def _media_type_params(self) -> dict:
        media = self.site.media_type
        return {
            "name": media.name,
            "type": str(MEDIA_TYPE_EMAIL),
            "smtp_server": media.smtp_server,
            "smtp_helo": media.smtp_helo,
            "smtp_email": media.smtp_email,
        }

    def media_type_changes(self) -> list[Change]:
        wanted = self._media_type_params()
        existing = self.api.mediatype.get(filter={"name": [wanted["name"]]}, output=list(wanted))
        if not existing:
            return [
                Change(
                    f"create media type {wanted['name']}",
                    lambda: self.api.mediatype.create(**wanted),
                )
            ]
        current = existing[0]
        if all(str(current[k]) == v for k, v in wanted.items()):
            return []
        return [
            Change(
                f"update media type {wanted['name']}",
                lambda: self.api.mediatype.update(mediatypeid=current["mediatypeid"], **wanted),
            )
        ]

    def _action_params(self) -> dict:
        action = self.site.action
        media = self.api.mediatype.get(
            filter={"name": [self.site.media_type.name]}, output=["mediatypeid"]
        )
        groups = self.api.usergroup.get(filter={"name": [action.user_group]}, output=["usrgrpid"])
        if not groups:
            raise ZabbixError(f"action {action.name}: no user group named {action.user_group!r}")
        return {
            "name": action.name,
            "eventsource": EVENT_SOURCE_TRIGGERS,
            "status": 0,
            "esc_period": "1h",
            "filter": {
                "evaltype": 1,
                "conditions": [
                    {
                        "conditiontype": CONDITION_HOST_GROUP,
                        "operator": OPERATOR_EQUAL,
                        "value": self._group_id(self.site.host_group),
                    },
                    {
                        "conditiontype": CONDITION_SEVERITY,
                        "operator": OPERATOR_GREATER_EQUAL,
                        "value": str(SEVERITIES[action.min_severity]),
                    },
                ],
            },
            "operations": [
                {
                    "operationtype": OPERATION_SEND_MESSAGE,
                    "opmessage": {"default_msg": 1, "mediatypeid": media[0]["mediatypeid"]},
                    "opmessage_grp": [{"usrgrpid": groups[0]["usrgrpid"]}],
                }
            ],
            "recovery_operations": [
                {
                    "operationtype": 11,  # notify everyone who was told about the problem
                    "opmessage": {"default_msg": 1},
                }
            ],
        }

    def _action_fingerprint(self, action: dict) -> tuple:
        conditions = sorted(
            (str(c["conditiontype"]), str(c["operator"]), str(c["value"]))
            for c in action["filter"]["conditions"]
        )
        operation = action["operations"][0]
        groups = sorted(str(g["usrgrpid"]) for g in operation.get("opmessage_grp", []))
        return conditions, str(operation["opmessage"]["mediatypeid"]), groups, str(action["status"])

    def action_changes(self) -> list[Change]:
        name = self.site.action.name
        existing = self.api.action.get(
            filter={"name": [name]},
            output="extend",
            selectFilter="extend",
            selectOperations="extend",
        )

        def save():
            params = self._action_params()
            if existing:
                params.pop("eventsource")
                return self.api.action.update(actionid=existing[0]["actionid"], **params)
            return self.api.action.create(**params)

        if not existing:
            return [Change(f"create action {name}", save)]
        if not self._group_id(self.site.host_group) or not self.api.mediatype.get(
            filter={"name": [self.site.media_type.name]}
        ):
            return [Change(f"update action {name}", save)]
        if self._action_fingerprint(existing[0]) == self._action_fingerprint(self._action_params()):
            return []
        return [Change(f"update action {name}", save)]

    # -- the whole plan ------------------------------------------------------------------------

    def plan(self) -> list[Change]:
        """Every change needed, in order: later steps need objects made by earlier ones."""
        return [
            *self.template_changes(),
            *self.group_changes(),
            *self.host_changes(),
            *self.dependency_changes(),
            *self.media_type_changes(),
            *self.action_changes(),
        ]


def apply(
    api: ZabbixAPI,
    definitions: Definitions,
    host_macros: dict[str, str],
    dry_run: bool,
    report: Callable[[str], None],
) -> int:
    """Apply (or with ``dry_run`` only show) the changes; returns how many there were."""
    provisioner = Provisioner(api, definitions, host_macros)
    changes = provisioner.plan()
    if dry_run:
        for change in changes:
            report(f"would {change.description}")
        return len(changes)
    count = 0
    # A second round for what needs objects the first one made (hosts, the action, the
    # trigger dependencies on a new host's triggers); a third plan must then be empty.
    for _ in range(2):
        for change in changes:
            report(change.description)
            try:
                change.apply()
            except ZabbixAPIException as exc:
                raise ZabbixError(f"{change.description}: {exc}") from exc
        count += len(changes)
        changes = provisioner.plan()
        if not changes:
            return count
    raise ZabbixError(
        "still different after apply: " + "; ".join(change.description for change in changes)
    )


__all__ = ["SpecError", "ZabbixError", "apply", "connect"]
