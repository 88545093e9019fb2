"""Conformance: FakeOkta against Okta's OpenAPI spec, over many generated inputs.

An equivalent of a schemathesis run, without its dependency tree: a seeded generator
derives inputs for each of the six operations from tests/data/connections-openapi.yaml
(request bodies from the spec's request schemas, valid and mutated; path ids and app
names valid, unknown and hostile; query values; eight credential variants; the estate's
every app type and connection state, token and OAuth) and scripts every status path
(scripted errors, enforced rate limits, random 5xx). Every response is checked:

* status: declared for the operation, or an error status the reference documents for
  every operation (§4.15, §7.7: 400, 401, 411, 5xx; the spec's error lists are known to
  be incomplete), always with Okta's ``Error`` body;
* headers: ``X-Okta-Request-Id``, ``Date`` and the ``X-Rate-Limit-*`` trio (§2, §8.1)
  with consistent values; JSON bodies as ``application/json``; none on a 204;
* body: jsonschema against the schema the spec declares for that operation and status,
  the error code against the status (§4.15), and no field beyond the schema's.

One spec defect is widened, as tests/testing/test_fake_spec.py does and explains:
``ProvisioningConnectionResponse.authScheme`` also takes ``OAUTH2`` (reference §7.4, the
spec's own example). How many responses needed it is counted separately.

The figures (operations x inputs, checks, violations) are printed; run with ``-s``.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import email.utils
import json
import random
import re
import string
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yarl import URL

from okta_connections.testing import FakeApp, FakeOkta

SPEC_PATH = Path(__file__).resolve().parent / "data" / "connections-openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
BASE_URI = "urn:okta:connections-openapi"
SEED = 20261123
INPUTS_PER_OPERATION = 500

CONN = "/api/v1/apps/{appId}/connections/default"
#: operation -> (spec path template, method)
OPERATIONS: dict[str, tuple[str, str]] = {
    "get": (CONN, "get"),
    "update": (CONN, "post"),
    "activate": (CONN + "/lifecycle/activate", "post"),
    "deactivate": (CONN + "/lifecycle/deactivate", "post"),
    "get_jwks": (CONN + "/jwks", "get"),
    "verify": ("/api/v1/apps/{appName}/{appId}/oauth2/callback", "post"),
}
#: Error statuses the reference documents for every operation though the spec does not
#: declare them on each, with the codes Okta uses for them: §7.7 "Error response lists
#: are incomplete. 401 appears only on JWKS and 400 only on update. Handle any 4xx or 5xx
#: generically through Error"; §4.15 (401 "in practice any operation with a bad or
#: expired credential"; 403 for a token without the scope, which the spec omits on JWKS
#: only); §2 (411 for a bodyless POST without Content-Length); 5xx from fault injection.
DOCUMENTED_UNDECLARED = {400, 401, 403, 411, 500, 502, 503, 504}
ERROR_CODES = {
    400: {"E0000001", "E0000003"},
    401: {"E0000011", "E0000004"},
    403: {"E0000006"},
    404: {"E0000007"},
    405: {"E0000022"},
    411: {"E0000001"},
    429: {"E0000047"},
    500: {"E0000009"},
    502: {"E0000009"},
    503: {"E0000009"},
    504: {"E0000009"},
}
ERROR_KEYS = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
CONNECTION_KEYS = {"authScheme", "baseUrl", "profile", "status", "_links"}
PROFILE_KEYS = {"authScheme", "signing", "clientId"}  # clientId: as the spec's examples
LINK_KEYS = {"self", "activate", "deactivate", "authorize"}
JWK_KEYS = {"kid", "kty", "use", "e", "n"}
REQUEST_ID = re.compile(r"req[A-Za-z0-9_-]{20,}")


# ----------------------------------------------------------------- validators


def _doc(widened: bool) -> dict[str, Any]:
    doc = copy.deepcopy(SPEC)
    if widened:
        props = doc["components"]["schemas"]["ProvisioningConnectionResponse"]["properties"]
        props["authScheme"] = {"$ref": "#/components/schemas/ProvisioningConnectionAuthScheme"}
    return doc


def _registry(doc: dict[str, Any]) -> Registry[Any]:
    return Registry().with_resource(
        BASE_URI, Resource.from_contents(doc, default_specification=DRAFT202012)
    )


REGISTRIES = {True: _registry(_doc(True)), False: _registry(_doc(False))}


@pytest.fixture(scope="module")
def validators() -> Any:
    cache: dict[tuple[str, bool], jsonschema.protocols.Validator] = {}

    def get(pointer: str, widened: bool = True) -> jsonschema.protocols.Validator:
        key = (pointer, widened)
        if key not in cache:
            cache[key] = jsonschema.Draft202012Validator(
                {"$ref": f"{BASE_URI}#{pointer}"}, registry=REGISTRIES[widened]
            )
        return cache[key]

    return get


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def declared_responses(operation: str) -> dict[int, str | None]:
    """status -> the JSON pointer of its body schema (None: no body), as the spec says."""
    template, method = OPERATIONS[operation]
    out: dict[int, str | None] = {}
    for status, response in SPEC["paths"][template][method]["responses"].items():
        content = _deref(response).get("content")
        ref = None if content is None else content["application/json"]["schema"]["$ref"]
        out[int(status)] = None if ref is None else ref.removeprefix("#")
    return out


# ----------------------------------------------------------------- the generator


def _strings(rng: random.Random) -> str:
    pools = [
        lambda: "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 40))),
        lambda: "",
        lambda: " ",
        lambda: "x" * rng.randint(500, 5000),
        lambda: "ünïcødé-🔑-" + str(rng.random()),
        lambda: "https://scim.example.com/" + str(rng.randint(1, 10**6)) + "/scim",
        lambda: "\u0000\n\t\"'<>{}",
        lambda: "null",
    ]
    return rng.choice(pools)()


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
    for part in parts:
        part = _deref(part)
        if "allOf" in part:
            part = _merge(part["allOf"])
        merged["properties"].update(part.get("properties", {}))
        merged["required"] += part.get("required", [])
    return merged


def instance(schema: dict[str, Any], rng: random.Random) -> Any:
    """A value valid against ``schema`` (a spec schema), drawn from ``rng``."""
    schema = _deref(schema)
    if "allOf" in schema:
        schema = _merge(schema["allOf"])
    if "oneOf" in schema:
        return instance(rng.choice(schema["oneOf"]), rng)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type", "object")
    if kind == "object":
        out = {}
        required = set(schema.get("required", []))
        for name, sub in schema.get("properties", {}).items():
            if name in required or rng.random() < 0.6:
                out[name] = instance(sub, rng)
        return out
    if kind == "array":
        return [instance(schema["items"], rng) for _ in range(rng.randint(0, 3))]
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("integer", "number"):
        return rng.randint(-5, 5)
    return _strings(rng)


def mutate(value: Any, rng: random.Random) -> Any:
    """``value`` with one thing wrong: a key dropped or added, a wrong type or enum."""
    value = copy.deepcopy(value)
    wrong = [None, 0, -1, 1.5, True, [], {}, "", "TOKEN ", "oauth2", "BASIC", [1, 2], "x" * 300]
    if not isinstance(value, dict) or not value or rng.random() < 0.15:
        return rng.choice(wrong)
    # Walk down to a random dict in the body.
    node = value
    while True:
        children = [k for k, v in node.items() if isinstance(v, dict) and v]
        if not children or rng.random() < 0.4:
            break
        node = node[rng.choice(children)]
    key = rng.choice(list(node))
    action = rng.randrange(3)
    if action == 0:
        del node[key]
    elif action == 1:
        node[key] = rng.choice(wrong)
    else:
        node[_strings(rng)[:20] or "extra"] = rng.choice(wrong)
    return value


UPDATE_SCHEMA = SPEC["paths"][CONN]["post"]["requestBody"]["content"]["application/json"]["schema"]


def update_body(app: FakeApp | None, rng: random.Random) -> bytes | None:
    roll = rng.random()
    if app is not None and roll < 0.45:
        # Valid for this app (what a correct client sends), from the matching variant.
        scheme = (
            "TOKEN" if app.supports_token and (not app.supports_oauth or roll < 0.2) else "OAUTH2"
        )
        body = instance(UPDATE_SCHEMA, rng)
        while body["profile"]["authScheme"] != scheme:
            body = instance(UPDATE_SCHEMA, rng)
        profile = body["profile"]
        if scheme == "TOKEN":
            profile["token"] = "tok-" + str(rng.getrandbits(64))
        if app.name == "okta_org2org" and scheme == "OAUTH2":
            profile["clientId"] = "0oa" + str(rng.getrandbits(40))
        if app.name == "office365":
            profile["settings"] = {"adminUsername": "admin@contoso.com", "adminPassword": "pw"}
        return json.dumps(body).encode()
    if roll < 0.7:
        return json.dumps(instance(UPDATE_SCHEMA, rng)).encode()  # schema-valid, any app
    if roll < 0.93:
        return json.dumps(mutate(instance(UPDATE_SCHEMA, rng), rng)).encode()
    return rng.choice([b"", b"{", b"not json", b"\xff\xfe", b"[]", b"null", b'{"profile":'])


def hostile_ids(rng: random.Random) -> list[str]:
    alnum = string.ascii_letters + string.digits
    return [
        "0oa" + "".join(rng.choices(alnum, k=17)),  # well formed, unknown
        "0oafxqCAJWWGELFTYASJ",  # the spec's example id
        "x" * 300,
        "ünïcødé",
        "0oa%2F..%2Fadmin",
        "0oa/../../users",
        "'; DROP TABLE apps;--",
        "0oa" + "".join(rng.choices(alnum, k=40)),
        " ",
        "null",
    ]


@attrs.define
class Credentials:
    valid: str
    variants: dict[str, str | None]


def credential_variants(fake: FakeOkta) -> Credentials:
    fake.add_bearer_token("conf-manage", ["okta.apps.manage"])
    fake.add_bearer_token("conf-read", ["okta.apps.read"])
    fake.add_bearer_token("conf-users", ["okta.users.read"])
    fake.add_bearer_token("conf-expired", ["okta.apps.manage"], expires_at=0.0)
    return Credentials(
        valid=f"SSWS {fake.token}",
        variants={
            "ssws-wrong": "SSWS 00wrongTOKEN",
            "none": None,
            "ssws-no-space": f"SSWS{fake.token}",  # what okta 3.4.6 sends (docs/testing.md)
            "basic": "Basic dXNlcjpwYXNz",
            "bearer-manage": "Bearer conf-manage",
            "bearer-read": "Bearer conf-read",
            "bearer-other-scope": "Bearer conf-users",
            "bearer-expired": "Bearer conf-expired",
            "dpop-garbage": "DPoP not-a-token",
        },
    )


def every_state(fake: FakeOkta) -> list[FakeApp]:
    apps = [
        fake.add_app("okta_org2org"),
        fake.add_app("okta_org2org", connection="token"),
        fake.add_app("okta_org2org", connection="token", status="ENABLED"),
        fake.add_app("okta_org2org", connection="oauth", rotation_mode="AUTO", status="ENABLED"),
        fake.add_app("okta_org2org", connection="oauth", rotation_mode="MANUAL"),
        fake.add_app("zscalerbyz"),
        fake.add_app("zscalerbyz", connection="token", status="ENABLED"),
    ]
    for name in ("google", "office365", "slack", "zoomus"):
        apps.append(fake.add_app(name))
        apps.append(fake.add_app(name, connection="oauth", consented=False))
        apps.append(fake.add_app(name, connection="oauth", status="ENABLED"))
    for name in ("bookmark", "template_saml_2_0", "oidc_client"):
        apps.append(fake.add_app(name))
    return apps


@attrs.define
class Case:
    operation: str
    method: str
    path: str
    query: dict[str, str]
    auth: str | None
    body: bytes | None = None


class Generator:
    def __init__(self, fake: FakeOkta, rng: random.Random) -> None:
        self.fake = fake
        self.rng = rng
        self.creds = credential_variants(fake)
        self.apps = fake.apps  # the seeded estate plus every state, token and OAuth

    def app_id(self) -> tuple[str, FakeApp | None]:
        if self.rng.random() < 0.85:
            app = self.rng.choice(self.apps)
            return app.id, app
        return self.rng.choice(hostile_ids(self.rng)), None

    def auth(self) -> str | None:
        if self.rng.random() < 0.75:
            return self.creds.valid
        return self.rng.choice(list(self.creds.variants.values()))

    def path(self, template: str, **params: str) -> str:
        url = URL("/")
        for segment in template.strip("/").split("/"):
            url = url / (params[segment[1:-1]] if segment.startswith("{") else segment)
        return url.raw_path

    def case(self, operation: str) -> Case:
        template, method = OPERATIONS[operation]
        app_id, app = self.app_id()
        query: dict[str, str] = {}
        body = None
        if operation == "update":
            body = update_body(app, self.rng)
            if self.rng.random() < 0.6:
                query["activate"] = self.rng.choice(
                    ["true", "false", "TRUE", "False", "1", "yes", "", "ON"]
                )
        if operation == "verify":
            return self.verify_case(template, method)
        return Case(operation, method, self.path(template, appId=app_id), query, self.auth(), body)

    def verify_case(self, template: str, method: str) -> Case:
        rng = self.rng
        consent_apps = [a for a in self.apps if a.needs_consent and a.auth_scheme == "OAUTH2"]
        app = rng.choice(consent_apps)
        name, app_id = app.name, app.id
        roll = rng.random()
        query: dict[str, str] = {}
        if roll < 0.35:
            # The real flow: consent in the third party, then verify (204), or replay (400).
            query = dict(URL(self.fake.consent(app.id)).query)
        elif roll < 0.55:
            query = {"code": _strings(rng), "state": _strings(rng)}
            if rng.random() < 0.5:
                query.pop(rng.choice(["code", "state"]))
        elif roll < 0.75:
            name = rng.choice(["okta_org2org", "GOOGLE", "bookmark", "google", "slack"])
        else:
            app_id = rng.choice(hostile_ids(rng))
        path = self.path(template, appName=name, appId=app_id)
        return Case("verify", method, path, query, self.auth())


# ----------------------------------------------------------------- checking


@attrs.define
class Tally:
    checks: int = 0
    violations: list[str] = attrs.field(factory=list)
    inputs: collections.Counter[str] = attrs.field(factory=collections.Counter)
    statuses: dict[str, set[int]] = attrs.field(factory=lambda: collections.defaultdict(set))
    undeclared: collections.Counter[int] = attrs.field(factory=collections.Counter)
    widened: int = 0

    def check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.violations.append(what)


def check_response(
    tally: Tally,
    validators: Any,
    case: Case,
    status: int,
    headers: Any,
    raw: bytes,
) -> None:
    op = case.operation
    where = f"{case.method.upper()} {case.path} ({op}) -> {status}"
    tally.inputs[op] += 1
    tally.statuses[op].add(status)
    declared = declared_responses(op)

    # Status.
    is_declared = status in declared
    if not is_declared:
        tally.undeclared[status] += 1
    tally.check(is_declared or status in DOCUMENTED_UNDECLARED, f"{where}: undeclared status")

    # Headers every response carries (§2, §8.1).
    tally.check(
        bool(REQUEST_ID.fullmatch(headers.get("X-Okta-Request-Id", ""))),
        f"{where}: X-Okta-Request-Id",
    )
    date = headers.get("Date")
    parsed_date = email.utils.parsedate_to_datetime(date) if date else None
    tally.check(parsed_date is not None and parsed_date.tzinfo is not None, f"{where}: Date")
    try:
        limit, remaining, reset = (
            int(headers[f"X-Rate-Limit-{h}"]) for h in ("Limit", "Remaining", "Reset")
        )
    except (KeyError, ValueError):
        tally.check(False, f"{where}: X-Rate-Limit-* headers")
    else:
        tally.check(0 <= remaining <= limit, f"{where}: X-Rate-Limit-Remaining {remaining}/{limit}")
        ok_reset = parsed_date is not None and reset >= int(parsed_date.timestamp())
        tally.check(ok_reset, f"{where}: X-Rate-Limit-Reset {reset} before Date")
        if status == 429:
            tally.check(remaining == 0, f"{where}: a 429 with Remaining {remaining}")

    # Body.
    pointer = declared.get(status, "/components/schemas/Error" if status >= 400 else None)
    if pointer is None:
        tally.check(raw == b"", f"{where}: a body on a no-content response")
        tally.check("Content-Type" not in headers, f"{where}: Content-Type without a body")
        return
    tally.check(headers.get("Content-Type") == "application/json", f"{where}: Content-Type")
    try:
        body = json.loads(raw)
    except ValueError:
        tally.check(False, f"{where}: body is not JSON: {raw[:80]!r}")
        return
    errors = sorted(validators(pointer).iter_errors(body), key=str)
    tally.check(not errors, f"{where}: {pointer}: {errors[0].message if errors else ''}")
    if errors:
        return
    if pointer.endswith("/ProvisioningConnectionResponse"):
        verbatim = list(validators(pointer, widened=False).iter_errors(body))
        if verbatim:
            only_auth_scheme = all(list(e.absolute_path) == ["authScheme"] for e in verbatim)
            tally.check(only_auth_scheme, f"{where}: fails the verbatim spec beyond authScheme")
            tally.widened += 1
    if status >= 400:
        tally.check(set(body) == ERROR_KEYS, f"{where}: error fields {sorted(body)}")
        code = body.get("errorCode")
        tally.check(code in ERROR_CODES.get(status, set()), f"{where}: errorCode {code}")
        tally.check(body.get("errorLink") == code, f"{where}: errorLink")
    elif pointer.endswith("/ProvisioningConnectionResponse"):
        extra = (
            set(body) - CONNECTION_KEYS
            or set(body.get("profile", {})) - PROFILE_KEYS
            or set(body.get("_links", {})) - LINK_KEYS
        )
        tally.check(not extra, f"{where}: fields beyond the schema: {extra}")
        tally.check(
            "token" not in body["profile"] and "settings" not in body["profile"],
            f"{where}: a secret in the response",
        )
    elif pointer.endswith("/AppConnectionUserProvisionJWKResponse"):
        keys = body["jwks"]["keys"]
        tally.check(all(set(k) == JWK_KEYS for k in keys), f"{where}: JWK fields")


async def send(http: aiohttp.ClientSession, fake: FakeOkta, case: Case) -> tuple[int, Any, bytes]:
    headers = {"Accept": "application/json"}
    if case.auth is not None:
        headers["Authorization"] = case.auth
    if case.method == "post":
        headers["Content-Type"] = "application/json"
    url = URL(fake.org_url + case.path, encoded=True).with_query(case.query or None)
    data = case.body if case.body is not None else (b"" if case.method == "post" else None)
    async with http.request(case.method.upper(), url, headers=headers, data=data) as resp:
        return resp.status, resp.headers, await resp.read()


# ----------------------------------------------------------------- the run


async def test_fake_okta_conforms_to_the_spec(validators: Any) -> None:
    rng = random.Random(SEED)
    tally = Tally()
    async with (
        FakeOkta(apps=60, seed=SEED, rate_limit=1_000_000) as fake,
        aiohttp.ClientSession() as http,
    ):
        gen = Generator(fake, rng)
        every_state(fake)
        gen.apps = fake.apps

        async def run(case: Case) -> None:
            status, headers, raw = await send(http, fake, case)
            check_response(tally, validators, case, status, headers, raw)

        order = [op for op in OPERATIONS for _ in range(INPUTS_PER_OPERATION)]
        rng.shuffle(order)
        for i, op in enumerate(order):
            case = gen.case(op)
            script = rng.random()
            if script < 0.04:
                # A scripted error for this very request: every status an operation can meet.
                fake.fail_next(
                    rng.choice([400, 401, 403, 404, 429, 500, 502, 503, 504]), operation=op
                )
            elif script < 0.06:
                fake.set_faults(fail_rate=1.0, seed=i)  # a random 500/502/503/504
            await run(case)
            fake.set_faults()

        # Rate limits, enforced: a window's worth of each operation, then 429s.
        fake.set_rate_limit(3, 3600, enforce=True)
        for op in OPERATIONS:
            for _ in range(6):
                await run(gen.case(op))
        # Principal shares (§8.4, §10) in both header modes: 429s at the token's ceiling.
        for mode in ("principal", "org"):
            fake.set_rate_limit(10, 3600, principal_share=0.5, headers=mode)
            for op in OPERATIONS:
                for _ in range(3):
                    await run(gen.case(op))
        assert fake.requests(event="system.operation.rate_limit.violation")
        # Concurrency 429s (Limit = Remaining = 0, §8.2): requests overlap while they wait.
        fake.set_rate_limit(1_000_000, 60, principal_share=1.0, headers="principal")
        fake.set_concurrency_limit(2)
        fake.latency = 0.02
        for op in OPERATIONS:
            await asyncio.gather(*(run(gen.case(op)) for _ in range(5)))
        assert fake.count(status=429) > 6 * 3

    declared = {op: set(declared_responses(op)) for op in OPERATIONS}
    total = sum(tally.inputs.values())
    summary = (
        f"conformance: {len(OPERATIONS)} operations x {dict(tally.inputs)} inputs = {total} "
        f"responses; {tally.checks} checks; {len(tally.violations)} violations; "
        f"undeclared-but-documented statuses {dict(sorted(tally.undeclared.items()))}; "
        f"{tally.widened} connection bodies needed the authScheme widening (ref. §7.4)"
    )
    print("\n" + summary)
    for op in OPERATIONS:
        missing = declared[op] - tally.statuses[op]
        assert not missing, f"{op}: declared statuses never produced: {missing}"
    assert all(n >= INPUTS_PER_OPERATION for n in tally.inputs.values()), summary
    assert tally.violations == [], "\n".join([summary, *tally.violations[:30]])
    assert tally.checks >= 25_000, summary
    assert tally.violations == [], "\n".join([summary, *tally.violations[:30]])


def test_the_checker_catches_nonconforming_responses(validators: Any) -> None:
    """Each kind of defect the run looks for is caught (so zero violations means something)."""
    from multidict import CIMultiDict

    good = CIMultiDict(
        {
            "X-Okta-Request-Id": "reqVy8wsvmBQN27h4soUE3ZEnA",
            "Date": "Mon, 23 Nov 2026 12:00:00 GMT",
            "X-Rate-Limit-Limit": "100",
            "X-Rate-Limit-Remaining": "99",
            "X-Rate-Limit-Reset": "1795435260",
            "Content-Type": "application/json",
        }
    )
    conn = {"profile": {"authScheme": "TOKEN"}, "status": "ENABLED", "_links": {}}
    err = {
        "errorCode": "E0000007",
        "errorSummary": "x",
        "errorLink": "E0000007",
        "errorId": "o",
        "errorCauses": [],
    }
    get = Case("get", "get", "/api/v1/apps/x/connections/default", {}, None)
    activate = Case(
        "activate", "post", "/api/v1/apps/x/connections/default/lifecycle/activate", {}, None
    )
    bad_cases = [
        (get, 200, {**good, "X-Okta-Request-Id": "nope"}, conn),
        (get, 200, {k: v for k, v in good.items() if k != "Date"}, conn),
        (get, 200, {**good, "X-Rate-Limit-Remaining": "101"}, conn),
        (get, 200, good, {"status": "ENABLED"}),
        (get, 200, good, {**conn, "status": "ON"}),
        (get, 200, good, {**conn, "token": "leak"}),
        (get, 200, good, {**conn, "profile": {"authScheme": "TOKEN", "token": "leak"}}),
        (get, 201, good, conn),  # undeclared success
        (get, 404, good, {**err, "errorCode": "E0000011"}),
        (get, 404, good, {"errorCode": "E0000007"}),
        (get, 429, good, {**err, "errorCode": "E0000047", "errorLink": "E0000047"}),  # Remaining 99
        (activate, 204, good, {}),  # Content-Type on a 204
        (get, 418, good, err),
    ]
    for case, status, headers, body in bad_cases:
        tally = Tally()
        raw = b"" if status == 204 else json.dumps(body).encode()
        check_response(tally, validators, case, status, CIMultiDict(headers), raw)
        assert tally.violations, (status, headers, body)
    tally = Tally()
    check_response(tally, validators, get, 200, good, json.dumps(conn).encode())
    assert tally.violations == [] and tally.checks > 5
