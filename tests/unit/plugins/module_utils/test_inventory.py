# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of the inventory plugin: URLs, replies, records, hosts, groups and messages."""

from __future__ import annotations

import pytest

from ansible_collections.xprotect.encryption.plugins.module_utils import inventory as inv

GROUP = "27d6c895-6c73-4192-b58a-6e6055fd9353"
FO1 = "936631d8-cd32-408e-a876-c8fe7a7c67ea"
FO2 = "11111111-2222-3333-4444-555555555555"
RS1 = "19f94d50-b5ad-4e90-8b3f-9928bb60f9f2"
RS2 = "29f94d50-b5ad-4e90-8b3f-9928bb60f9f2"


def rs_item(rid, host, enabled=True, **extra):
    # Shaped like a real reply: short hostName, webServerUri with the host the server registered.
    item = {
        "displayName": host.split(".")[0].upper(),
        "enabled": enabled,
        "id": rid.upper(),
        "name": host.split(".")[0].upper(),
        "hostName": host.split(".")[0],
        "portNumber": 7563,
        "webServerUri": f"http://{host.upper()}:7563/",
        "relations": {"parent": {"type": "sites", "id": "fc9e48ce"}, "self": {"type": "recordingServers", "id": rid}},
    }
    item.update(extra)
    return item


def fo_item(fid, host, parent=None, **extra):
    item = rs_item(fid, host, udpPort=8844, position=0, databasePath="D:\\db")
    item["relations"] = {
        "parent": parent or {"type": "sites", "id": "fc9e48ce"},
        "self": {"type": "failoverRecorders", "id": fid},
    }
    item.update(extra)
    return item


def settings_item(owner, primary=GROUP, standby=FO2, with_relations=True):
    item = {
        "displayName": "Failover settings",
        "id": owner,
        "primaryFailoverGroup": f"FailoverGroup[{primary}]",
        "secondaryFailoverGroup": "FailoverGroup[00000000-0000-0000-0000-000000000000]",
        "hotStandby": f"FailoverRecorder[{standby}]" if standby else "",
        "failoverPort": 11000,
    }
    if with_relations:
        item["relations"] = {"parent": {"type": "recordingServers", "id": owner.upper()}}
    return item


def site_records():
    return inv.build_records(
        [rs_item(RS1, "rs01.example.com"), rs_item(RS2, "rs02.example.com", enabled=False)],
        [{"id": GROUP.upper(), "name": "Group A", "displayName": "Group A"}],
        {GROUP.upper(): [fo_item(FO1, "fo01.example.com", {"type": "failoverGroups", "id": GROUP})]},
        [fo_item(FO1, "fo01.example.com"), fo_item(FO2, "fo02.example.com")],
        inv.assignments_by_server([settings_item(RS1), settings_item(RS2, primary=inv.NULL_GUID, standby=None)]),
    )


# ---- URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://ms.example.com", "https://ms.example.com"),
        ("  HTTPS://MS.example.com:8443/ ", "https://MS.example.com:8443"),
        ("http://127.0.0.5:10080/xprotect/", "http://127.0.0.5:10080/xprotect"),
    ],
)
def test_normalize_url(url, expected):
    assert inv.normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "url is empty"),
        ("ms.example.com", "not an http(s) URL"),
        ("ftp://ms.example.com", "not an http(s) URL"),
        ("https://admin:Secret@ms.example.com", "carries credentials"),
        ("https://ms.example.com/?x=1", "query or fragment"),
    ],
)
def test_normalize_url_refuses_what_it_cannot_use(url, says):
    with pytest.raises(inv.InventoryError) as err:
        inv.normalize_url(url)
    assert says in str(err.value)
    assert "Secret" not in str(err.value)


def test_redact_url_drops_user_information():
    assert inv.redact_url("https://u:p@ms:443/a?b=1#f") == "https://ms:443/a?b=1"
    assert inv.redact_url("http://[::1") == "<unparsable URL>"


