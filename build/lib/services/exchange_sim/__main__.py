"""python -m services.exchange_sim: the simulator on port 8020 (settings from the environment)."""

from services.exchange_sim.app import build_app
from services.exchange_sim.settings import SimulatorSettings
from shared.app import run_service

run_service(SimulatorSettings, build_app)
