"""Settings from arguments, env and okta.yaml files: precedence, profiles, coercion."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from okta_connections import BearerToken, ConfigurationError, OktaClient, SSWSToken, Timeouts
from okta_connections.config import load_settings

HOME_YAML = """
okta:
  client:
    orgUrl: https://home.okta.com
    token: home-token
    authorizationMode: SSWS
    scopes: [okta.apps.read]
  profiles:
    prod-admin:
      orgUrl: https://prod.okta.com
      token: prod-token
    staging:
      client:
        orgUrl: https://staging.oktapreview.com
        token: staging-token
        authorizationMode: bearer
"""

CWD_YAML = """
okta:
  client:
    orgUrl: https://cwd.okta.com
  profiles:
    staging:
      orgUrl: https://staging-cwd.oktapreview.com
"""


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    (home / ".okta").mkdir(parents=True)
    cwd.mkdir()
    (home / ".okta" / "okta.yaml").write_text(HOME_YAML)
    (cwd / "okta.yaml").write_text(CWD_YAML)
    os.chmod(home / ".okta" / "okta.yaml", 0o600)
    os.chmod(cwd / "okta.yaml", 0o600)
    return home, cwd


def test_precedence_args_env_cwd_home(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    s = load_settings(env={}, cwd=cwd, home=home)
    assert (s.org_url, s.token, s.scopes) == (
        "https://cwd.okta.com",
        "home-token",
        ("okta.apps.read",),
    )
    assert s.sources["org_url"].endswith("okta.yaml (okta.client) orgUrl")
    assert str(cwd) in s.sources["org_url"]
    env = {"OKTA_CLIENT_ORGURL": "https://env.okta.com", "OKTA_CLIENT_SCOPES": "a.b,c.d"}
    s = load_settings(env=env, cwd=cwd, home=home)
    assert (s.org_url, s.token, s.scopes) == ("https://env.okta.com", "home-token", ("a.b", "c.d"))
    s = load_settings(
        env=env, cwd=cwd, home=home, org_url="https://arg.okta.com", token="arg-token"
    )
    assert (s.org_url, s.token) == ("https://arg.okta.com", "arg-token")
    assert s.sources["token"] == "argument token"


def test_named_profiles_live_side_by_side(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    prod = load_settings("prod-admin", env={}, cwd=cwd, home=home)
    assert (prod.org_url, prod.token, prod.authorization_mode) == (
        "https://prod.okta.com",
        "prod-token",
        "SSWS",
    )
    staging = load_settings(env={"OKTA_CLIENT_PROFILE": "staging"}, cwd=cwd, home=home)
    assert staging.profile == "staging"
    assert staging.org_url == "https://staging-cwd.oktapreview.com"  # ./okta.yaml beats home
    assert staging.token == "staging-token"
    assert staging.authorization_mode == "Bearer"  # coerced from "bearer"


def test_unknown_profile_lists_the_known_ones(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    with pytest.raises(ConfigurationError, match="no profile named 'prod'.*prod-admin, staging"):
        load_settings("prod", env={}, cwd=cwd, home=home)


def test_a_profile_with_no_okta_yaml_anywhere_says_neither_file_exists(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    with pytest.raises(ConfigurationError) as info:
        load_settings("staging", env={}, cwd=cwd, home=home)
    assert str(info.value) == (
        f"profile: no profile named 'staging': neither {home / '.okta' / 'okta.yaml'} nor "
        f"{cwd / 'okta.yaml'} exists; a profile is okta.profiles.staging in one of them"
    )
    (cwd).mkdir()
    (cwd / "okta.yaml").write_text("okta:\n  profiles:\n    prod: {orgUrl: https://a.okta.com}\n")
    with pytest.raises(ConfigurationError) as info:
        load_settings("staging", env={}, cwd=cwd, home=home)
    # Only the file that exists is named as searched.
    assert str(info.value) == (
        f"profile: no profile named 'staging' in {cwd / 'okta.yaml'}; known profiles: prod"
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OKTA_CLIENT_AUTHORIZATIONMODE": "Kerberos"}, "not one of SSWS, Bearer, PrivateKey"),
        ({"OKTA_CLIENT_SCOPES": " , "}, "at least one scope"),
        ({"OKTA_CLIENT_TOKEN": "   "}, r"\$OKTA_CLIENT_TOKEN: must be a non-empty string"),
    ],
)
def test_env_values_are_coerced_with_clear_errors(
    dirs: tuple[Path, Path], env: dict[str, str], message: str
) -> None:
    home, cwd = dirs
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env=env, cwd=cwd, home=home)


def test_bad_yaml_types(tmp_path: Path) -> None:
    (tmp_path / "okta.yaml").write_text("okta:\n  client:\n    orgUrl: 42\n")
    with pytest.raises(ConfigurationError, match="orgUrl.*non-empty string"):
        load_settings(env={}, cwd=tmp_path, home=tmp_path / "nohome")
    (tmp_path / "okta.yaml").write_text("okta: [\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_settings(env={}, cwd=tmp_path, home=tmp_path / "nohome")
    (tmp_path / "okta.yaml").write_text("other: {}\n")
    with pytest.raises(ConfigurationError, match="no top-level 'okta:'"):
        load_settings(env={}, cwd=tmp_path, home=tmp_path / "nohome")


def test_loose_permissions_on_a_file_with_a_secret_warn(dirs: tuple[Path, Path]) -> None:
    home, cwd = dirs
    path = home / ".okta" / "okta.yaml"
    os.chmod(path, 0o644)
    with pytest.warns(UserWarning, match="chmod 600"):
        load_settings(env={}, cwd=cwd, home=home)
    os.chmod(path, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_settings(env={}, cwd=cwd, home=home)


def test_from_config_builds_the_client_and_auth(
    dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cwd = dirs
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    for var in list(os.environ):
        if var.startswith("OKTA_CLIENT_"):
            monkeypatch.delenv(var)
    client = OktaClient.from_config()
    assert client.org_url == "https://cwd.okta.com"
    assert isinstance(client.auth, SSWSToken)
    staging = OktaClient.from_config("staging")
    assert isinstance(staging.auth, BearerToken)
    assert staging.org_url == "https://staging-cwd.oktapreview.com"


def test_missing_org_url_says_where_to_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in list(os.environ):
        if var.startswith("OKTA_CLIENT_"):
            monkeypatch.delenv(var)
    with pytest.raises(ConfigurationError, match="OKTA_CLIENT_ORGURL"):
        OktaClient.from_config(token="x")
    with pytest.raises(ConfigurationError, match="OKTA_CLIENT_TOKEN"):
        OktaClient.from_config(org_url="https://acme.okta.com")


def test_secrets_never_in_config_errors_or_reprs(tmp_path: Path) -> None:
    secret = "SUPERSECRETTOKENVALUE123"
    s = load_settings(
        env={}, cwd=tmp_path, home=tmp_path, token=secret, org_url="https://a.okta.com"
    )
    assert secret not in repr(s)
    (tmp_path / "okta.yaml").write_text(f"okta:\n  client:\n    token: [{secret}]\n")
    os.chmod(tmp_path / "okta.yaml", 0o600)
    with pytest.raises(ConfigurationError) as info2:
        load_settings(env={}, cwd=tmp_path, home=tmp_path / "x")
    assert secret not in str(info2.value)


def test_a_private_key_file_with_loose_permissions_warns(tmp_path: Path) -> None:
    key = tmp_path / "service.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    os.chmod(key, 0o644)
    env = {"OKTA_CLIENT_AUTHORIZATIONMODE": "PrivateKey", "OKTA_CLIENT_PRIVATEKEY": str(key)}
    with pytest.warns(UserWarning, match=r"private key.*chmod 600"):
        s = load_settings(env=env, cwd=tmp_path, home=tmp_path / "nohome")
    assert s.private_key == str(key)
    os.chmod(key, 0o600)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_settings(env=env, cwd=tmp_path, home=tmp_path / "nohome")
        # PEM text in the variable is not a path: nothing to check
        load_settings(
            env={**env, "OKTA_CLIENT_PRIVATEKEY": key.read_text()},
            cwd=tmp_path,
            home=tmp_path / "nohome",
        )


def test_a_long_key_that_is_not_a_path_neither_crashes_nor_leaks(tmp_path: Path) -> None:
    # Regression: base64 key material without PEM armour was probed as a file path, and
    # Path.is_file() raised OSError(ENAMETOOLONG) carrying the whole value.
    material = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" * 20 + "SECRETKEYMATERIAL"
    settings = load_settings(
        env={},
        cwd=tmp_path,
        home=tmp_path,
        org_url="https://acme.okta.com",
        authorization_mode="PrivateKey",
        client_id="0oaCLIENT",
        private_key=material,
    )
    assert settings.private_key == material
    assert "SECRETKEYMATERIAL" not in repr(settings)


OFFICIAL_YAML = """
okta:
  client:
    orgUrl: https://acme.okta.com
    token: tok-config-123
    connectionTimeout: 7
    requestTimeout: 0
    userAgent: my-app
    cache:
      enabled: false
      defaultTtl: 300
    logging:
      enabled: true
      logLevel: INFO
    rateLimit:
      maxRetries: 2
    proxy:
      host: proxy.corp
      port: 3128
      username: svc
      password: "pr0xy-PASS-word"
    caBundle: {bundle}
  testing:
    testingDisableHttpsCheck: false
