"""The emulators for gunicorn, which keeps connections alive as the real APIs do (the standard library's server
closes each one), so a benchmark compares Monid with a provider fairly. MONID_EMULATOR_PDL_DELAY_MS holds every
PDL answer back that long, standing in for the real API's own time.

    gunicorn providers.emulators.wsgi --worker-class gthread --threads 64
"""

import os

from .server import make_app

application = make_app(pdl_delay_seconds=int(os.environ.get("MONID_EMULATOR_PDL_DELAY_MS", "0")) / 1000)
