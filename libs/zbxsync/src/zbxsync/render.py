"""Service templates -> one Zabbix 6.0 export document (the format ``configuration.import`` takes).

Per service: a web scenario per public endpoint (status + content) with "down" and "slow"
triggers; an HTTP agent item on ``/health`` with JSONPath-dependent items (overall status,
database latency, ingestion state when present); per ingestion job, trapper items fed by
the job itself (jmmc_core.zabbix) with "failed", "stale" and "rejected ratio" triggers. Every
threshold is a macro. Element uuids derive from their names, so a re-import changes nothing.
"""

import copy
import hashlib
import uuid
from collections.abc import Iterator

import yaml

from jmmc_core.zabbix import ingestion_keys

from .spec import MACRO, Definitions, ServiceTemplate, SpecError, macro_name

EXPORT_VERSION = "6.0"
HEALTH_KEY = "jmmc.health"
INGESTION_RESULT_MAP = "JMMC ingestion result"
#: Consecutive failed probes before an endpoint is down: a blip is no problem, and HAProxy's
#: own check (one failure) raises its problem first, which keeps the endpoints' ones quiet.
WEB_FAILURES = 3


def stable_uuid(*parts: str) -> str:
    """A UUIDv4-shaped id (Zabbix checks the version bits) derived from the element's name."""
    digest = hashlib.sha256("\0".join(parts).encode()).digest()[:16]
    return uuid.UUID(bytes=digest, version=4).hex


def scenario_name(template: ServiceTemplate, endpoint_name: str) -> str:
    return f"{template.service} {endpoint_name}"


def endpoint_down_trigger(template: ServiceTemplate, endpoint_name: str) -> str:
    return f"{template.title}: {endpoint_name} endpoint is down"


def ingestion_trigger(template: ServiceTemplate, job: str, condition: str) -> str:
    return f"{template.title}: ingestion {job} {condition}"


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"tag": tag, "value": value} for tag, value in tags.items()]


def _trigger(
    template: ServiceTemplate,
    name: str,
    expression: str,
    priority: str,
    scope: str,
    description: str,
    via: str,
) -> dict:
    """``via``: how the values arrive, ``haproxy`` (probed through it: the trigger waits while
    HAProxy itself is down, the dependency in infrastructure.yaml selects it by this tag) or
    ``trapper`` (sent by the job itself)."""
    tags = {"scope": scope, "via": via}
    return {
        "uuid": stable_uuid(template.template_name, "trigger", name),
        "expression": expression,
        "name": name,
        "priority": priority,
        "description": description,
        "tags": _tags(**tags),
    }


def _dependent(
    template: ServiceTemplate, key: str, name: str, path: str, value_type: str, units: str = ""
) -> dict:
    item = {
        "uuid": stable_uuid(template.template_name, "item", key),
        "name": f"{template.title}: {name}",
        "type": "DEPENDENT",
        "key": key,
        "delay": "0",
        "history": "7d",
        "value_type": value_type,
        "preprocessing": [
            {
                "type": "JSONPATH",
                "parameters": [path],
                # A check the service does not report is no error: nothing is stored.
                "error_handler": "DISCARD_VALUE",
            }
        ],
        "master_item": {"key": HEALTH_KEY},
        "tags": _tags(component="health"),
    }
    if value_type in ("CHAR", "TEXT"):
        item["trends"] = "0"
    if units:
        item["units"] = units
    return item


def _health_items(template: ServiceTemplate) -> list[dict]:
    t = template.template_name
    prefix = f"{template.title}:"
    master = {
        "uuid": stable_uuid(t, "item", HEALTH_KEY),
        "name": f"{prefix} health document",
        "type": "HTTP_AGENT",
        "key": HEALTH_KEY,
        "delay": "{$JMMC.HEALTH.DELAY}",
        "history": "1h",
        "trends": "0",
        "value_type": "TEXT",
        "url": f"{{$JMMC.BASE_URL}}/{template.service}/health",
        "timeout": "{$JMMC.WEB.TIMEOUT}",
        # 503 carries the same document, saying which check fails.
        "status_codes": "200,503",
        "description": "The service's /health JSON, read through HAProxy.",
        "tags": _tags(component="health"),
    }
    status = _dependent(template, "jmmc.health.status", "health status", "$.status", "CHAR")
    status["triggers"] = [
        _trigger(
            template,
            f"{prefix} a health check fails",
            f'last(/{t}/jmmc.health.status)<>"ok"',
            "AVERAGE",
            "availability",
            "The service answers but reports a failing check (database or ingestion) in /health.",
            via="haproxy",
        )
    ]
    latency = _dependent(
        template,
        "jmmc.health.database.latency",
        "database latency",
        "$.checks.database.latency_ms",
        "FLOAT",
        "ms",
    )
    latency["triggers"] = [
        _trigger(
            template,
            f"{prefix} database is slow",
            f"min(/{t}/jmmc.health.database.latency,{{$JMMC.DB.LATENCY.WINDOW}})"
            ">{$JMMC.DB.LATENCY.MAX.WARN}",
            "WARNING",
            "performance",
            "Every database round trip of the window was slower than allowed.",
            via="haproxy",
        )
    ]
    ingestion = [
        _dependent(
            template,
            "jmmc.health.ingestion.status",
            "ingestion check status",
            "$.checks.ingestion.status",
            "CHAR",
        ),
        _dependent(
            template,
            "jmmc.health.ingestion.age",
            "age of the last ingestion run",
            "$.checks.ingestion.age_seconds",
            "FLOAT",
            "s",
        ),
    ]
    return [master, status, latency, *(ingestion if template.ingestion_jobs else [])]


