# Copyright: (c) 2026, xprotect.encryption contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_services.py: where Server Configurator and the mobile server's config are, from the services."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.xprotect.encryption.plugins.module_utils import _configfiles, _server_configurator, _services


def svc(name, path, display=None):
    return SimpleNamespace(name=name, display_name=display or name, path=path, username="", state="started")


def test_configurator_path_quoted_with_arguments():
    services = [
        svc("W32Time", r"C:\Windows\system32\svchost.exe -k LocalService"),
        svc(
            "Milestone XProtect Recording Server",
            r'"C:\Program Files\Milestone\XProtect Recording Server\RecordingServer.exe" -service',
        ),
    ]
    assert _services.configurator_path_from_services(services) == (
        r"C:\Program Files\Milestone\Server Configurator\ServerConfigurator.exe"
    )


def test_configurator_path_unquoted_other_drive_and_dicts():
    services = [
        {
            "name": "MilestoneMobileServerService",
            "display_name": "Milestone XProtect Mobile Server",
            "path": r"D:\VMS\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe /run",
        }
    ]
    assert (
        _services.configurator_path_from_services(services)
        == r"D:\VMS\Milestone\Server Configurator\ServerConfigurator.exe"
    )


def test_configurator_path_majority_wins_over_a_nested_service():
    services = [
        svc(
            "Milestone XProtect Management Server",
            r"E:\Milestone\XProtect Management Server\VideoOS.Server.Service.exe",
        ),
        svc("Milestone XProtect Data Collector", r'"E:\Milestone\XProtect Management Server\Collector\dc.exe"'),
        svc("Milestone XProtect Recording Server", r'"E:\Milestone\XProtect Recording Server\RecordingServer.exe"'),
    ]
    assert (
        _services.configurator_path_from_services(services)
        == r"E:\Milestone\Server Configurator\ServerConfigurator.exe"
    )


def test_configurator_path_none_without_milestone_and_default_when_unreadable():
    assert _services.configurator_path_from_services([svc("Spooler", r"C:\Windows\System32\spoolsv.exe")]) is None
    assert _services.configurator_path_from_services([]) is None
    assert _services.configurator_path_from_services([svc("Milestone XProtect Event Server", "")]) == (
        _server_configurator.DEFAULT_CONFIGURATOR_PATH
    )


def test_config_paths_and_mobile_paths():
    assert _configfiles.CONFIG_PATHS["recording"].endswith(r"XProtect Recording Server\RecorderConfig.xml")
    assert _configfiles.CONFIG_PATHS["management"].endswith(r"XProtect Management Server\ServerConfig.xml")
    assert _configfiles.CONFIG_PATHS["event"].endswith(r"XProtect Event Server\config\ServiceEndpoints.xml")
    exe = r"C:\Program Files\Milestone\XProtect Mobile Server\VideoOS.MobileServer.Service.exe"
    assert _configfiles.mobile_config_path(exe) == exe + ".config"
    assert _configfiles.mobile_config_path() == _configfiles.CONFIG_PATHS["mobile"]
    # A service's path is a command line: quoted, with arguments.
    services = [svc("Milestone XProtect Mobile Server", f'"{exe}" -x')]
    assert _services.mobile_config_path_from_services(services) == exe + ".config"
    other = r"D:\VMS\XProtect Mobile Server\VideoOS.MobileServer.Service.exe"
    services = [
        svc("Milestone XProtect Recording Server", r"C:\rs.exe"),
        svc("Milestone XProtect Mobile Server", other),
    ]
    assert _services.mobile_config_path_from_services(services) == other + ".config"
    assert _services.mobile_config_path_from_services([]) == _configfiles.CONFIG_PATHS["mobile"]


def test_service_executable_variants():
    assert _services.service_executable(None) is None
    assert _services.service_executable(r"C:\A B\x.EXE -k svc") == r"C:\A B\x.EXE"
    assert _services.service_executable(r'"C:\A B\x.exe"') == r"C:\A B\x.exe"
    assert _services.service_executable(r"C:\tools\agent -run") == r"C:\tools\agent"
