"""Loaded by Python processes started with bench/phases_probe on their path and HALL_PHASES_PROBE set
(bench/issue_phases.py starts a Hall server so): installs phases_probe in the worker once hall.wsgi is loaded."""
import os, sys
if os.environ.get("HALL_PHASES_PROBE"):
    import importlib.abc, importlib.util

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "hall.wsgi":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            original = spec.loader.exec_module

            def exec_module(module):
                original(module)
                import phases_probe
                phases_probe.install(module.app)
            spec.loader.exec_module = exec_module
            return spec
    sys.meta_path.insert(0, _Finder())
