"""The plugin system: hook specs, the manager, the registry and the contracts plugins implement."""