def _ingestion_items(template: ServiceTemplate) -> Iterator[dict]:
    t = template.template_name
    for job in template.ingestion_jobs:
        keys = ingestion_keys(job.name)
        period = f'{{$JMMC.INGESTION.PERIOD:"{job.name}"}}'
        # A trigger on one item is part of that item in Zabbix's format.
        own_triggers = {
            "result": _trigger(
                template,
                ingestion_trigger(template, job.name, "failed"),
                f"last(/{t}/{keys['result']})=0",
                "HIGH",
                "availability",
                "The last run of the job reported a failure.",
                via="trapper",
            ),
            "success": _trigger(
                template,
                ingestion_trigger(template, job.name, "is stale"),
                f"nodata(/{t}/{keys['success']},{period})=1",
                "HIGH",
                "availability",
                "No successful run within the job's period (the check runs every ~30 s).",
                via="trapper",
            ),
        }
        specs = [
            ("result", "result of the last run", "UNSIGNED", ""),
            ("success", "time of the last successful run", "UNSIGNED", "unixtime"),
            ("accepted", "records accepted by the last run", "UNSIGNED", ""),
            ("rejected", "records rejected by the last run", "UNSIGNED", ""),
            ("duration", "duration of the last run", "FLOAT", "s"),
        ]
        for role, name, value_type, units in specs:
            item = {
                "uuid": stable_uuid(t, "item", keys[role]),
                "name": f"{template.title}: ingestion {job.name} {name}",
                "type": "TRAP",
                "key": keys[role],
                "delay": "0",
                "history": "30d",
                "allowed_hosts": "{$JMMC.INGESTION.SENDERS}",
                "tags": _tags(component="ingestion", job=job.name),
            }
            if value_type != "UNSIGNED":  # the format's default, left out as Zabbix does
                item["value_type"] = value_type
            if units:
                item["units"] = units
            if role == "result":
                item["valuemap"] = {"name": INGESTION_RESULT_MAP}
            if role in own_triggers:
                item["triggers"] = [own_triggers[role]]
            yield item


def _ingestion_triggers(template: ServiceTemplate) -> Iterator[dict]:
    t = template.template_name
    for job in template.ingestion_jobs:
        keys = ingestion_keys(job.name)
        yield _trigger(
            template,
            ingestion_trigger(template, job.name, "rejected too many records"),
            f"last(/{t}/{keys['rejected']})>{{$JMMC.INGESTION.REJECTED.RATIO.MAX}}"
            f"*(last(/{t}/{keys['accepted']})+last(/{t}/{keys['rejected']}))",
            "WARNING",
            "quality",
            "The share of rejected records of the last run is above the limit.",
            via="trapper",
        )


def _web(template: ServiceTemplate) -> tuple[list[dict], list[dict]]:
    t = template.template_name
    scenarios, triggers = [], []
    for endpoint in template.endpoints:
        scenario = scenario_name(template, endpoint.name)
        scenarios.append(
            {
                "uuid": stable_uuid(t, "httptest", scenario),
                "name": scenario,
                "delay": "{$JMMC.WEB.DELAY}",
                "steps": [
                    {
                        "name": endpoint.name,
                        "url": f"{{$JMMC.BASE_URL}}{endpoint.path}",
                        "timeout": "{$JMMC.WEB.TIMEOUT}",
                        "required": endpoint.required_text,
                        "status_codes": "200",
                    }
                ],
                "tags": _tags(component="endpoint", endpoint=endpoint.name),
            }
        )
        triggers.append(
            _trigger(
                template,
                endpoint_down_trigger(template, endpoint.name),
                f"min(/{t}/web.test.fail[{scenario}],#{WEB_FAILURES})>0",
                "HIGH",
                "availability",
                f"GET {endpoint.path} through HAProxy failed, answered non-200 or lacked its "
                "content at each of the last probes.",
                via="haproxy",
            )
        )
        triggers.append(
            _trigger(
                template,
                f"{template.title}: {endpoint.name} endpoint is slow",
                f"avg(/{t}/web.test.time[{scenario},{endpoint.name},resp],{{$JMMC.RESPONSE.WINDOW}})"
                ">{$JMMC.RESPONSE.MAX.WARN}",
                "WARNING",
                "performance",
                "Mean response time over the window is above the limit (s).",
                via="haproxy",
            )
        )
    return scenarios, triggers


