"""Run inside Label Studio's venv (see setup.sh): enable legacy tokens for the organisation and
create annotator users ls-annotator-0..N-1 in it, each with a legacy token. Prints 'email token' lines."""
import os
import sys

sys.path.insert(0, os.environ["LS_PKG"])  # label_studio package dir: its apps import as top-level modules

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")
import django  # noqa: E402

django.setup()
from jwt_auth.models import JWTSettings  # noqa: E402
from organizations.models import Organization  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402
from users.models import User  # noqa: E402

n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
org = Organization.objects.order_by("id").first()
JWTSettings.objects.filter(organization=org).update(legacy_api_tokens_enabled=True)
for i in range(n):
    email = f"ls-annotator-{i}@example.com"
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password="bench-password-1", username=f"ls-annotator-{i}")
    if not org.has_user(user):
        org.add_user(user)
    user.active_organization = org
    user.save(update_fields=["active_organization"])
    print(email, Token.objects.get_or_create(user=user)[0].key)