"""


def _yaml(tmp_path: Path, text: str) -> tuple[Path, Path]:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    (cwd / "okta.yaml").write_text(text)
    os.chmod(cwd / "okta.yaml", 0o600)
    return home, cwd


def test_official_layout_maps_timeouts_proxy_and_ca_bundle_without_warnings(
    tmp_path: Path,
) -> None:
    import ssl

    bundle = Path(ssl.get_default_verify_paths().cafile or "/etc/ssl/certs/ca-certificates.crt")
    home, cwd = _yaml(tmp_path, OFFICIAL_YAML.format(bundle=bundle))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no unknown-key warning for official keys
        settings = load_settings(env={}, cwd=cwd, home=home)
    assert settings.connect_timeout == 7 and settings.request_timeout == 0
    timeouts = settings.timeouts()
    assert (timeouts.connect, timeouts.deadline) == (7, 180.0)  # 0: our default, not "never"
    assert settings.proxy == "http://svc:pr0xy-PASS-word@proxy.corp:3128"
    assert "pr0xy-PASS-word" not in repr(settings)
    assert settings.ca_bundle == str(bundle)
    assert settings.sources["proxy"].endswith("proxy")


def test_request_timeout_becomes_the_deadline(tmp_path: Path) -> None:
    home, cwd = _yaml(
        tmp_path,
        "okta:\n  client:\n    orgUrl: https://a.okta.com\n    token: t\n"
        "    requestTimeout: 45\n    connectionTimeout: 0\n",
    )
    settings = load_settings(env={}, cwd=cwd, home=home)
    assert settings.timeouts() == Timeouts(connect=10.0, deadline=45.0)
    env = {"OKTA_CLIENT_REQUESTTIMEOUT": "12.5", "OKTA_CLIENT_CONNECTIONTIMEOUT": "3"}
    assert load_settings(env=env, cwd=cwd, home=home).timeouts() == Timeouts(
        connect=3.0, deadline=12.5
    )


@pytest.mark.parametrize("value", ["-1", "soon", "[1]", "true"])
def test_bad_timeouts_are_refused(tmp_path: Path, value: str) -> None:
    home, cwd = _yaml(
        tmp_path, f"okta:\n  client:\n    orgUrl: https://a.okta.com\n    requestTimeout: {value}\n"
    )
    with pytest.raises(ConfigurationError) as info:
        load_settings(env={}, cwd=cwd, home=home)
    assert info.value.argument == "request_timeout"


def test_unknown_keys_get_one_warning_each_naming_them(tmp_path: Path) -> None:
    home, cwd = _yaml(
        tmp_path,
        "okta:\n  client:\n    orgUrl: https://a.okta.com\n    conectionTimeout: 5\n"
        "    proxy:\n      hots: x\n    rateLimit:\n      maxRetrys: 1\n  clinet: {}\n",
    )
    with pytest.warns(UserWarning, match="is not a setting of okta.yaml") as record:
        load_settings(env={}, cwd=cwd, home=home)
    named = sorted(str(w.message).split(": ", 1)[1].split(" is not")[0] for w in record)
    assert named == [
        "okta.client.conectionTimeout",
        "okta.client.proxy.hots",
        "okta.client.rateLimit.maxRetrys",
        "okta.clinet",
    ]


def test_proxy_from_the_environment_variables(tmp_path: Path) -> None:
    home, cwd = _yaml(tmp_path, "okta:\n  client:\n    orgUrl: https://a.okta.com\n")
    env = {
        "OKTA_CLIENT_PROXY_HOST": "proxy.corp",
        "OKTA_CLIENT_PROXY_PORT": "8080",
        "OKTA_CLIENT_PROXY_USERNAME": "u",
        "OKTA_CLIENT_PROXY_PASSWORD": "p@ss word",
    }
    settings = load_settings(env=env, cwd=cwd, home=home)
    assert settings.proxy == "http://u:p%40ss%20word@proxy.corp:8080"


def test_from_config_passes_proxy_and_timeouts_to_the_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cwd = _yaml(
        tmp_path,
        "okta:\n  client:\n    orgUrl: https://a.okta.com\n    token: tok-1\n"
        "    requestTimeout: 30\n    proxy:\n      host: 127.0.0.1\n      port: 3128\n"
        "      username: u\n      password: hidden-PROXY-pw\n",
    )
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    for var in [v for v in os.environ if v.startswith("OKTA_CLIENT_")]:
        monkeypatch.delenv(var)
    okta = OktaClient.from_config()
    assert okta.timeouts.deadline == 30
    shown = repr(okta.transport)
    assert "127.0.0.1:3128" in shown and "hidden-PROXY-pw" not in shown


@pytest.mark.parametrize(
    "host",
    [
        "http://svc:Pa55-SECRET-word@proxy.corp",
        "svc:Pa55-SECRET-word@proxy.corp",
        "proxy.corp:3128",
        "proxy corp",
        "[::1",
        "proxy.corp/x",
    ],
)
def test_a_proxy_host_that_is_not_a_host_is_refused_without_echo(tmp_path: Path, host: str) -> None:
    home, cwd = _yaml(
        tmp_path,
        f"okta:\n  client:\n    orgUrl: https://a.okta.com\n    proxy:\n      host: '{host}'\n",
    )
    with pytest.raises(ConfigurationError) as info:
        load_settings(env={}, cwd=cwd, home=home)
    assert info.value.argument == "proxy"
    assert "Pa55-SECRET-word" not in str(info.value)
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_explicit_timeouts_win_over_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, cwd = _yaml(
        tmp_path,
        "okta:\n  client:\n    orgUrl: https://a.okta.com\n    token: t\n"
        "    connectionTimeout: 3\n    requestTimeout: 5\n",
    )
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    for var in [v for v in os.environ if v.startswith("OKTA_CLIENT_")]:
        monkeypatch.delenv(var)
    mine = Timeouts(connect=1, total=2, deadline=30)
    assert OktaClient.from_config(timeouts=mine).timeouts == mine
    assert OktaClient.from_config().timeouts == Timeouts(connect=3, deadline=5)
