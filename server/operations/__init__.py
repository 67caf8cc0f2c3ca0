"""Commands and background jobs: the ``wbs`` command line and what its
subcommands run (``wbs check``, export, backup and restore, the demo), the
retention purge, and the daily digest by e-mail with its SOCKS5 client for
sending over Tor.
"""
