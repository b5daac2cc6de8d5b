"""The monitoring definitions kept in git, loaded and checked before anything touches Zabbix.

``monitoring/zabbix.yaml`` holds what is common (groups, every threshold macro with its default,
alerting); ``monitoring/templates/<service>.yaml`` holds one service: its public endpoints
(one line each), its ingestion jobs and its threshold overrides. Any mistake is reported as a
:class:`SpecError` naming the file and the element.
"""

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MACRO = re.compile(r"\{\$([A-Z0-9_.]+)(?::[^}]*)?\}")
DURATION = r"^(\d+[smhdw]?|\{\$[A-Z0-9_.]+(:[^}]*)?\})$"

#: The text a healthy answer of each kind must contain (Zabbix "required string", a regex).
REQUIRED_BY_KIND = {"json": r"\{", "votable": "<VOTABLE", "html": "<html"}


class SpecError(ValueError):
    """A monitoring definition is wrong; the message names the file and the element."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(Strict):
    """A public URL probed through HAProxy by a Zabbix web scenario and by testinfra."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9 _-]*$")
    path: str = Field(pattern=r"^/\S*$")
    kind: Literal["json", "votable", "html"]
    #: Regex the body must match; defaults to the kind's marker.
    required: str | None = None
    #: JSON keys a healthy document has (testinfra checks them).
    keys: tuple[str, ...] = ()

    @property
    def required_text(self) -> str:
        return self.required or REQUIRED_BY_KIND[self.kind]


class IngestionJob(Strict):
    """A periodic job reporting its runs to trapper items (``zbxsync run-job``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    #: The longest time allowed between two successful runs.
    period: str = Field(pattern=DURATION)


class ServiceTemplate(Strict):
    service: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    title: str
    description: str = ""
    endpoints: tuple[Endpoint, ...] = Field(min_length=1)
    ingestion_jobs: tuple[IngestionJob, ...] = ()
    #: Overrides of the common threshold macros for this service only.
    macros: dict[str, str] = {}

    @field_validator("endpoints")
    @classmethod
    def unique_names(cls, endpoints: tuple[Endpoint, ...]) -> tuple[Endpoint, ...]:
        names = [endpoint.name for endpoint in endpoints]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"endpoint names must be unique: {', '.join(duplicates)}")
        return endpoints

    @property
    def template_name(self) -> str:
        return f"JMMC {self.service}"

    @property
    def host_name(self) -> str:
        return f"jmmc-{self.service}"


class MediaType(Strict):
    name: str
    smtp_server: str
    smtp_helo: str
    smtp_email: str


class Action(Strict):
    name: str
    #: Users of this group are told about problems of the JMMC hosts.
    user_group: str
    min_severity: Literal["INFORMATION", "WARNING", "AVERAGE", "HIGH", "DISASTER"]


class SiteConfig(Strict):
    host_group: str
    template_group: str
    #: Every threshold and parameter macro, with its default value and what it means.
    macros: dict[str, str]
    macro_descriptions: dict[str, str] = {}
    media_type: MediaType
    action: Action


class InfrastructureHost(Strict):
    """A host the services rest on (HAProxy, PostgreSQL, the certificate)."""

    host: str = Field(pattern=r"^jmmc-[a-z0-9-]+$")
    name: str
    description: str = ""
    #: The agent interface: DNS name, IP address or a user macro.
    address: str
    #: Zabbix's own templates, linked as the server ships them.
    zabbix_templates: tuple[str, ...] = ()
    #: Ours, from infrastructure/<file>.yaml.
    templates: tuple[str, ...] = ()
    #: Values of the linked templates' macros for this host.
    macros: dict[str, str] = {}


class TriggerRef(Strict):
    host: str
    trigger: str


class Dependency(Strict):
    """While ``trigger`` of ``host`` is a problem, its dependents are not raised."""

    host: str
    trigger: str
    #: Tag (name: value) selecting the service hosts' triggers that depend on it.
    service_tag: dict[str, str] = {}
    triggers: tuple[TriggerRef, ...] = ()


class Infrastructure(Strict):
    hosts: tuple[InfrastructureHost, ...] = ()
    dependencies: tuple[Dependency, ...] = ()


def _location(loc: tuple) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def _load(path: Path, model: type[BaseModel]) -> BaseModel:
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from exc
    try:
        return model.model_validate(document or {})
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise SpecError(f"{path}: {problems}") from exc


def macro_name(macro: str) -> str:
    """``{$A.B:"ctx"}`` -> ``{$A.B}``: a context macro falls back to its plain name."""
    match = MACRO.fullmatch(macro)
    if not match:
        raise SpecError(f"{macro!r} is not a Zabbix user macro ({{$NAME}} in capitals)")
    return f"{{${match.group(1)}}}"


def check_macros(where: str, macros: dict[str, str], known: dict[str, str]) -> None:
    for macro in macros:
        try:
            name = macro_name(macro)
        except SpecError as exc:
            raise SpecError(f"{where}: macro {exc}") from exc
        if name not in known:
            raise SpecError(f"{where}: unknown macro {macro} (defined: {', '.join(sorted(known))})")


class Definitions:
    """Everything under ``monitoring/``: the site configuration and the service templates."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.site: SiteConfig = _load(directory / "zabbix.yaml", SiteConfig)
        paths = sorted((directory / "templates").glob("*.yaml"))
        if not paths:
            raise SpecError(f"{directory / 'templates'}: no template (*.yaml)")
        self.templates: list[ServiceTemplate] = []
        for path in paths:
            template = _load(path, ServiceTemplate)
            check_macros(f"{path}: macros", template.macros, self.site.macros)
            self.templates.append(template)
        services = [template.service for template in self.templates]
        if len(set(services)) != len(services):
            raise SpecError(f"{directory / 'templates'}: a service is defined twice: {services}")
        self.infrastructure: Infrastructure = (
            _load(directory / "infrastructure.yaml", Infrastructure)
            if (directory / "infrastructure.yaml").exists()
            else Infrastructure()
        )
        #: Our templates for the infrastructure, in Zabbix's export format, by name.
        self.infrastructure_templates: dict[str, dict] = {}
        for path in sorted((directory / "infrastructure").glob("*.yaml")):
            try:
                element = yaml.safe_load(path.read_text())
                self.infrastructure_templates[element["template"]] = element
            except (OSError, yaml.YAMLError, TypeError, KeyError) as exc:
                raise SpecError(f"{path}: not a template in Zabbix's export format: {exc}") from exc
        self._check_infrastructure()

    def _check_infrastructure(self) -> None:
        where = self.directory / "infrastructure.yaml"
        hosts = {host.host: host for host in self.infrastructure.hosts}
        for host in self.infrastructure.hosts:
            for name in host.templates:
                if name not in self.infrastructure_templates:
                    raise SpecError(
                        f"{where}: host {host.host}: no template {name!r} in infrastructure/"
                    )
        for dependency in self.infrastructure.dependencies:
            for ref in (dependency, *dependency.triggers):
                if ref.host not in hosts:
                    raise SpecError(f"{where}: dependencies: unknown host {ref.host!r}")

    @property
    def host_macro_names(self) -> dict[str, str]:
        """Every macro a host may be given: the common ones and the linked templates' own."""
        known = dict(self.site.macros)
        for host in self.infrastructure.hosts:
            known.update(host.macros)
        return known

    def template(self, service: str) -> ServiceTemplate:
        for template in self.templates:
            if template.service == service:
                return template
        raise SpecError(f"no template for service {service!r}")
