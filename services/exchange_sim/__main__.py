"""python -m services.exchange_sim: the simulator on SIM port 8020 (settings from the environment)."""

from services.exchange_sim.app import build_app
from services.exchange_sim.settings import SimulatorSettings
from shared.app import serve
from shared.logs import configure_logging
from shared.settings import load_settings

settings = load_settings(SimulatorSettings)
configure_logging(settings.service_name, settings.log_level, settings.secret_values())
serve(build_app(settings), settings)
