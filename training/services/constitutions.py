"""Constitutions: the principles a Constitutional AI round critiques and revises against, one project's each."""

from django.db import transaction

from annotation.models import Project

from ..models import Constitution


@transaction.atomic
def constitution_create(*, project: Project, created_by, **fields) -> Constitution:
    return Constitution.objects.create(project=project, created_by=created_by, **fields)
