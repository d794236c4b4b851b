"""Settings for bench/load.py only: clinic/settings.py as is, with two overrides.

Everything else (DEBUG=false, SECRET_KEY, the database, rate limits, SMS and
Celery) is set through the environment by bench/load.py, exactly as in
production. The overrides:
- ROOT_URLCONF adds the floor view (bench/load_urls.py) to the product's URLs;
- STATIC_ROOT is a throwaway folder, so the bench's collectstatic never writes
  into the working tree.
"""

import os

from clinic.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
STATIC_ROOT = os.environ["BENCH_STATIC_ROOT"]
