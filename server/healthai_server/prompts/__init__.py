"""Versioned prompts kept as files: prompts/<id>/<version>.toml.

Each file holds `id`, `version`, `schema` (the output schema the prompt expects), an optional
`description`, and `template` ($-placeholders, string.Template syntax). A prompt's hash is the
SHA-256 of its template text, so a result's Provenance ties it to the exact words sent.
Rendering is deterministic: the same variables always give the same text, and a missing or
unknown variable is an error rather than a silent gap.

`healthai-server prompts list|show|diff` is `main(argv)` below.
"""

from __future__ import annotations

import argparse
import builtins
import difflib
import hashlib
import re
import string
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from healthai_server.domain.provenance import PromptRef

PROMPTS_DIR = Path(__file__).resolve().parent
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


class PromptError(ValueError):
    """A prompt file is malformed, missing, or rendered with the wrong variables."""


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@dataclass(frozen=True, slots=True)
class Prompt:
    id: str
    version: str
    schema: str
    template: str
    description: str = ""
    path: Path | None = None

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.template.encode("utf-8")).hexdigest()

    @property
    def ref(self) -> PromptRef:
        return PromptRef(id=self.id, version=self.version, hash=self.hash)

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(string.Template(self.template).get_identifiers())

    def render(self, variables: Mapping[str, str] | None = None) -> str:
        given = dict(variables or {})
        missing = self.variables - set(given)
        unknown = set(given) - self.variables
        if missing or unknown:
            raise PromptError(
                f"prompt {self.id}@{self.version}: missing variables {sorted(missing)}, unknown {sorted(unknown)}"
            )
        return string.Template(self.template).substitute(given).strip() + "\n"


def load_prompt_file(path: Path) -> Prompt:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise PromptError(f"{path}: cannot read prompt file: {exc}") from exc
    for key in ("id", "version", "schema", "template"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise PromptError(f"{path}: `{key}` must be a non-empty string")
    unknown = set(raw) - {"id", "version", "schema", "template", "description"}
    if unknown:
        raise PromptError(f"{path}: unknown keys {sorted(unknown)}")
    prompt = Prompt(
        id=raw["id"],
        version=raw["version"],
        schema=raw["schema"],
        template=raw["template"],
        description=str(raw.get("description", "")),
        path=path,
    )
    if not _ID.match(prompt.id) or prompt.id != path.parent.name:
        raise PromptError(f"{path}: id {prompt.id!r} must match its folder name and [a-z][a-z0-9_]*")
    if not _VERSION.match(prompt.version) or path.stem != prompt.version:
        raise PromptError(f"{path}: version {prompt.version!r} must be MAJOR.MINOR.PATCH and match the file name")
    try:
        string.Template(prompt.template).substitute({name: "" for name in prompt.variables})
    except (ValueError, KeyError) as exc:
        raise PromptError(f"{path}: template has an invalid placeholder: {exc}") from exc
    return prompt


class PromptRegistry:
    """All prompts under a folder, loaded once and immutable afterwards."""

    def __init__(self, root: Path = PROMPTS_DIR) -> None:
        self._root = root
        prompts: dict[str, dict[str, Prompt]] = {}
        for path in sorted(root.glob("*/*.toml")):
            prompt = load_prompt_file(path)
            prompts.setdefault(prompt.id, {})[prompt.version] = prompt
        self._prompts = prompts

    def ids(self) -> builtins.list[str]:
        return sorted(self._prompts)

    def versions(self, prompt_id: str) -> builtins.list[str]:
        return sorted(self._by_id(prompt_id), key=_version_key)

    def list(self) -> builtins.list[Prompt]:
        return [self._prompts[pid][version] for pid in self.ids() for version in self.versions(pid)]

    def get(self, prompt_id: str, version: str | None = None) -> Prompt:
        """A prompt by id and version; version None is the latest."""
        versions = self._by_id(prompt_id)
        chosen = version or self.versions(prompt_id)[-1]
        if chosen not in versions:
            raise PromptError(
                f"prompt {prompt_id} has no version {chosen} (known: {', '.join(self.versions(prompt_id))})"
            )
        return versions[chosen]

    def show(self, prompt_id: str, version: str | None = None) -> str:
        p = self.get(prompt_id, version)
        header = [
            f"id: {p.id}",
            f"version: {p.version}",
            f"schema: {p.schema}",
            f"hash: {p.hash}",
            f"variables: {', '.join(sorted(p.variables)) or '-'}",
        ]
        if p.description:
            header.append(f"description: {p.description}")
        return "\n".join(header) + "\n\n" + p.template.strip("\n") + "\n"

    def diff(self, prompt_id: str, old_version: str, new_version: str) -> str:
        """Unified diff of two versions' templates (empty when they are identical)."""
        old, new = self.get(prompt_id, old_version), self.get(prompt_id, new_version)
        lines = difflib.unified_diff(
            old.template.splitlines(keepends=True),
            new.template.splitlines(keepends=True),
            fromfile=f"{prompt_id}@{old.version}",
            tofile=f"{prompt_id}@{new.version}",
        )
        return "".join(lines)

    def _by_id(self, prompt_id: str) -> dict[str, Prompt]:
        if prompt_id not in self._prompts:
            raise PromptError(f"no prompt {prompt_id!r} (known: {', '.join(self.ids()) or 'none'})")
        return self._prompts[prompt_id]


def main(argv: Sequence[str] | None = None, registry: PromptRegistry | None = None) -> int:
    """`prompts list`, `prompts show ID [VERSION]`, `prompts diff ID OLD NEW`. Returns the exit code."""
    parser = argparse.ArgumentParser(prog="healthai-server prompts", description="Versioned prompts")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every prompt id, version, schema and hash")
    show = sub.add_parser("show", help="one prompt's metadata and template")
    show.add_argument("id")
    show.add_argument("version", nargs="?")
    diff = sub.add_parser("diff", help="unified diff between two versions of a prompt")
    diff.add_argument("id")
    diff.add_argument("old")
    diff.add_argument("new")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        reg = registry or PromptRegistry()
        if args.command == "list":
            for p in reg.list():
                print(f"{p.id}\t{p.version}\t{p.schema}\t{p.hash[:12]}")
        elif args.command == "show":
            sys.stdout.write(reg.show(args.id, args.version))
        else:
            sys.stdout.write(reg.diff(args.id, args.old, args.new))
    except PromptError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
