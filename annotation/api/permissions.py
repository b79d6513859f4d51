"""Access to a project is decided by selectors (404 for non-members); these classes add the role."""

from rest_framework.permissions import BasePermission

from ..selectors import project_role


class IsAdmin(BasePermission):
    message = "only administrators can do this"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


def is_lead(project, user) -> bool:
    return project_role(project, user) in ("admin", "lead")