def test_token_urls_and_forms():
    assert inv.token_urls("https://ms", "basic") == ["https://ms/API/IDP/connect/token", "https://ms/IDP/connect/token"]
    assert inv.token_urls("https://ms", "windows") == ["https://ms/IDP/connect/token"]
    assert inv.token_form("basic", "u", "p") == {
        "grant_type": "password",
        "username": "u",
        "password": "p",
        "client_id": "GrantValidatorClient",
    }
    form = inv.token_form("windows", "LAB\\u", "p")
    assert form == {"grant_type": "windows_credentials", "client_id": "GrantValidatorClient"}


def test_api_url():
    assert inv.api_url("https://ms", "recordingServers") == "https://ms/api/rest/v1/recordingServers"
    assert inv.api_url("https://ms", "/failoverRecorders/", True) == "https://ms/api/rest/v1/failoverRecorders?disabled"


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        ("http://WIN10VM:7563/", "win10vm"),
        ("https://rs01.Example.com.:7563/", "rs01.example.com"),
        ("rs01.example.com:7563", "rs01.example.com"),
        ("rs01", "rs01"),
        ("http://[fd00::1]:7563/", "fd00::1"),
        ("", None),
        ("   ", None),
        (None, None),
        (7563, None),
        ("http://[fd00::1", None),
        ("http://:7563/", None),
    ],
)
def test_host_from_uri(uri, host):
    assert inv.host_from_uri(uri) == host


def test_management_host():
    assert inv.management_host("https://MS.example.com:443") == "ms.example.com"
    assert inv.management_host("http://127.0.0.2:10080", " MGMT01.lab.xprotect.test ") == "mgmt01.lab.xprotect.test"
    with pytest.raises(inv.InventoryError):
        inv.management_host("not a url")


def test_management_host_defaults_to_the_tls_server_name():
    url = "https://10.20.0.5"
    assert inv.management_host(url, None, "MS.example.com") == "ms.example.com"
    assert inv.management_host(url, "alias.example.com", "ms.example.com") == "alias.example.com"
    assert inv.management_host(url, "", None) == "10.20.0.5"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, None),
        ("  ", None),
        (" MGMT01.Lab.XProtect.Test. ", "mgmt01.lab.xprotect.test"),
        ("ms", "ms"),
        ("10.20.0.5", "10.20.0.5"),
        ("[fd00::5]", "fd00::5"),
    ],
)
def test_normalize_server_name(name, expected):
    assert inv.normalize_server_name(name) == expected


@pytest.mark.parametrize(
    "name", ["https://ms.example.com", "ms.example.com:443", "ms.example.com/api", "ms example", "[fd00::5]:443"]
)
def test_normalize_server_name_refuses_what_is_not_a_host_name(name):
    with pytest.raises(inv.InventoryError) as err:
        inv.normalize_server_name(name)
    assert f"Option tls_server_name {name!r} is not a host name" in str(err.value)
    assert "no scheme, port or path" in str(err.value)


# ---- replies ------------------------------------------------------------------------------


def test_list_from_reply():
    assert inv.list_from_reply({"array": [{"id": 1}]}, "u") == [{"id": 1}]
    assert inv.list_from_reply({"array": []}, "u") == []


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        ([], "is a JSON list, not an object"),
        ({"data": {"id": 1}}, "has no 'array' list (keys: data)"),
        ({"error": {"httpCode": 500, "details": [{"errorText": "Boom"}]}}, "(keys: error): Boom"),
        ({}, "(keys: none)"),
        ({"array": {"id": 1}}, "not a list of objects"),
        ({"array": ["a"]}, "not a list of objects"),
    ],
)
def test_list_from_reply_says_what_is_wrong(reply, says):
    with pytest.raises(inv.InventoryError) as err:
        inv.list_from_reply(reply, "https://u:pw@ms/api/rest/v1/recordingServers")
    text = str(err.value)
    assert says in text
    assert "https://ms/api/rest/v1/recordingServers" in text
    assert "pw" not in text


