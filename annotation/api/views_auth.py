from django.contrib.auth import authenticate, login, logout
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from ..selectors import project_list_for_user, project_roles_for_user
from ..services.projects import user_create
from .permissions import IsAdmin
from .serializers import LoginIn, UserIn, UserOut

Me = inline_serializer("Me", {"id": serializers.IntegerField(), "username": serializers.CharField(),
                              "is_staff": serializers.BooleanField(), "projects": serializers.ListField()})


def _bad_credentials() -> Response:
    return Response({"errors": [{"field": "password", "message": "wrong username or password"}]},
                    status=status.HTTP_400_BAD_REQUEST)


def _me(user) -> dict:
    roles = project_roles_for_user(user)
    projects = [{"id": p.id, "name": p.name, "kind": p.kind, "role": "admin" if user.is_staff and p.id not in roles
                 else roles.get(p.id)} for p in project_list_for_user(user)]
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


class LoginView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(request=LoginIn, responses={200: Me}, summary="Start a browser session")
    def post(self, request):
        # DRF checks CSRF only for logged-in users; guard login too, with DRF's check so that a refusal is a
        # 403 in the API's error shape (Django's csrf_protect answers its HTML page).
        SessionAuthentication().enforce_csrf(request)
        user = _authenticated(request)
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


class TokenView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(request=LoginIn, responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})},
                   summary="Get an API token for scripts")
    def post(self, request):
        user = _authenticated(request)
        if user is None:
            return _bad_credentials()
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class UserViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAdmin]
    serializer_class = UserOut

    def get_queryset(self):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.order_by("username")

    @extend_schema(request=UserIn, responses={201: UserOut})
    def create(self, request):
        data = UserIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(**data.validated_data)
        return Response(UserOut(user).data, status=status.HTTP_201_CREATED)
