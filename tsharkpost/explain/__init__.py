"""tsharkpost explain: TLS alerts, Schannel event ids and error states, Windows HRESULTs and algorithm OIDs."""
