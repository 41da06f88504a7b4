# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's Management Server REST API handler, called directly (no server)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from urllib.parse import urlencode

import pytest

from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import restapi

SETTINGS = {"api_user": "inventory", "api_password": "S3cret-pass!", "token_secret": "lab-secret"}  # noqa: S105
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GRANT = {
    "grant_type": "password",
    "username": "inventory",
    "password": "S3cret-pass!",  # noqa: S105 - the lab's test password
    "client_id": "GrantValidatorClient",
}


def _id(name):
    return str(uuid.uuid5(uuid.NAMESPACE_DNS, name))


def records():
    base = {"address": "127.0.0.9", "enabled": True, "failover_group": None, "hot_standby": None}
    return [
        dict(base, name="mgmt01.lab.xprotect.test", roles=["management"], id=_id("mgmt01")),
        dict(base, name="rs001.lab.xprotect.test", roles=["recording"], id=_id("rs001"), failover_group="FG 1"),
        dict(base, name="rs002.lab.xprotect.test", roles=["recording"], id=_id("rs002").upper(), enabled=False),
        dict(
            base,
            name="rs003.lab.xprotect.test",
            roles=["recording"],
            id=_id("rs003"),
            hot_standby="fo02.lab.xprotect.test",
        ),
        dict(base, name="fo01.lab.xprotect.test", roles=["failover"], id=_id("fo01"), failover_group="FG 1"),
        dict(base, name="fo02.lab.xprotect.test", roles=["failover"], id=_id("fo02")),
        dict(base, name="fo03.lab.xprotect.test", roles=["failover"], id=_id("fo03"), failover_group="FG 1"),
        dict(base, name="mob01.lab.xprotect.test", roles=["mobile"], id=_id("mob01")),
    ]


def call(method, path, headers=None, body=b"", *, settings=None, recs=None):
    status, out_headers, payload = restapi.handle(
        records() if recs is None else recs, dict(settings or SETTINGS), method, path, headers or {}, body
    )
    try:
        data = json.loads(payload) if payload else None
    except ValueError:
        data = payload
    return status, out_headers, data


def token(settings=None, path="/API/IDP/connect/token"):
    form = {
        "grant_type": "password",
        "username": "inventory",
        "password": "S3cret-pass!",
        "client_id": "GrantValidatorClient",
    }
    status, _headers, data = call("POST", path, FORM, urlencode(form).encode(), settings=settings)
    assert status == 200, data
    return data["access_token"]


def get(path, settings=None, recs=None):
    return call("GET", path, {"Authorization": "Bearer " + token(settings)}, settings=settings, recs=recs)


# ---- token endpoint ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/API/IDP/connect/token", "/IDP/connect/token", "/idp/Connect/Token/"])
def test_password_grant_gives_a_bearer_token(path):
    form = urlencode(
        {
            "grant_type": "password",
            "username": "inventory",
            "password": "S3cret-pass!",
            "client_id": "GrantValidatorClient",
        }
    )
    status, headers, data = call("POST", path, FORM, form.encode())
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert data["token_type"] == "Bearer"  # noqa: S105
    assert data["expires_in"] == 3600
    assert data["access_token"].startswith("lab.")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (dict(GRANT, password="wrong"), "invalid_grant"),  # noqa: S106
        (dict(GRANT, username="other"), "invalid_grant"),
        (dict(GRANT, username="", password=""), "invalid_grant"),
        (dict(GRANT, client_id="Other"), "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "GrantValidatorClient"}, "unsupported_grant_type"),
    ],
)  # fmt: skip
def test_bad_token_requests_get_400_as_identityserver(form, error):
    status, _headers, data = call("POST", "/IDP/connect/token", FORM, urlencode(form).encode())
    assert status == 400
    assert data["error"] == error
    assert "access_token" not in data


def test_token_endpoint_wants_post_and_a_form():
    assert call("GET", "/IDP/connect/token")[0] == 405
    status, _headers, data = call("POST", "/IDP/connect/token", {"Content-Type": "application/json"}, b"{}")
    assert (status, data["error"]) == (400, "invalid_request")
    status, _headers, data = call("POST", "/IDP/connect/token", FORM, b"\xff\xfe")
    assert (status, data["error"]) == (400, "invalid_request")


def test_token_survives_a_restart_but_not_another_secret():
    tok = token()
    # A new call with the same settings is what a restarted site process does.
    assert restapi.check_token(dict(SETTINGS), tok) == "inventory"
    other = dict(SETTINGS, token_secret="other")  # noqa: S106
    assert restapi.check_token(other, tok) is None