@pytest.mark.parametrize(
    ("reply", "text"),
    [
        ({"error": "invalid_grant", "error_description": "invalid_username_or_password"},
         "invalid_grant (invalid_username_or_password)"),
        ({"error": "invalid_client"}, "invalid_client"),
        ({"error": {"details": [{"errorText": "A"}, {"errorText": "B"}, "junk"], "message": "C"}}, "A; B; C"),
        ({"error": 3}, ""),
        (["error"], ""),
        ({}, ""),
    ],
)  # fmt: skip
def test_error_text(reply, text):
    assert inv.error_text(reply) == text


@pytest.mark.parametrize(
    ("value", "guid"),
    [
        (f"FailoverGroup[{GROUP.upper()}]", GROUP),
        (f" FailoverRecorder[{FO1}] ", FO1),
        (FO1, FO1),
        ("FailoverGroup[00000000-0000-0000-0000-000000000000]", None),
        ("", None),
        (None, None),
        ("FailoverGroup[not-a-guid]", None),
    ],
)
def test_parse_reference(value, guid):
    assert inv.parse_reference(value) == guid


def test_assignments_by_server_uses_the_parent_then_the_id():
    result = inv.assignments_by_server([settings_item(RS1), settings_item(RS2.upper(), with_relations=False), {}])
    assert set(result) == {RS1, RS2}


# ---- records --------------------------------------------------------------------------------


def test_build_records_resolves_groups_hot_standby_and_names():
    records = site_records()
    by_id = {r["id"]: r for r in records}
    assert [r["kind"] for r in records] == ["recording_server"] * 2 + ["failover_server"] * 2
    rs1 = by_id[RS1]
    assert rs1["host"] == "rs01.example.com"
    assert rs1["name"] == "RS01"
    assert "relations" not in rs1
    assert rs1["failoverGroup"] == "Group A"
    assert rs1["secondaryFailoverGroup"] is None
    assert rs1["hotStandby"] == "fo02.example.com"
    assert rs1["hotStandbyId"] == FO2
    assert rs1["failoverPort"] == 11000
    rs2 = by_id[RS2]
    assert (rs2["failoverGroup"], rs2["hotStandby"], rs2["hotStandbyId"]) == (None, None, None)
    # fo01 is listed both in its group and in failoverRecorders: once, with its group.
    assert by_id[FO1]["failoverGroup"] == "Group A"
    assert by_id[FO2]["failoverGroup"] is None


def test_build_records_takes_a_loose_recorders_group_from_its_parent():
    records = inv.build_records(
        [],
        [{"id": GROUP, "name": "Group A"}],
        {},
        [fo_item(FO1, "fo01.example.com", {"type": "failoverGroups", "id": GROUP.upper()})],
    )
    assert records[0]["failoverGroup"] == "Group A"


def test_build_records_without_assignments_or_with_unknown_groups():
    records = inv.build_records([rs_item(RS1, "rs01.example.com")])
    assert records[0]["failoverGroup"] is None
    assert "failoverPort" not in records[0]
    records = inv.build_records([rs_item(RS1, "rs01.example.com")], assignments={RS1: settings_item(RS1, standby=None)})
    # A group the API did not list keeps its id, so that it is still visible.
    assert records[0]["failoverGroup"] == GROUP


def test_host_name_falls_back_to_host_name_field():
    item = rs_item(RS1, "rs01.example.com", webServerUri="")
    assert inv.inventory_name(item) == "rs01"
    assert inv.inventory_name({"hostName": "", "webServerUri": None}) is None


