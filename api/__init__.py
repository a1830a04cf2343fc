"""The HTTP API and the dashboard for provinces and ministries (FastAPI)."""

from iotgw.api.app import create_app
from iotgw.api.config import ApiConfig, load_api_config

__all__ = ["ApiConfig", "create_app", "load_api_config"]
