"""Token authentication with its lookup as one fixed, prepared SQL statement: it runs on every API call."""

from functools import cache

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .. import sql


@cache
def _lookup() -> str:
    users = get_user_model()._meta
    return (f"SELECT {sql.columns(get_user_model(), 'u')} FROM {users.db_table} u "
            f"JOIN {Token._meta.db_table} t ON t.user_id = u.{users.pk.column} WHERE t.key = %s")


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Authorization: Token <key>``, the same rules, without building the query per request."""

    def authenticate_credentials(self, key):
        if "\x00" in key:  # PostgreSQL would refuse the lookup itself; no token holds one
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = next(iter(sql.instances(get_user_model(), _lookup(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
