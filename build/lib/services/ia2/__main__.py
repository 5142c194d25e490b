"""python -m services.ia2"""

from services.ia2.app import build_app
from services.ia2.settings import Ia2Settings
from shared.app import run_service

run_service(Ia2Settings, build_app)