def test_expired_forged_and_missing_tokens_get_401():
    tok = token(dict(SETTINGS, now=1000.0, token_lifetime=60))
    for settings in (dict(SETTINGS, now=1059.0), dict(SETTINGS, now=1060.0)):
        status, headers, data = call(
            "GET", "/api/rest/v1/recordingServers", {"Authorization": "Bearer " + tok}, settings=settings
        )
        expect = 200 if settings["now"] < 1060 else 401
        assert status == expect
    payload = tok.split(".")[1]
    forged = "lab." + payload + "." + base64.urlsafe_b64encode(b"x" * 32).decode().rstrip("=")
    for auth in (
        {},
        {"Authorization": "Bearer " + forged},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer a.b"},
    ):
        status, headers, data = call("GET", "/api/rest/v1/recordingServers", auth)
        assert status == 401
        assert headers["WWW-Authenticate"] == "Bearer"
        assert data["error"]["httpCode"] == 401


def test_token_with_bad_payload_is_refused():
    settings = dict(SETTINGS)
    payload = "bm90LWpzb24"  # "not-json"
    sig = (
        base64.urlsafe_b64encode(hmac.new(b"lab-secret", payload.encode(), hashlib.sha256).digest())
        .decode()
        .rstrip("=")
    )
    assert restapi.check_token(settings, f"lab.{payload}.{sig}") is None


# ---- REST resources -----------------------------------------------------------------------


def test_recording_servers_lists_enabled_servers_under_array():
    status, _headers, data = get("/api/rest/v1/recordingServers")
    assert status == 200
    names = [item["name"] for item in data["array"]]
    assert names == ["rs001", "rs003"]
    item = data["array"][0]
    assert item["webServerUri"] == "http://rs001.lab.xprotect.test:7563/"
    assert item["hostName"] == "rs001.lab.xprotect.test"
    assert item["portNumber"] == 7563
    assert item["id"] == _id("rs001")
    for key in (
        "displayName",
        "enabled",
        "activeWebServerUri",
        "publicAccessEnabled",
        "publicWebserverHostName",
        "publicWebserverPort",
    ):
        assert key in item
    assert item["relations"]["self"] == {"type": "recordingServers", "id": _id("rs001")}
    assert item["relations"]["parent"] == {"type": "sites", "id": _id("mgmt01")}


def test_disabled_servers_only_with_the_disabled_query():
    status, _headers, data = get("/api/rest/v1/recordingServers?disabled")
    assert [i["name"] for i in data["array"]] == ["rs001", "rs002", "rs003"]
    assert [i["enabled"] for i in data["array"]] == [True, False, True]
    # Ids come back lower case, whatever case the lab stored.
    assert data["array"][1]["id"] == _id("rs002")


def test_single_items_come_under_data_and_unknown_ids_under_error():
    status, _headers, data = get(f"/api/rest/v1/recordingServers/{_id('rs001').upper()}")
    assert status == 200
    assert data["data"]["name"] == "rs001"
    status, _headers, data = get(f"/api/rest/v1/recordingServers/{_id('nope')}")
    assert status == 404
    assert "not found" in data["error"]["details"][0]["errorText"]
    assert get(f"/api/rest/v1/recordingServers/{_id('rs001')}/hardware")[0] == 404


def test_failover_settings_of_a_recording_server():
    status, _headers, data = get(f"/api/rest/v1/recordingServers/{_id('rs001')}/recordingServerFailovers")
    (settings,) = data["array"]
    group_id = restapi.stable_id("failoverGroups", "FG 1")
    assert settings["primaryFailoverGroup"] == f"FailoverGroup[{group_id}]"
    assert settings["secondaryFailoverGroup"] == "FailoverGroup[00000000-0000-0000-0000-000000000000]"
    assert settings["hotStandby"] == ""
    assert settings["failoverPort"] == 11000
    assert settings["relations"]["parent"] == {"type": "recordingServers", "id": _id("rs001")}
    status, _headers, data = get(f"/api/rest/v1/recordingServers/{_id('rs003')}/recordingServerFailovers")
    assert data["array"][0]["hotStandby"] == f"FailoverRecorder[{_id('fo02')}]"
    assert data["array"][0]["primaryFailoverGroup"].endswith("[00000000-0000-0000-0000-000000000000]")