def render_template(definitions: Definitions, template: ServiceTemplate) -> tuple[dict, list[dict]]:
    """The template element and its cross-item triggers (web scenario and ingestion ones)."""
    site = definitions.site
    macros = {**site.macros, **template.macros}
    for job in template.ingestion_jobs:
        macros[f'{{$JMMC.INGESTION.PERIOD:"{job.name}"}}'] = job.period
    scenarios, triggers = _web(template)
    element = {
        "uuid": stable_uuid(template.template_name),
        "template": template.template_name,
        "name": template.template_name,
        "description": template.description,
        "groups": [{"name": site.template_group}],
        "items": [*_health_items(template), *_ingestion_items(template)],
        "httptests": scenarios,
        "macros": [
            {
                "macro": name,
                "value": value,
                "description": site.macro_descriptions.get(macro_name(name), ""),
            }
            # Zabbix's own order: a plain macro before its context variants.
            for name, value in sorted(
                macros.items(), key=lambda kv: (macro_name(kv[0]), ":" in kv[0], kv[0])
            )
        ],
        "tags": _tags(service=template.service),
    }
    if template.ingestion_jobs:
        element["valuemaps"] = [
            {
                "uuid": stable_uuid(template.template_name, "valuemap", INGESTION_RESULT_MAP),
                "name": INGESTION_RESULT_MAP,
                "mappings": [
                    {"value": "0", "newvalue": "failed"},
                    {"value": "1", "newvalue": "succeeded"},
                ],
            }
        ]
    return element, [*triggers, *_ingestion_triggers(template)]


def render_infrastructure_template(
    definitions: Definitions, source: dict
) -> tuple[dict, list[dict]]:
    """One of our infrastructure templates, completed (uuids from names, the template group,
    the common macros it uses with their defaults and descriptions), and its triggers on
    several items, which Zabbix's format keeps beside the template."""
    site = definitions.site
    name = source["template"]
    cross_triggers = source.pop("triggers", [])
    element = {"uuid": stable_uuid(name), **source, "groups": [{"name": site.template_group}]}
    triggers = [t for item in element.get("items", []) for t in item.get("triggers", [])]
    for item in element.get("items", []):
        item.setdefault("uuid", stable_uuid(name, "item", item["key"]))
    for trigger in [*triggers, *cross_triggers]:
        trigger.setdefault("uuid", stable_uuid(name, "trigger", trigger["name"]))
    for valuemap in element.get("valuemaps", []):
        valuemap.setdefault("uuid", stable_uuid(name, "valuemap", valuemap["name"]))
    texts = _strings([source, cross_triggers])
    used = sorted({f"{{${m.group(1)}}}" for text in texts for m in MACRO.finditer(text)})
    unknown = [macro for macro in used if macro not in site.macros]
    if unknown:
        raise SpecError(f"template {name}: uses undefined macro {', '.join(unknown)}")
    element["macros"] = [
        {
            "macro": macro,
            "value": site.macros[macro],
            "description": site.macro_descriptions.get(macro, ""),
        }
        for macro in used
    ]
    return element, cross_triggers


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def export_document(definitions: Definitions) -> dict:
    """The import document for every template; raises SpecError on an undefined macro."""
    templates, triggers = [], []
    for template in definitions.templates:
        element, cross_triggers = render_template(definitions, template)
        defined = {macro_name(macro["macro"]) for macro in element["macros"]}
        for text in _strings([element, cross_triggers]):
            for match in MACRO.finditer(text):
                if f"{{${match.group(1)}}}" not in defined:
                    raise SpecError(
                        f"template {template.template_name}: uses undefined macro {match.group(0)}"
                    )
        templates.append(element)
        triggers.extend(cross_triggers)
    for source in definitions.infrastructure_templates.values():
        element, cross_triggers = render_infrastructure_template(definitions, copy.deepcopy(source))
        templates.append(element)
        triggers.extend(cross_triggers)
    return {
        "zabbix_export": {
            "version": EXPORT_VERSION,
            "groups": [
                {
                    "uuid": stable_uuid("group", definitions.site.template_group),
                    "name": definitions.site.template_group,
                }
            ],
            "templates": templates,
            "triggers": triggers,
        }
    }


def export_yaml(definitions: Definitions) -> str:
    return yaml.safe_dump(export_document(definitions), sort_keys=False, allow_unicode=True)
