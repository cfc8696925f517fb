"""The `sftp` step type: download and upload with host-key checking (S4.4)."""

from __future__ import annotations
