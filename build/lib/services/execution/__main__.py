"""python -m services.execution"""

from services.execution.app import build_app
from services.execution.settings import ExecutionSettings
from shared.app import run_service

run_service(ExecutionSettings, build_app)
