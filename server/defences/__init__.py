"""What holds under attack: connection caps per listener and per Tor circuit,
the PROXY protocol, the accept-error log, the open-file budget, login and
submission throttles, upload limits, the bounded Argon2id pool, serial
sealing chains on the shared pool, reporter sessions (in memory, or in the
database the nodes share), and constant-time token comparison.
"""