def test_all_failover_settings_in_one_list_and_its_absence():
    status, _headers, data = get("/api/rest/v1/recordingServerFailovers")
    assert status == 200
    assert {i["relations"]["parent"]["id"] for i in data["array"]} == {_id("rs001"), _id("rs002"), _id("rs003")}
    status, _headers, data = get(f"/api/rest/v1/recordingServerFailovers/{_id('rs003')}")
    assert data["data"]["hotStandby"].startswith("FailoverRecorder[")
    assert get(f"/api/rest/v1/recordingServerFailovers/{_id('nope')}")[0] == 404
    status, _headers, data = get("/api/rest/v1/recordingServerFailovers", dict(SETTINGS, bulk_failover_settings=False))
    assert status == 404
    assert "error" in data


def test_failover_groups_and_their_recorders():
    status, _headers, data = get("/api/rest/v1/failoverGroups")
    (group,) = data["array"]
    assert group["name"] == "FG 1"
    assert group["id"] == restapi.stable_id("failoverGroups", "FG 1")
    status, _headers, data = get(f"/api/rest/v1/failoverGroups/{group['id']}")
    assert data["data"]["name"] == "FG 1"
    status, _headers, data = get(f"/api/rest/v1/failoverGroups/{group['id']}/failoverRecorders")
    members = data["array"]
    assert [m["name"] for m in members] == ["fo01", "fo03"]
    assert [m["position"] for m in members] == [0, 1]
    assert members[0]["udpPort"] == 8844
    assert members[0]["databasePath"]
    assert members[0]["relations"]["parent"] == {"type": "failoverGroups", "id": group["id"]}
    assert get(f"/api/rest/v1/failoverGroups/{_id('nope')}")[0] == 404
    assert get(f"/api/rest/v1/failoverGroups/{group['id']}/other")[0] == 404


def test_failover_recorders_lists_grouped_and_loose_ones():
    status, _headers, data = get("/api/rest/v1/failoverRecorders")
    assert [m["name"] for m in data["array"]] == ["fo01", "fo02", "fo03"]
    loose = data["array"][1]
    assert loose["relations"]["parent"]["type"] == "sites"
    status, _headers, data = get(f"/api/rest/v1/failoverRecorders/{_id('fo02')}")
    assert data["data"]["webServerUri"] == "http://fo02.lab.xprotect.test:7563/"
    assert get(f"/api/rest/v1/failoverRecorders/{_id('nope')}")[0] == 404


def test_disabled_failover_recorders_are_hidden_unless_asked():
    recs = records()
    recs[4]["enabled"] = False
    status, _headers, data = get("/api/rest/v1/failoverRecorders", recs=recs)
    assert [m["name"] for m in data["array"]] == ["fo02", "fo03"]
    status, _headers, data = get("/api/rest/v1/failoverRecorders?disabled", recs=recs)
    assert [m["name"] for m in data["array"]] == ["fo01", "fo02", "fo03"]


def test_a_site_without_failover_servers():
    recs = [r for r in records() if "failover" not in r["roles"]]
    assert get("/api/rest/v1/failoverGroups", recs=recs)[2] == {"array": []}
    assert get("/api/rest/v1/failoverRecorders", recs=recs)[2] == {"array": []}


def test_paths_are_case_insensitive_and_unknown_ones_404():
    assert get("/API/Rest/V1/RecordingServers")[0] == 200
    status, _headers, data = get("/api/rest/v1/cameras")
    assert status == 404
    assert data["error"]["details"][0]["errorText"].startswith("No such resource")
    assert get("/api/rest/v1/")[0] == 404
    status, headers, body = call("GET", "/index.html")
    assert status == 404
    assert headers["Content-Type"].startswith("text/plain")


def test_only_get_is_served():
    status, headers, data = call("POST", "/api/rest/v1/recordingServers", {"Authorization": "Bearer " + token()})
    assert status == 405
    assert headers["Allow"] == "GET"


# ---- Windows users: NTLM --------------------------------------------------------------------

try:
    import spnego
except ImportError:  # pragma: no cover - pyspnego comes with pywinrm
    spnego = None
needs_spnego = pytest.mark.skipif(spnego is None, reason="pyspnego (a pywinrm dependency) is not installed")
WINDOWS = dict(SETTINGS, windows_user="LAB\\svc-inventory", windows_password="W1ndows!")  # noqa: S106
WIN_FORM = urlencode({"grant_type": "windows_credentials", "client_id": "GrantValidatorClient"}).encode()


