import hashlib

from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from ..selectors import project_list_for_user, project_roles_for_user, user_list_for_admin
from ..services.projects import user_create
from ..services.users import token_get_or_create, user_set_active, user_set_password, user_update
from .permissions import IsAdmin
from .serializers import LoginIn, PasswordIn, UserDetailOut, UserIn, UserOut, UserPatch

Me = inline_serializer("Me", {"id": serializers.IntegerField(), "username": serializers.CharField(),
                              "is_staff": serializers.BooleanField(), "projects": serializers.ListField()})


def _bad_credentials() -> Response:
    return Response({"errors": [{"field": "password", "message": "wrong username or password"}]},
                    status=status.HTTP_400_BAD_REQUEST)


def _me(user) -> dict:
    roles = project_roles_for_user(user)
    projects = [{"id": p.id, "name": p.name, "kind": p.kind, "role": roles.get(p.id)}
                for p in project_list_for_user(user)]
    return {"id": user.id, "username": user.username, "is_staff": user.is_staff, "projects": projects}


@method_decorator(ensure_csrf_cookie, name="get")
class CsrfView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={204: None}, summary="Set the csrftoken cookie")
    def get(self, request):
        return Response(status=status.HTTP_204_NO_CONTENT)


def _authenticated(request):
    """The user the request's username and password name, or None; a malformed body raises a 400."""
    data = LoginIn(data=request.data)
    data.is_valid(raise_exception=True)
    return authenticate(request, **data.validated_data)


class FailedSignInThrottle(SimpleRateThrottle):
    """Failed sign-ins per endpoint (the view's `throttle_scope`), client address and username.

    DRF's throttles count every request; this one counts only the failures the view reports, so signing in
    often is never refused. Once the scope's rate of failures is reached, every attempt for that username from
    that address answers 429 until the oldest failure leaves the period, the right password included: a lockout.
    """

    def __init__(self):  # the rate is the view's scope's, known only in allow_request
        pass

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        who = f"{self.get_ident(request)}\0{str(data.get('username', '')).casefold()}"
        return self.cache_format % {"scope": self.scope, "ident": hashlib.sha256(who.encode()).hexdigest()}

    def allow_request(self, request, view):
        self.scope = view.throttle_scope
        # Read at each request, not at import as DRF's class attribute is: tests and settings may change it.
        self.num_requests, self.duration = self.parse_rate(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        self.key = self.get_cache_key(request, view)
        self.now = self.timer()
        self.history = [t for t in self.cache.get(self.key, []) if t > self.now - self.duration]
        return len(self.history) < self.num_requests

    def record(self, *, succeeded: bool) -> None:
        if succeeded:
            self.cache.delete(self.key)
        else:
            self.history.insert(0, self.now)
            self.cache.set(self.key, self.history, self.duration)

    def wait(self) -> float:
        """Seconds until fewer than the rate's count of failures are left in the period."""
        return self.duration - (self.now - self.history[self.num_requests - 1])


class SignInThrottled:
    """A sign-in endpoint: failures count against FailedSignInThrottle under the view's `throttle_scope`."""

    throttle_classes = [FailedSignInThrottle]
    throttle_scope: str

    def get_throttles(self):
        if not hasattr(self, "_throttles"):  # kept: the view reports the attempt's outcome to the same instances
            self._throttles = super().get_throttles()
        return self._throttles

    def throttled(self, request, wait):
        raise exceptions.Throttled(wait, detail="Too many failed sign-ins for this username from this address.")

    def signed_in(self, request):
        """The user the request's credentials name, or None; either way the attempt is counted."""
        user = _authenticated(request)
        for throttle in self.get_throttles():
            throttle.record(succeeded=user is not None)
        return user


class LoginView(SignInThrottled, APIView):
    permission_classes = [AllowAny]
    throttle_scope = "login"

    @extend_schema(request=LoginIn, responses={200: Me}, summary="Start a browser session")
    def post(self, request):
        # DRF checks CSRF only for logged-in users; guard login too, with DRF's check so that a refusal is a
        # 403 in the API's error shape (Django's csrf_protect answers its HTML page).
        SessionAuthentication().enforce_csrf(request)
        user = self.signed_in(request)
        if user is None:
            return _bad_credentials()
        login(request, user)
        return Response(_me(user))


class LogoutView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=None, responses={204: None}, summary="End the browser session")
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: Me}, summary="Who am I, and my projects with my role in each")
    def get(self, request):
        return Response(_me(request.user))


class TokenView(SignInThrottled, APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_scope = "token"

    @extend_schema(request=LoginIn, responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})},
                   summary="Get an API token for scripts")
    def post(self, request):
        user = self.signed_in(request)
        if user is None:
            return _bad_credentials()
        return Response({"token": token_get_or_create(user=user).key})


class UserViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                  viewsets.GenericViewSet):
    """Admins only: list, create, read (with memberships), edit, deactivate and reactivate, reset a password."""

    permission_classes = [IsAdmin]
    serializer_class = UserOut
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return user_list_for_admin(with_memberships=self.action == "retrieve")

    @extend_schema(request=UserIn, responses={201: UserOut})
    def create(self, request):
        data = UserIn(data=request.data)
        data.is_valid(raise_exception=True)
        _check_password(data.validated_data)
        user = user_create(actor=request.user, **data.validated_data)
        return Response(UserOut(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: UserDetailOut}, summary="A user and their memberships")
    def retrieve(self, request, pk=None):
        return Response(UserDetailOut(self.get_object()).data)

    @extend_schema(request=UserPatch, responses={200: UserOut}, summary="Edit a user's name, email or admin flag")
    def partial_update(self, request, pk=None):
        user = self.get_object()
        data = UserPatch(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(UserOut(user_update(user=user, actor=request.user, **data.validated_data)).data)

    @extend_schema(request=None, responses={200: UserOut},
                   summary="Deactivate: no more sign-ins; their tokens and live leases end (not yourself)")
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return Response(UserOut(user_set_active(user=self.get_object(), actor=request.user, active=False)).data)

    @extend_schema(request=None, responses={200: UserOut}, summary="Let a deactivated user sign in again")
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None):
        return Response(UserOut(user_set_active(user=self.get_object(), actor=request.user, active=True)).data)

    @extend_schema(request=PasswordIn,
                   responses={200: inline_serializer("PasswordOut", {"password": serializers.CharField()})},
                   summary="Set a new password, or generate a one-time one (answered once); ends their tokens")
    @action(detail=True, methods=["post"])
    def password(self, request, pk=None):
        user = self.get_object()
        data = PasswordIn(data=request.data)
        data.is_valid(raise_exception=True)
        password = user_set_password(user=user, actor=request.user, password=data.validated_data.get("password"))
        return Response({"password": password if data.validated_data["generate"] else None})


def _check_password(fields: dict) -> None:
    """AUTH_PASSWORD_VALIDATORS against the new user's name and email: create_user does not run them."""
    user = get_user_model()(username=fields["username"], email=fields.get("email", ""))
    try:
        validate_password(fields["password"], user=user)
    except DjangoValidationError as exc:
        raise serializers.ValidationError({"password": exc.messages}) from None
