"""Configuration problems: what is wrong, where (file, YAML path, line) and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]


def format_path(path: Path) -> str:
    """``("stages", 3, "tasks", 0, "role")`` → ``stages[3].tasks[0].role``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


@dataclass(frozen=True)
class ConfigProblem:
    path: Path
    message: str
    fix: str
    line: int | None = None
    file: str | None = None
    #: "error" stops the file loading; "warning" is shown and the file is used.
    severity: str = "error"

    def located(self, file: str, lines: dict[Path, int]) -> ConfigProblem:
        """Attach the file and the nearest known line for this path."""
        line = None
        for end in range(len(self.path), -1, -1):
            line = lines.get(self.path[:end])
            if line is not None:
                break
        return ConfigProblem(self.path, self.message, self.fix, line, file, self.severity)

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where += f":{self.line}"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {label}{format_path(self.path)}: {self.message}\n    fix: {self.fix}"


@dataclass
class ConfigError(Exception):
    """All the problems found in one configuration file."""

    file: str
    problems: Sequence[ConfigProblem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{self.file}: {n} problem{'s' if n != 1 else ''} in the cycle configuration"
        return "\n".join([head, *(str(p) for p in self.problems)])
