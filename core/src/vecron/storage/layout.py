"""Where an execution's objects live in object storage: the one key layout.

Everything an execution keeps sits under ``executions/{id}/``:

- ``context.json``: its whole Job Context, written when it ends or fails;
- ``steps/{step}.json``: one finished step's entry, written before the database records
  the step as done (a resumed run finds it);
- ``files/``: what its steps download, convert or export.

The Job Context (:mod:`vecron.jobs.context`), the execution files
(:mod:`vecron.plugin.files`) and the services all take their keys from here.
"""

from __future__ import annotations


def execution_prefix(execution_id: str) -> str:
    return f"executions/{execution_id}/"


def context_key(execution_id: str) -> str:
    return f"{execution_prefix(execution_id)}context.json"


def steps_prefix(execution_id: str) -> str:
    return f"{execution_prefix(execution_id)}steps/"


def step_key(execution_id: str, step_id: str) -> str:
    return f"{steps_prefix(execution_id)}{step_id}.json"


def files_prefix(execution_id: str) -> str:
    return f"{execution_prefix(execution_id)}files/"
