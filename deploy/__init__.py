"""The deployment's files (broker, database, compose service configs, Grafana, systemd), as
the data package ``iotgw.deploy``: installed commands find them with ``importlib.resources``
(``iotgw.options.DEPLOY``), and compose mounts the same files from the repository."""
