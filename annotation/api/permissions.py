"""Who may do what, one concern per class; combine them with `&` and `|`.

Under `/api/projects/{pk}/...` (views with `ProjectScoped`), the project is read once with the caller's role
(`view.project`, one query), and a caller who may not see it, or lacks the role, gets the same 404 as for a project
that does not exist: nothing says it is there.
"""

from rest_framework.permissions import BasePermission


class IsAdmin(BasePermission):
    message = "only administrators can do this"

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


class _ProjectRole(BasePermission):
    roles: tuple[str, ...] = ()

    def has_permission(self, request, view) -> bool:
        project = view.visible_project
        return project is not None and project.my_role in self.roles


class IsProjectMember(_ProjectRole):
    """Any role in the route's project: annotator, lead, or an admin."""

    roles = ("admin", "lead", "annotator")


class IsProjectLead(_ProjectRole):
    """A lead of the route's project, or an admin."""

    roles = ("admin", "lead")
