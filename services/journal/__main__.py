"""python -m services.journal"""

from services.journal.app import build_app
from services.journal.settings import JournalSettings
from shared.app import run_service

run_service(JournalSettings, build_app)
