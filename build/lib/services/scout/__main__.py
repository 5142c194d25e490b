"""python -m services.scout"""

from services.scout.app import build_app
from services.scout.settings import ScoutSettings
from shared.app import run_service

run_service(ScoutSettings, build_app)
