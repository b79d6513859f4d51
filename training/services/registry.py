"""The model registry: folders in the artifact store that jobs read as base, reference or reward models.

Reading a folder's facts (architecture, task, parameter count) needs no torch: config.json and the
safetensors headers say it all, so the web process and the registry commands stay torch-free.
"""

from __future__ import annotations

import json
import re
import struct
from math import prod
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation import artifacts

from ..models import Model

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def folder_facts(folder: Path) -> dict:
    """Architecture, task and parameter count of a save_pretrained folder, from its files alone."""
    folder = Path(folder)
    config_path = folder / "config.json"
    if not config_path.exists():
        raise ValidationError({"path": f"{folder} has no config.json: not a save_pretrained folder"})
    config = json.loads(config_path.read_text())
    architecture = (config.get("architectures") or [config.get("model_type", "")])[0]
    if architecture.endswith("ForCausalLM"):
        task = Model.Task.CAUSAL_LM
    elif architecture.endswith("ForSequenceClassification"):
        task = Model.Task.SEQUENCE_CLASSIFICATION
    else:
        task = Model.Task.ENCODER
    weights = sorted(folder.glob("*.safetensors"))
    if not weights and not list(folder.glob("*.bin")):
        raise ValidationError({"path": f"{folder} has no weights (*.safetensors or *.bin)"})
    return {"architecture": architecture, "task": task,
            "parameter_count": sum(_safetensors_parameters(w) for w in weights) if weights else None}


def _safetensors_parameters(path: Path) -> int:
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    return sum(prod(t["shape"]) for key, t in header.items() if key != "__metadata__")


def model_register(*, name: str, folder: Path, kind: str = Model.Kind.BASE, source: str = Model.Source.REGISTERED,
                   description: str = "", created_by=None) -> Model:
    """Copy a local save_pretrained folder into the artifact store and register it under `name`."""
    if not NAME.match(name or ""):
        raise ValidationError({"name": "letters, digits, '.', '_' and '-' only, 1 to 100 characters"})
    if kind not in Model.Kind.values:
        raise ValidationError({"kind": f"must be one of {Model.Kind.values}"})
    if Model.objects.filter(name=name).exists():
        raise ValidationError({"name": f"a model named {name!r} is registered already"})
    facts = folder_facts(folder)
    prefix = f"models/{name}"
    artifacts.delete_prefix(prefix)  # leftovers of a registration that failed halfway
    files = artifacts.upload_folder(Path(folder), prefix)
    with transaction.atomic():
        return Model.objects.create(name=name, kind=kind, source=source, storage_prefix=prefix, files=files,
                                    description=description, created_by=created_by, **facts)


def model_local_folder(model: Model) -> Path:
    """The model's files on this machine (downloaded once from the bucket when there is one)."""
    return artifacts.materialize(model.storage_prefix)
