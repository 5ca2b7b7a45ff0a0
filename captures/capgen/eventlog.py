"""The Windows System log excerpt that goes with the seed capture: XML (wevtutil) and Event Viewer CSV.

Schannel on the client logs event 36888 (AlertDesc 43, ErrorState 252) at the
moment it rejects the chain, between the server's ServerHelloDone and the
client's FIN. Provider, GUID, header constants and field names follow
../shared/reference/schannel.md sections 1.2-1.3; an unrelated Service Control
Manager event sits a few seconds before it, as in any real System log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

COMPUTER = "WS-0142.corp.example.net"
# Event Viewer's CSV shows the viewing machine's local time without an offset.
VIEWER_TIME_ZONE = "Europe/Berlin"

SCHANNEL_36888_MESSAGE = (
    "A fatal alert was generated and sent to the remote endpoint. This may result in termination of the "
    "connection. The TLS protocol defined fatal alert code is {alert}.\n\n   Target name: {target}\n\n"
    "The TLS alert registry can be found at "
    "http://www.iana.org/assignments/tls-parameters/tls-parameters.xhtml#tls-parameters-6"
)
SCM_7036_MESSAGE = "The WinHTTP Web Proxy Auto-Discovery Service service entered the running state."


def system_time(moment: dt.datetime) -> str:
    """SystemTime as current Windows writes it: UTC, 7 fractional digits (100 ns ticks), Z."""
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _system(provider: str, event_id: str, level: int, keywords: str, moment: dt.datetime, record: int,
            thread: int, process: int) -> str:
    return (f"<System>{provider}<EventID{event_id}<Version>0</Version><Level>{level}</Level>"
            f"<Task>0</Task><Opcode>0</Opcode><Keywords>{keywords}</Keywords>"
            f"<TimeCreated SystemTime='{system_time(moment)}'/><EventRecordID>{record}</EventRecordID>"
            f"<Correlation/><Execution ProcessID='{process}' ThreadID='{thread}'/><Channel>System</Channel>"
            f"<Computer>{COMPUTER}</Computer><Security UserID='S-1-5-18'/></System>")


def schannel_36888_xml(moment: dt.datetime, alert: int, error_state: int, target: str, record: int) -> str:
    system = _system("<Provider Name='Schannel' Guid='{1F678132-5938-4686-9FDC-C8FF68F15C85}'/>",
                     ">36888</EventID>", 2, "0x8000000000000000", moment, record, 4312, 700)
    data = (f"<EventData><Data Name='AlertDesc'>{alert}</Data><Data Name='ErrorState'>{error_state}</Data>"
            f"<Data Name='TargetName'>{target}</Data></EventData>")
    return f"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>{system}{data}</Event>"


def scm_7036_xml(moment: dt.datetime, record: int) -> str:
    provider = ("<Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' "
                "EventSourceName='Service Control Manager'/>")
    system = _system(provider, " Qualifiers='16384'>7036</EventID>", 4, "0x8080000000000000", moment,
                     record, 1020, 636)
    data = ("<EventData><Data Name='param1'>WinHTTP Web Proxy Auto-Discovery Service</Data>"
            "<Data Name='param2'>running</Data><Binary>570069006E0048007400740070004100750074006F00"
            "500072006F00780079005300760063002F0034000000</Binary></EventData>")
    return f"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>{system}{data}</Event>"


def _viewer_time(moment: dt.datetime) -> str:
    local = moment.astimezone(ZoneInfo(VIEWER_TIME_ZONE))
    return f"{local.month}/{local.day}/{local.year} {local.strftime('%I').lstrip('0')}:{local:%M:%S %p}"


def write_seed_events(folder: Path, stem: str, rejected_at: dt.datetime, target: str) -> list[Path]:
    """Write <stem>.xml (wevtutil qe System /f:xml) and <stem>.csv (Event Viewer, local time)."""
    earlier = rejected_at - dt.timedelta(seconds=4, microseconds=312_500)
    xml_path = folder / f"{stem}.xml"
    # wevtutil prints one event per line, with no root element around them.
    xml_path.write_text(scm_7036_xml(earlier, 48211) + "\n"
                        + schannel_36888_xml(rejected_at, 43, 252, target, 48212) + "\n")

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["Level", "Date and Time", "Source", "Event ID", "Task Category"])
    writer.writerow(["Error", _viewer_time(rejected_at), "Schannel", "36888", "None",
                     SCHANNEL_36888_MESSAGE.format(alert=43, target=target)])
    writer.writerow(["Information", _viewer_time(earlier), "Service Control Manager", "7036", "None",
                     SCM_7036_MESSAGE])
    csv_path = folder / f"{stem}.csv"
    csv_path.write_text(buffer.getvalue())
    return [xml_path, csv_path]