def ntlm_logon(user, password, settings, path="/IDP/connect/token"):
    client = spnego.client(
        user, password, protocol="ntlm", hostname="mgmt01", service="http", options=spnego.NegotiateOptions.use_ntlm
    )
    status, headers, _body = call("POST", path, FORM, WIN_FORM, settings=settings)
    assert status == 401
    assert "NTLM" in headers["WWW-Authenticate"]
    negotiate = base64.b64encode(client.step()).decode()
    status, headers, _body = call(
        "POST", path, dict(FORM, Authorization="NTLM " + negotiate), WIN_FORM, settings=settings
    )
    assert status == 401
    challenge = base64.b64decode(headers["WWW-Authenticate"].split(" ", 1)[1])
    authenticate = base64.b64encode(client.step(challenge)).decode()
    return call("POST", path, dict(FORM, Authorization="NTLM " + authenticate), WIN_FORM, settings=settings)


@needs_spnego
def test_ntlm_logon_with_the_right_password_gets_a_token():
    status, _headers, data = ntlm_logon("LAB\\svc-inventory", "W1ndows!", WINDOWS)
    assert status == 200
    assert restapi.check_token(WINDOWS, data["access_token"]) == "LAB\\svc-inventory"


@needs_spnego
@pytest.mark.parametrize(
    ("user", "password"),
    [("LAB\\svc-inventory", "wrong"), ("LAB\\someone", "W1ndows!"), ("OTHER\\svc-inventory", "W1ndows!")],
)
def test_ntlm_logon_with_a_wrong_user_or_password_is_refused(user, password):
    status, _headers, data = ntlm_logon(user, password, WINDOWS)
    assert status == 400
    assert data["error"] == "invalid_grant"


@needs_spnego
@pytest.mark.parametrize(
    ("user", "password"), [("LAB\\anyone", "anything"), ("inventory", "wrong"), ("OTHER\\inventory2", "S3cret-pass!")]
)
def test_ntlm_without_a_windows_user_grants_only_the_api_user(user, password):
    """A lab site configures only the REST API user: a completed handshake of another account, or
    of that user with a wrong password, gets no token."""
    status, _headers, data = ntlm_logon(user, password, SETTINGS)
    assert status == 400
    assert data["error"] == "invalid_grant"
    status, _headers, data = ntlm_logon("inventory", SETTINGS["api_password"], SETTINGS)
    assert status == 200
    assert restapi.check_token(SETTINGS, data["access_token"]) == "inventory"


@needs_spnego
def test_ntlm_with_no_account_configured_grants_nothing():
    settings = {"token_secret": "lab-secret"}
    status, _headers, data = ntlm_logon("LAB\\anyone", "anything", settings)
    assert status == 400 and data["error"] == "invalid_grant"


def test_ntlm_is_not_passed_through_the_gateway():
    status, _headers, data = call("POST", "/API/IDP/connect/token", FORM, WIN_FORM, settings=WINDOWS)
    assert status == 400
    assert data["error"] == "invalid_grant"


def test_ntlm_garbage_is_refused():
    for blob in (
        "!!!",
        base64.b64encode(b"not ntlm at all").decode(),
        base64.b64encode(b"NTLMSSP\x00\x03\x00\x00\x00").decode(),
    ):
        status, _headers, data = call(
            "POST", "/IDP/connect/token", dict(FORM, Authorization="NTLM " + blob), WIN_FORM, settings=WINDOWS
        )
        assert status == 400
        assert data["error"] == "invalid_grant"


def test_ntlmv1_responses_are_refused_when_a_password_is_set():
    assert restapi.verify_ntlmv2(WINDOWS, "svc-inventory", "LAB", "W1ndows!", b"\x00" * 24) is False


@pytest.mark.parametrize(
    ("data", "digest"),
    [
        (b"", "31d6cfe0d16ae931b73c59d7e0c089c0"),
        (b"abc", "a448017aaf21d8525fc10ae87aa6729d"),
        (b"message digest", "d9130a8164549fe818874806e1c7014b"),
        (b"1234567890" * 8, "e33b4ddc9c38f2199c3e7b164fcc0536"),
    ],
)
def test_md4_matches_rfc1320(data, digest):
    assert restapi._md4(data).hex() == digest


def test_challenge_message_is_well_formed():
    message = restapi.ntlm_challenge(SETTINGS)
    assert message.startswith(b"NTLMSSP\x00\x02\x00\x00\x00")
    assert restapi.parse_ntlm(message) == (2, {})
    assert restapi.parse_ntlm(b"short") == (0, {})
