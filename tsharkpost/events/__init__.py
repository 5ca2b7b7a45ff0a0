"""Windows event logs in the forms analysts bring (.evtx, event XML, evtx_dump JSON lines, Event Viewer CSV/TXT)."""
