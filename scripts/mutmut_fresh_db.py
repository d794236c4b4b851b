"""pytest plugin for mutation runs only (`-p scripts.mutmut_fresh_db`, set in pyproject.toml).

mutmut runs pytest once per mutant, each in a process forked from its main
one. Building the SQLite test database by migrating costs seconds each time,
more than most mutants' tests; reusing one database (--reuse-db) is wrong, since
a transactional test flushes the groups and other rows the data migrations made.
So the main process migrates a database once and keeps a copy, and every forked
run starts from a fresh copy of its own (two runs at once never share a file).
"""

import os
import shutil
from pathlib import Path

# Set in mutmut's main process by its first session; forked runs inherit it.
# A copy left by an earlier run (same pid, older migrations) is never used.
_migrated_copy = None
_main_pid = None


def pytest_sessionstart(session):
    from django.conf import settings
    from django.db import connections
    from pytest_django.plugin import blocking_manager_key

    global _migrated_copy, _main_pid
    if "--reuse-db" not in session.config.invocation_params.args:
        return
    test_settings = settings.DATABASES["default"]["TEST"]
    # A forked run inherits its parent's connection: never write under an open one.
    connections.close_all()
    if _migrated_copy is None:
        _main_pid = os.getpid()
        test_db = Path(test_settings["NAME"])
        with session.config.stash[blocking_manager_key].unblock():
            connections["default"].creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
            connections["default"].close()
        _migrated_copy = test_db.with_name(test_db.name + ".migrated")
        shutil.copyfile(test_db, _migrated_copy)
    elif os.getpid() != _main_pid:
        own = _migrated_copy.with_name(f"test-{os.getpid()}.sqlite3")
        shutil.copyfile(_migrated_copy, own)
        test_settings["NAME"] = str(own)
        connections["default"].settings_dict["TEST"]["NAME"] = str(own)
    else:
        shutil.copyfile(_migrated_copy, test_settings["NAME"])


def pytest_unconfigure(config):
    if _main_pid is not None and os.getpid() != _main_pid:
        from django.conf import settings

        Path(settings.DATABASES["default"]["TEST"]["NAME"]).unlink(missing_ok=True)
