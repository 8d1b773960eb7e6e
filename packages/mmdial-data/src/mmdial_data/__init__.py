"""mmdial-data: the unified multimodal dialogue schema, source readers, builder, exports and viewer.

Example:
    >>> import mmdial_data
    >>> mmdial_data.SCHEMA_VERSION
    '1'
    >>> from mmdial_data import read_source
    >>> from mmdial_data.testing import demo_dir
    >>> len(list(read_source("sgd", demo_dir() / "sgd" / "train")))
    2
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mmdial_data.lazy import lazy_exports

if TYPE_CHECKING:
    from mmdial_data.build import BuildResult, build_dataset
    from mmdial_data.errors import ErrorPolicy, ImagePathError, MMDialDataError, SourceFormatError, ValidationError
    from mmdial_data.io import read_dialogues, read_jsonl, read_parquet, write_dialogues, write_jsonl, write_parquet
    from mmdial_data.readers import get_reader, list_readers, read_source, register_reader
    from mmdial_data.schema import IMAGE_LEVELS, SCHEMA_VERSION, Annotations, Dialogue, DialogueAct, ImageRef, Turn
    from mmdial_data.validate import validate_dialogue

__version__ = "0.1.0"

#: Everything the package exports, imported on first use (so a sibling importing ``mmdial_data.lazy`` or
#: ``mmdial_data.registry`` pays for nothing else).
_LAZY = {
    "ErrorPolicy": "mmdial_data.errors",
    "ImagePathError": "mmdial_data.errors",
    "MMDialDataError": "mmdial_data.errors",
    "SourceFormatError": "mmdial_data.errors",
    "ValidationError": "mmdial_data.errors",
    "get_reader": "mmdial_data.readers",
    "list_readers": "mmdial_data.readers",
    "read_source": "mmdial_data.readers",
    "register_reader": "mmdial_data.readers",
    "IMAGE_LEVELS": "mmdial_data.schema",
    "SCHEMA_VERSION": "mmdial_data.schema",
    "Annotations": "mmdial_data.schema",
    "Dialogue": "mmdial_data.schema",
    "DialogueAct": "mmdial_data.schema",
    "ImageRef": "mmdial_data.schema",
    "Turn": "mmdial_data.schema",
    "read_dialogues": "mmdial_data.io",
    "read_jsonl": "mmdial_data.io",
    "read_parquet": "mmdial_data.io",
    "write_dialogues": "mmdial_data.io",
    "write_jsonl": "mmdial_data.io",
    "write_parquet": "mmdial_data.io",
    "validate_dialogue": "mmdial_data.validate",
    "build_dataset": "mmdial_data.build",
    "BuildResult": "mmdial_data.build",
}

__all__ = [
    "IMAGE_LEVELS",
    "SCHEMA_VERSION",
    "Annotations",
    "BuildResult",
    "Dialogue",
    "DialogueAct",
    "ErrorPolicy",
    "ImagePathError",
    "ImageRef",
    "MMDialDataError",
    "SourceFormatError",
    "Turn",
    "ValidationError",
    "build_dataset",
    "get_reader",
    "list_readers",
    "read_dialogues",
    "read_jsonl",
    "read_parquet",
    "read_source",
    "register_reader",
    "validate_dialogue",
    "write_dialogues",
    "write_jsonl",
    "write_parquet",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
