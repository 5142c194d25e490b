"""python -m services.monitor"""

from services.monitor.app import build_app
from services.monitor.settings import MonitorSettings
from shared.app import run_service

run_service(MonitorSettings, build_app)
