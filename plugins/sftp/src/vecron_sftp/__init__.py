"""SFTP executor for vecron: download and upload with host-key checking, streamed through object storage."""

from __future__ import annotations