def test_select_records_leaves_out_disabled_servers_unless_asked():
    records = site_records()
    assert RS2 not in {r["id"] for r in inv.select_records(records, False, None)}
    assert RS2 in {r["id"] for r in inv.select_records(records, True, "")}


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("[?kind=='recording_server']", [RS1, RS2]),
        ("[?enabled && contains(name, 'FO')]", [FO1, FO2]),
        ("[?failoverGroup=='Group A']", [RS1, FO1]),
        ("[?hotStandby]", [RS1]),
        ("[?contains(name, 'nothing')]", []),
        ("missing_key", []),
    ],
)
def test_query_filters_records(query, ids):
    assert [r["id"] for r in inv.select_records(site_records(), True, query)] == ids


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("[?enabled", "is not a valid jmespath expression"),
        ("[].name", "returned a list of str, not records"),
        ("[0]", "returned dict, not records"),
        ("length(@)", "returned int, not records"),
        ("[].{name: name}", "returned a list of dict, not records"),
    ],
)
def test_query_must_return_records(query, says):
    with pytest.raises(inv.InventoryError) as err:
        inv.select_records(site_records(), True, query)
    assert says in str(err.value)
    assert query in str(err.value)


def test_query_without_jmespath(monkeypatch):
    monkeypatch.setattr(inv, "HAS_JMESPATH", False)
    with pytest.raises(inv.InventoryError, match="pip install jmespath"):
        inv.run_query([], "[]")


# ---- hosts and groups -----------------------------------------------------------------------


def test_build_inventory_fills_the_contract_groups():
    built = inv.build_inventory(
        inv.select_records(site_records(), False, None), "ms.example.com", {"xprotect_api_url": "https://ms"}
    )
    assert built.groups == {
        "xprotect_management_servers": ["ms.example.com"],
        "xprotect_recording_servers": ["rs01.example.com"],
        "xprotect_failover_servers": ["fo01.example.com", "fo02.example.com"],
    }
    assert built.hosts["ms.example.com"] == {"xprotect_api_url": "https://ms"}
    assert built.hosts["rs01.example.com"] == {
        "xprotect_id": RS1,
        "xprotect_name": "RS01",
        "xprotect_display_name": "RS01",
        "xprotect_enabled": True,
        "xprotect_web_server_uri": "http://RS01.EXAMPLE.COM:7563/",
        "xprotect_failover_group": "Group A",
        "xprotect_hot_standby": "fo02.example.com",
        "xprotect_failover_port": 11000,
    }
    fo1 = built.hosts["fo01.example.com"]
    assert fo1["xprotect_failover_group"] == "Group A"
    assert fo1["xprotect_failover_udp_port"] == 8844
    assert fo1["xprotect_failover_position"] == 0
    assert "xprotect_failover_group" not in built.hosts["fo02.example.com"]
    assert built.warnings == []


def test_a_combined_management_and_recording_server_is_in_both_groups():
    records = inv.build_records([rs_item(RS1, "ms.example.com")])
    built = inv.build_inventory(records, "ms.example.com", {"xprotect_api_url": "https://ms"})
    assert built.groups["xprotect_management_servers"] == ["ms.example.com"]
    assert built.groups["xprotect_recording_servers"] == ["ms.example.com"]
    assert built.hosts["ms.example.com"]["xprotect_api_url"] == "https://ms"
    assert built.hosts["ms.example.com"]["xprotect_id"] == RS1


def test_build_inventory_warns_about_servers_it_cannot_place():
    records = inv.build_records(
        [
            rs_item(RS1, "rs01.example.com"),
            rs_item(RS2, "rs01.example.com"),
            rs_item(FO1, "x", webServerUri="", hostName=""),
        ],
        assignments={RS1: settings_item(RS1, standby=FO1)},
    )
    built = inv.build_inventory(records, "ms")
    assert built.groups["xprotect_recording_servers"] == ["rs01.example.com"]
    assert built.hosts["rs01.example.com"]["xprotect_id"] == RS2  # the last one wins, and says so
    text = "\n".join(built.warnings)
    assert "Host rs01.example.com is named by RS01" in text
    assert "has neither webServerUri nor hostName" in text
    assert f"hot standby FailoverRecorder[{FO1}], which the API did not list" in text
    assert "include_disabled: true" in text


def test_host_vars_with_the_whole_record():
    record = site_records()[0]
    assert inv.host_vars(record, include_record=True)["xprotect_record"]["webServerUri"] == record["webServerUri"]
    assert "xprotect_record" not in inv.host_vars(record)


def test_summarize():
    assert inv.summarize(site_records()) == (2, 2)


