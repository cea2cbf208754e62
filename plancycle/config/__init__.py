"""Cycle configuration: the model, its loader and its checks."""

from plancycle.config.loader import config_schema, load_config, parse_config
from plancycle.config.model import (
    ChasingPolicy,
    CycleConfig,
    Gate,
    Person,
    Role,
    Stage,
    Task,
    TaskKind,
)
from plancycle.config.problems import ConfigError, ConfigProblem

__all__ = [
    "ChasingPolicy", "ConfigError", "ConfigProblem", "CycleConfig", "Gate", "Person", "Role",
    "Stage", "Task", "TaskKind", "config_schema", "load_config", "parse_config",
]
