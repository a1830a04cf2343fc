"""The ``iotgw`` command line and the local service runner used by the demo and tests."""