# ---- messages: each names the URL and says what to do ------------------------------------------

URL = "https://ms.example.com/api/rest/v1/recordingServers"


@pytest.mark.parametrize(
    ("status", "phase", "detail", "says"),
    [
        (401, "token", "", "refused the credentials of basic user 'inv'"),
        (400, "token", "invalid_grant (invalid_username_or_password)", "Check username and password"),
        (400, "token", "unsupported_grant_type", "rejected the token request with 400"),
        (404, "token", "", "No identity provider"),
        (401, "api", "", "refused the access token (401)"),
        (403, "api", "", "Give the user a Milestone role"),
        (404, "api", "", "XProtect 2021 R2 or later"),
        (302, "api", "", "Set url to where it redirects"),
        (500, "api", "Boom", "answered HTTP 500 (Boom)"),
    ],
)
def test_msg_status(status, phase, detail, says):
    text = inv.msg_status(status, URL, phase=phase, username="inv", detail=detail)
    assert says in text
    assert "ms.example.com" in text


def test_msg_status_for_a_windows_user():
    text = inv.msg_status(401, URL, phase="token", username="LAB\\inv", auth_type="windows")
    assert "Windows user (NTLM) 'LAB\\\\inv'" in text


@pytest.mark.parametrize(
    ("detail", "ca_path", "says"),
    [
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number", None, "does not speak TLS"),
        ("Hostname mismatch, certificate is not valid for '127.0.0.1'", None, "never an IP address"),
        ("certificate verify failed: unable to get local issuer certificate", None, "set ca_path to that CA's PEM"),
        ("certificate verify failed: unable to get local issuer certificate", "/pki/ca.crt",
         "not trusted with ca_path '/pki/ca.crt'"),
    ],
)  # fmt: skip
def test_msg_tls(detail, ca_path, says):
    text = inv.msg_tls(URL, detail, ca_path)
    assert says in text
    assert URL in text


def test_msg_tls_with_a_tls_server_name():
    detail = "hostname 'ms.example.com' doesn't match 'other.example.com'"
    text = inv.msg_tls(URL, detail, "/pki/ca.crt", server_name="ms.example.com")
    assert f"The certificate of {URL} is not valid for tls_server_name 'ms.example.com'" in text
    assert "Set tls_server_name to the name the certificate was issued for" in text
    assert "set tls_server_name to the certificate's name" in inv.msg_tls(URL, detail, None)
    # Trust failures read the same with or without the option.
    untrusted = "certificate verify failed: unable to get local issuer certificate"
    assert inv.msg_tls(URL, untrusted, None, server_name="ms.example.com") == inv.msg_tls(URL, untrusted, None)


def test_msg_server_name_unused():
    text = inv.msg_server_name_unused("http://127.0.0.2:10080")
    assert "tls_server_name is set but url http://127.0.0.2:10080 is plain HTTP" in text
    assert "use https://" in text


@pytest.mark.parametrize(
    ("detail", "says"),
    [
        ("[Errno 111] Connection refused", "refused. Check url's scheme and port"),
        ("[Errno -2] Name or service not known", "Cannot resolve the host"),
        ("RemoteDisconnected('Remote end closed connection')", "try https://"),
        ("something else", "Cannot connect to"),
    ],
)
def test_msg_connection(detail, says):
    assert says in inv.msg_connection(URL, detail)


def test_other_messages_name_the_url():
    assert "within 2.5 s. Raise timeout" in inv.msg_timeout(URL, 2.5)
    text = inv.msg_not_json(URL, "<html>\n  <body>login</body></html>", "text/html")
    assert "is not JSON (text/html): '<html> <body>login</body></html>'" in text
    assert "no access_token (keys: error, token)" in inv.msg_token_reply(URL, ["token", "error"])
    assert "keys: none" in inv.msg_token_reply(URL, [])
    assert "not in this inventory" in inv.msg_no_failover_lists("https://u:p@ms.example.com")
    assert "u:p@" not in inv.msg_no_failover_lists("https://u:p@ms.example.com")
