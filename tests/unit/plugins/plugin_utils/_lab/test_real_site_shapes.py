# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shapes of real sites the lab models, read the way the rollout reads them.

The registry values of HTTP.sys bindings, a German console, a customer's own IIS binding on the
management server's host, a non-default install folder and a cold-standby failover server.
"""

from __future__ import annotations

import contextlib

import pytest
from lab_helpers import GUID, adapter, certreq, enable, trust, write_pki
from test_server import Running

from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _netsh, _services, hoststate
from ansible_collections.xprotect.encryption.plugins.plugin_utils import encryption_flow
from ansible_collections.xprotect.encryption.plugins.plugin_utils._lab import model, programs, site

DOMAIN = "lab.xprotect.test"
MS = f"mgmt01.{DOMAIN}"
RS = f"rs001.{DOMAIN}"
FO = f"fo01.{DOMAIN}"
MOB = f"mob01.{DOMAIN}"
INTRANET = f"intranet.{DOMAIN}:443"
D_MILESTONE = "D:\\Milestone"


def _site(tmp_path, ca, customer_binding=INTRANET):
    write_pki(tmp_path / "pki", ca)
    hosts = [
        {"name": MS, "roles": ["management"], "customer_binding": customer_binding},
        {"name": RS, "roles": ["recording"], "locale": "de-DE"},
        {"name": FO, "roles": ["failover"], "standby": "cold"},
        {"name": MOB, "roles": ["mobile"], "install_folder": D_MILESTONE},
    ]
    site.ensure_site(str(tmp_path / "site"), hosts=hosts, port_offset=0)
    return model.Site(str(tmp_path / "site"))


@pytest.fixture
def shaped(tmp_path, ca):
    return _site(tmp_path, ca)


def _ctx(lab, host, **extra):
    ctx = {
        "fqdn": host,
        "address": lab.by_name[host]["address"],
        "port_offset": lab.port(host, 7563) - 7563,
        "config_paths": {},
        "timeout": 2.0,
    }
    ctx.update(extra)
    return ctx


def _issue(lab, host, ca):
    trust(lab, host, ca)
    return certreq(lab, host, ca)


def _encrypt_management(lab, ca):
    # Recording and failover servers can only follow the management server's state.
    assert enable(lab, MS, "server", _issue(lab, MS, ca)).rc == 0


def test_registry_holds_each_binding_as_netsh_shows_it(shaped, ca):
    _encrypt_management(shaped, ca)
    tp = _issue(shaped, RS, ca)
    assert enable(shaped, RS, "server", tp).rc == 0
    a = adapter(shaped, RS)
    reg = a.read_registry(_netsh.ssl_binding_registry_key("0.0.0.0:9001"), "SslCertHash")
    assert (reg.exists, reg.type) == (True, "REG_BINARY")
    assert reg.value == list(bytes.fromhex(tp))  # win_reg_stat's list of byte values
    assert _netsh.thumbprint_from_registry(reg.value) == tp
    assert not a.read_registry(_netsh.ssl_binding_registry_key("0.0.0.0:9000"), "SslCertHash").exists
    assert not a.read_registry(_netsh.ssl_binding_registry_key("0.0.0.0:9001"), "NoSuchValue").exists
    # The customer's SNI binding lives under SslSniBindingInfo, never under SslBindingInfo.
    ms = adapter(shaped, MS)
    sni = ms.read_registry(
        _netsh.SSL_BINDING_REGISTRY_KEY.replace("SslBindingInfo", "SslSniBindingInfo") + "\\" + INTRANET,
        "SslCertHash",
    )
    assert _netsh.thumbprint_from_registry(sni.value) == programs.customer_thumbprint(INTRANET)
    assert not ms.read_registry(_netsh.ssl_binding_registry_key(INTRANET), "SslCertHash").exists


def test_german_console_is_read_by_shape(shaped, ca):
    tp = _issue(shaped, RS, ca)
    a = adapter(shaped, RS)
    off = a.run(["netsh", "http", "show", "sslcert", "ipport=0.0.0.0:9001"])
    assert off.rc == 1 and "Das System kann" in off.stdout
    # Unencrypted: the registry shows no binding, netsh (German, code page 850 read as UTF-8) none either.
    state = encryption_flow.read_state(a, _ctx(shaped, RS), ["recording"], ["server"])
    assert state == {"server": None}
    assert a.call_log[-2:] == ["read_registry", "run"]
    _encrypt_management(shaped, ca)
    assert enable(shaped, RS, "server", tp).rc == 0
    listing = a.run(["netsh", "http", "show", "sslcert"]).stdout
    assert "Zertifikathash" in listing and "\ufffd" in listing  # the umlauts arrive broken
    assert "IP:port" not in listing and "Certificate Hash" not in listing
    assert _netsh.binding_for_ipport(_netsh.parse_netsh_sslcert(listing), "0.0.0.0:9001") == tp
    # Encrypted: the registry answers, netsh is not run.
    a = adapter(shaped, RS)
    assert encryption_flow.read_state(a, _ctx(shaped, RS), ["recording"], ["server"]) == {"server": tp}
    assert a.call_log == ["read_file", "read_registry"]


@pytest.mark.parametrize("customer", [INTRANET, "0.0.0.0:443"])
def test_customer_iis_binding_on_443_is_not_the_management_servers_certificate(tmp_path, ca, customer):
    lab = _site(tmp_path, ca, customer_binding=customer)
    a = adapter(lab, MS)
    listing = a.run(["netsh", "http", "show", "sslcert"]).stdout
    parsed = _netsh.parse_netsh_sslcert(listing)
    foreign = programs.customer_thumbprint(customer)
    # The binding is there, on 443, with a certificate of the customer's own: what "any binding on
    # 443" would have taken for the group's certificate.
    assert _netsh.binding_for_port(parsed, 443) == foreign
    ctx = _ctx(lab, MS)
    state = encryption_flow.read_state(a, ctx, ["management"], ["server"])
    assert state == {"server": None}
    assert "0.0.0.0:9000" in ctx["reasons"]["server"] and customer in ctx["reasons"]["server"]
    tp = _issue(lab, MS, ca)
    assert enable(lab, MS, "server", tp).rc == 0
    a = adapter(lab, MS)
    assert encryption_flow.read_state(a, _ctx(lab, MS), ["management"], ["server"]) == {"server": tp}
    assert tp != foreign


def test_mobile_server_in_a_non_default_install_folder(shaped, ca):
    tp = _issue(shaped, MOB, ca)
    a = adapter(shaped, MOB)
    services = a.list_services()
    exe = D_MILESTONE + "\\XProtect Mobile Server\\VideoOS.MobileServer.Service.exe"
    assert any(_services.service_executable(s.path) == exe for s in services)
    assert _services.mobile_config_path_from_services(services) == exe + ".config"
    with pytest.raises(Exception, match="not found"):
        a.read_file(_configfiles.CONFIG_PATHS["mobile"])  # nothing at the default path
    # Server Configurator is found beside the install folder, and it runs from there.
    cfg = encryption_flow.locate_configurator(a, MOB, None)
    assert cfg == D_MILESTONE + "\\Server Configurator\\ServerConfigurator.exe"
    res = a.run([cfg, "/quiet", "/enableencryption", f"/certificategroup={GUID['mobile']}", f"/thumbprint={tp}"])
    assert res.rc == 0, res
    a = adapter(shaped, MOB)
    assert encryption_flow.read_state(a, _ctx(shaped, MOB), ["mobile"], ["mobile"]) == {"mobile": tp}


def test_cold_standby_failover_streaming_is_unknown_not_disabled(shaped, ca):
    tp = _issue(shaped, FO, ca)
    _encrypt_management(shaped, ca)
    assert enable(shaped, FO, "server", tp).rc == 0
    with Running(shaped) as running:
        running.sync()
        a = adapter(shaped, FO)
        ctx = _ctx(shaped, FO)
        state = encryption_flow.read_state(a, ctx, ["failover"], ["server", "streaming"])
        assert state == {"server": tp, "streaming": hoststate.UNKNOWN_STATE}
        assert "cold-standby" in ctx["reasons"]["streaming"]
        # Unknown is reported and never switched on a guess.
        assert hoststate.plan_group_changes(state, {"server": tp, "streaming": tp}) == []
        # A hot-standby failover server answers on 7563 (plain HTTP here): it reads disabled.
        with host_options(shaped, FO, {}):
            running.sync()
            state = encryption_flow.read_state(adapter(shaped, FO), _ctx(shaped, FO), ["failover"], ["streaming"])
            assert state == {"streaming": None}


@contextlib.contextmanager
def host_options(lab, host, options):
    """Give a host other options for the block (as a re-created site would), then restore them."""
    with lab.transaction(host) as tx:
        saved = tx.state.get("options")
        tx.state["options"] = dict(options)
        tx.touch()
    try:
        yield
    finally:
        with lab.transaction(host) as tx:
            tx.state["options"] = saved
            tx.touch()


def test_host_options_are_checked(tmp_path):
    bad = [
        ({"name": "fo9", "roles": ["recording"], "standby": "cold"}, "standby"),
        ({"name": "ms9", "roles": ["management"], "customer_binding": "not a binding"}, "customer_binding"),
        ({"name": "mob9", "roles": ["mobile"], "install_folder": "Milestone"}, "install_folder"),
    ]
    for host, word in bad:
        with pytest.raises(model.LabError, match=word):
            site.plan_hosts(hosts=[{"name": "m", "roles": ["management"]}, host])
