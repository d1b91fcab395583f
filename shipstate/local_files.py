"""Files written on this machine, whole or not at all."""

from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """`text` into `path` through a temporary file renamed over it: an interrupt or a full disk
    leaves the file as it was, never a part of the new one."""
    temp = path.with_name(f".{path.name}.shipstate-tmp")
    try:
        temp.write_text(text)
        temp.replace(path)
    finally:
        temp.unlink(missing_ok=True)
