import os
from importlib import import_module

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rlhf_site.settings")
application = get_wsgi_application()
# Import every view (the URLconf includes them all) now, while the worker starts, rather than in its first request:
# on a busy 2-core machine that import (DRF, drf-spectacular, scipy for the arena) took 2-5 s, which each gunicorn
# worker's first caller waited through.
import_module(settings.ROOT_URLCONF)
