"""python -m services.ia1"""

from services.ia1.app import build_app
from services.ia1.settings import Ia1Settings
from shared.app import run_service

run_service(Ia1Settings, build_app)
